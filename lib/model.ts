// The public model: architecture, weights in native memory, training as a stream,
// prediction, and conversion to and from the model file format.
import { readModelFile, writeFileAtomic } from './atomic-file.js';
import { native, type NativeModel, type NativeTrainConfig, type NativeTrainingState } from './binding.js';
import {
  ACTIVATIONS,
  activationCode,
  DEFAULT_LEAKY_SLOPE,
  LOSSES,
  lossCode,
  OPTIMIZERS,
  optimizerCode,
} from './codes.js';
import { ModelBusyError } from './errors.js';
import {
  checkModelHeader,
  classesProblem,
  decodeModel,
  featuresProblem,
  encodeModel,
  encodeModelParts,
  headerLengthOf,
  MAX_LAYERS,
  MAX_UNITS,
  summaryProblem,
  type JsonValue,
  type ModelSnapshot,
  type TrainingSummary,
} from './format.js';
import { modelToONNX, type OnnxExportOptions } from './onnx.js';
import { TrainingStream, type ChunkSource } from './train.js';
import { featureStatistics, resolveEarlyStopping, resolveOptimizer, resolveSchedule } from './train-options.js';
import { splitRows, validationRows } from './split.js';
import type {
  DataSource,
  LayerOptions,
  WeightInitName,
  ActivationName,
  EpochMetrics,
  LayerSummary,
  LayerWeights,
  LossName,
  Matrix,
  MLPOptions,
  PredictOptions,
  OptimizerOptions,
  TrainingData,
  TrainOptions,
} from './types.js';
import {
  assertBoolean,
  assertInteger,
  assertKnownKeys,
  assertNumber,
  assertObject,
  assertOneOf,
  isLabelVector,
  toLabels,
  toMatrix,
} from './validate.js';

const DEFAULT_HIGH_WATER_MARK = 16;
const DEFAULT_PROGRESS_INTERVAL = 100;
const WEIGHT_INITS: readonly WeightInitName[] = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal'];
const DEFAULT_BATCH_SIZE = 32;

function defaultLoss(output: ActivationName): LossName {
  if (output === 'sigmoid') return 'binaryCrossEntropy';
  if (output === 'softmax') return 'crossEntropy';
  return 'mse';
}

/** Why `loss` cannot train an output layer with `output`, or null when it can. */
function lossMismatch(loss: LossName, output: ActivationName): string | null {
  if (loss === 'binaryCrossEntropy' && output !== 'sigmoid') {
    return `loss 'binaryCrossEntropy' needs a sigmoid output layer, but the output layer is '${output}'`;
  }
  if (loss === 'crossEntropy' && output !== 'softmax') {
    return `loss 'crossEntropy' needs a softmax output layer, but the output layer is '${output}'`;
  }
  if (loss === 'mse' && output === 'softmax') {
    return "loss 'mse' cannot train a softmax output layer; use 'crossEntropy'";
  }
  return null;
}

function normalizeLayers(value: unknown): LayerSummary[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError('options.layers must be a non-empty array of { units, activation }');
  }
  if (value.length > MAX_LAYERS) throw new RangeError(`options.layers has ${value.length} layers; at most ${MAX_LAYERS}`);
  return value.map((raw: unknown, l: number): LayerSummary => {
    const name = `options.layers[${l}]`;
    assertObject(raw, name);
    assertKnownKeys(raw, name, ['units', 'activation', 'leakySlope', 'init']);
    const units = assertInteger(raw.units, `${name}.units`, 1, MAX_UNITS);
    const activation = raw.activation === undefined ? 'relu' : assertOneOf(raw.activation, `${name}.activation`, ACTIVATIONS);
    if (activation === 'softmax' && l !== value.length - 1) {
      throw new RangeError(`${name}: softmax is only allowed on the output layer`);
    }
    const layer: LayerSummary = { units, activation };
    if (activation === 'leakyRelu') {
      layer.leakySlope =
        raw.leakySlope === undefined
          ? DEFAULT_LEAKY_SLOPE
          : assertNumber(raw.leakySlope, `${name}.leakySlope`, { min: 0, max: 1, maxExclusive: true });
    } else if (raw.leakySlope !== undefined) {
      throw new TypeError(`${name}.leakySlope applies to 'leakyRelu' layers only`);
    }
    return layer;
  });
}

/** A multilayer perceptron: dense layers trained natively, off the main thread. */
export class MLP {
  readonly inputs: number;
  readonly outputs: number;
  readonly layers: readonly Readonly<LayerSummary>[];
  readonly seed: number;
  /** The loss of the last training run (saved with the model). */
  loss: LossName | undefined;
  /** @internal */
  readonly native: NativeModel;
  #classes: readonly string[] | undefined;
  #features: readonly string[] | undefined;
  #trainingSummary: TrainingSummary | undefined;
  /** The last epoch of a run, folded into #trainingSummary only when someone reads it. */
  #lastEpoch: { metrics: EpochMetrics; startedAt: number; earlierMs: number } | undefined;
  /** @internal Training-state fields beyond the native core ones, kept as read from a file. */
  trainingStateExtra: { [key: string]: JsonValue } | undefined;

  constructor(options: MLPOptions) {
    assertObject(options, 'options');
    assertKnownKeys(options as unknown as Record<string, unknown>, 'options', ['inputs', 'layers', 'seed', 'classes', 'features']);
    this.inputs = assertInteger(options.inputs, 'options.inputs', 1, MAX_UNITS);
    this.layers = Object.freeze(normalizeLayers(options.layers).map((l) => Object.freeze(l)));
    this.seed = options.seed === undefined ? 0 : assertInteger(options.seed, 'options.seed', 0);
    this.outputs = this.layers[this.layers.length - 1]!.units;
    this.native = new native.NativeModel(
      this.inputs,
      this.layers.map((l) => l.units),
      this.layers.map((l) => activationCode(l.activation)),
      this.layers.map((l) => l.leakySlope ?? DEFAULT_LEAKY_SLOPE),
      this.seed,
      (options.layers as LayerOptions[]).map((l, i) =>
        l.init === undefined ? 0 : 1 + WEIGHT_INITS.indexOf(assertOneOf(l.init, `options.layers[${i}].init`, WEIGHT_INITS)),
      ),
    );
    if (options.classes !== undefined) this.classes = options.classes;
    if (options.features !== undefined) this.features = options.features;
  }

  /** Input names, one per input (the columns the model was trained on); saved with the model. */
  get features(): readonly string[] | undefined {
    return this.#features;
  }

  set features(value: readonly string[] | undefined) {
    if (value === undefined) {
      this.#features = undefined;
      return;
    }
    const problem = featuresProblem(value, this.inputs);
    if (problem) throw new (Array.isArray(value) ? RangeError : TypeError)(problem);
    this.#features = Object.freeze([...value]);
  }

  /**
   * Class labels, one per output (a single sigmoid output takes 2: [negative, positive]);
   * saved with the model and used by servers to name predictions. Undefined when unset.
   */
  get classes(): readonly string[] | undefined {
    return this.#classes;
  }

  set classes(value: readonly string[] | undefined) {
    if (value === undefined) {
      this.#classes = undefined;
      return;
    }
    const problem = classesProblem(value, this.outputs);
    if (problem) throw new (Array.isArray(value) ? RangeError : TypeError)(problem);
    this.#classes = Object.freeze([...value]);
  }

  /** Keeps trainingSummary up to date with each epoch of a run (fields a user added are kept). */
  #summaryRecorder(): (m: EpochMetrics) => void {
    const run = { startedAt: Date.now(), earlierMs: this.trainingSummary?.durationMs ?? 0 };
    // Called for every epoch (microseconds apart for tiny ones): only remember the epoch.
    return (metrics) => {
      this.#lastEpoch = { metrics, ...run };
    };
  }

  /** Epochs, final loss and accuracy, date... of the training that produced these weights. */
  get trainingSummary(): Readonly<TrainingSummary> | undefined {
    const last = this.#lastEpoch;
    if (last) {
      this.#lastEpoch = undefined;
      const m = last.metrics;
      const summary: TrainingSummary = {
        ...this.#trainingSummary,
        epochs: m.epoch,
        date: new Date(last.startedAt + Math.max(0, m.elapsedMs)).toISOString(),
      };
      for (const key of ['loss', 'accuracy', 'rmse', 'r2'] as const) {
        const value = m[key];
        if (value !== undefined && Number.isFinite(value)) summary[key] = value;
        else delete summary[key];
      }
      if (summary.accuracy !== undefined && !(summary.accuracy >= 0 && summary.accuracy <= 1)) delete summary.accuracy;
      if (summary.rmse !== undefined && !(summary.rmse >= 0)) delete summary.rmse;
      summary.durationMs = last.earlierMs + Math.max(0, m.elapsedMs);
      this.#trainingSummary = Object.freeze(summary);
    }
    return this.#trainingSummary;
  }

  set trainingSummary(value: TrainingSummary | undefined) {
    if (value === undefined) {
      this.#trainingSummary = undefined;
      this.#lastEpoch = undefined;
      return;
    }
    const problem = summaryProblem(value);
    if (problem) throw new TypeError(problem);
    this.#lastEpoch = undefined;
    this.#trainingSummary = Object.freeze(JSON.parse(JSON.stringify(value)) as TrainingSummary);
  }

  /** The input standardisation predict applies (each input's mean and std, copies), if any. */
  get normalization(): { mean: Float32Array; std: Float32Array } | undefined {
    const norm = this.native.getNormalization();
    return norm ? { mean: Float32Array.from(norm.mean), std: Float32Array.from(norm.std) } : undefined;
  }

  /** The optimizer whose state the model carries (from its last run or file), and its update count. */
  get optimizerState(): { type: OptimizerOptions['type']; step: number } | undefined {
    const state = this.native.getTrainingState();
    return state ? { type: OPTIMIZERS[state.optimizer.kind]!, step: state.optimizer.step } : undefined;
  }

  /** Number of trainable parameters (weights and biases). */
  get parameterCount(): number {
    return this.native.paramCount();
  }

  /** Epochs trained so far, over every run (the weights are those after the last of them). */
  get epochsTrained(): number {
    return this.native.getTrainingState()?.epochsDone ?? 0;
  }

  /** True while a training run owns the model. */
  get isTraining(): boolean {
    return this.native.isTraining();
  }

  /**
   * Trains the model; returns a Readable of per-epoch metrics (`for await` it). The run goes
   * at the reader's pace; `break`, `destroy()` or the `signal` stop it before the next
   * mini-batch, leaving the weights of the last completed epoch.
   */
  train(data: TrainingData | DataSource, options: TrainOptions): TrainingStream {
    const streaming = isDataSource(data);
    if (!streaming) assertObject(data, 'data');
    assertObject(options, 'options');
    assertKnownKeys(options as unknown as Record<string, unknown>, 'options', [
      'epochs', 'batchSize', 'loss', 'optimizer', 'shuffle', 'seed', 'highWaterMark', 'signal', 'diagnostics', 'resume',
      'schedule', 'clipNorm', 'validationSplit', 'validationData', 'earlyStopping', 'normalize',
      'onProgress', 'progressInterval',
    ]);
    if (this.native.isTraining()) throw new ModelBusyError('start another training run');
    const epochs = assertInteger(options.epochs, 'options.epochs', 1, 2 ** 40);
    const output = this.layers[this.layers.length - 1]!.activation;
    const loss = options.loss === undefined ? defaultLoss(output) : assertOneOf(options.loss, 'options.loss', LOSSES);
    const mismatch = lossMismatch(loss, output);
    if (mismatch) throw new RangeError(mismatch);
    const optimizer = resolveOptimizer(options.optimizer);
    const lbfgs = optimizer.kind === optimizerCode('lbfgs');
    const shuffle = options.shuffle === undefined ? true : assertBoolean(options.shuffle, 'options.shuffle');
    const seed = options.seed === undefined ? this.seed : assertInteger(options.seed, 'options.seed', 0);
    const highWaterMark =
      options.highWaterMark === undefined
        ? DEFAULT_HIGH_WATER_MARK
        : assertInteger(options.highWaterMark, 'options.highWaterMark', 1, 1 << 20);
    const diagnostics = options.diagnostics === undefined ? true : assertBoolean(options.diagnostics, 'options.diagnostics');
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new TypeError('options.signal must be an AbortSignal');
    }
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new TypeError('options.onProgress must be a function');
    }
    const progressInterval =
      options.progressInterval === undefined
        ? DEFAULT_PROGRESS_INTERVAL
        : assertInteger(options.progressInterval, 'options.progressInterval', 10, 2 ** 31 - 1);
    const clipNorm = options.clipNorm === undefined ? 0 : assertNumber(options.clipNorm, 'options.clipNorm', { min: 0, minExclusive: true });
    const normalize = options.normalize === undefined ? false : assertBoolean(options.normalize, 'options.normalize');
    const state = this.native.getTrainingState();
    const resume =
      options.resume === undefined
        ? state !== null && state.optimizer.kind === optimizer.kind
        : assertBoolean(options.resume, 'options.resume');
    const schedule = resolveSchedule(options.schedule, (state?.epochsDone ?? 0) + epochs);

    // Big typed arrays are checked for NaN while the training thread copies them (an error then
    // ends the stream), not here: that would hold up the event loop. Not when the rows are split
    // or their statistics learnt here first (those read every row on this thread anyway).
    const deferChecks = options.validationSplit === undefined && !normalize;
    if (streaming) {
      const unsupported = (
        [
          ['validationSplit', options.validationSplit !== undefined, 'use validationData'],
          ["batchSize 'full'", options.batchSize === 'full', 'give a number of rows'],
          ["optimizer 'lbfgs'", lbfgs, 'it is full-batch'],
          ['normalize', normalize && this.native.getNormalization() === null, 'the statistics need the whole data first'],
        ] as const
      ).find(([, used]) => used);
      if (unsupported) {
        throw new RangeError(`options.${unsupported[0]} needs in-memory data, not a data stream (${unsupported[2]})`);
      }
    }
    let train: TargetData = streaming
      ? { x: new Float32Array(0), rows: 0, y: null, labels: null }
      : this.#targets(data as TrainingData, loss, 'data', deferChecks);
    let validation: TargetData | null = null;
    if (options.validationSplit !== undefined && options.validationData !== undefined) {
      throw new TypeError('give options.validationSplit or options.validationData, not both');
    }
    if (options.validationData !== undefined) {
      assertObject(options.validationData, 'options.validationData');
      validation = this.#targets(options.validationData, loss, 'options.validationData', true);
    } else if (options.validationSplit !== undefined) {
      const fraction = assertNumber(options.validationSplit, 'options.validationSplit', {
        min: 0, max: 1, minExclusive: true, maxExclusive: true,
      });
      [train, validation] = this.#split(train, fraction, seed, loss);
      if (validation.rows === 0 || train.rows === 0) {
        throw new RangeError(`options.validationSplit ${fraction} of ${train.rows + validation.rows} rows leaves one part empty`);
      }
    }
    const earlyStopping = resolveEarlyStopping(options.earlyStopping, validation !== null, loss !== 'mse');

    let batchSize: number;
    if (options.batchSize === 'full') batchSize = 0;
    else if (options.batchSize === undefined) batchSize = lbfgs ? 0 : streaming ? DEFAULT_BATCH_SIZE : Math.min(DEFAULT_BATCH_SIZE, train.rows);
    else batchSize = assertInteger(options.batchSize, 'options.batchSize', 1, 2 ** 31 - 1);
    if (lbfgs && batchSize !== 0 && batchSize < train.rows) {
      throw new RangeError("options.optimizer 'lbfgs' is full-batch: use batchSize 'full' (or leave it out)");
    }
    // Standardisation statistics come from the training rows only (never the validation rows).
    if (normalize && this.native.getNormalization() === null) {
      const { mean, std } = featureStatistics(train.x, train.rows, this.inputs);
      this.native.setNormalization(mean, std);
    }
    this.loss = loss;

    const config: NativeTrainConfig = {
      loss: lossCode(loss),
      epochs,
      batchSize,
      shuffle,
      seed,
      diagnostics,
      resume,
      highWaterMark,
      optimizer,
      schedule,
      earlyStopping,
      clipNorm,
      validation,
    };
    const source: ChunkSource | undefined = streaming
      ? {
          epochs,
          open: (epoch) => {
            const iterable: unknown = typeof data === 'function' ? data(epoch) : data;
            if (!isIterable(iterable)) {
              throw new TypeError(`the data function must return an iterable of { x, y } chunks, got ${typeof iterable}`);
            }
            return iterable;
          },
          prepare: (chunk, epoch, index) => {
            const name = `chunk ${index} of epoch ${epoch + 1}`;
            if (typeof chunk !== 'object' || chunk === null) throw new TypeError(`${name} must be an object { x, y }`);
            const { x } = chunk as { x?: unknown };
            // An empty chunk (a producer's last, empty read) is skipped.
            if ((Array.isArray(x) || x instanceof Float32Array) && x.length === 0) {
              return { x: new Float32Array(0), rows: 0, y: null, labels: null };
            }
            return this.#targets(chunk as TrainingData, loss, name);
          },
        }
      : undefined;
    return new TrainingStream(
      (notify) =>
        new native.NativeSession(this.native, streaming ? null : train.x, train.rows, train.y, train.labels, config, notify),
      {
        source,
        highWaterMark,
        signal: options.signal,
        depth: this.layers.length,
        onEpoch: this.#summaryRecorder(),
        epochsBefore: state?.epochsDone ?? 0,
        batchRows: streaming ? batchSize : batchSize === 0 ? train.rows : Math.min(batchSize, train.rows),
        onProgress: options.onProgress,
        progressInterval,
      },
    );
  }

  /** Converts and checks one data set's inputs and targets for `loss`. */
  #targets(data: TrainingData, loss: LossName, name: string, deferChecks = false): TargetData {
    const { data: x, rows } = toMatrix(data.x, this.inputs, `${name}.x`, 'inputs', deferChecks);
    if (rows === 0) throw new RangeError(`${name}.x has no rows`);
    if (loss === 'crossEntropy' && isLabelVector(data.y)) {
      const labels = toLabels(data.y, this.outputs, `${name}.y`);
      if (labels.length !== rows) throw new RangeError(`${name}.y has ${labels.length} labels but ${name}.x has ${rows} rows`);
      return { x, rows, y: null, labels };
    }
    const targets = toMatrix(data.y, this.outputs, `${name}.y`, 'targets', deferChecks);
    if (targets.rows !== rows) throw new RangeError(`${name}.y has ${targets.rows} rows but ${name}.x has ${rows}`);
    checkTargetRange(targets.data, loss, this.outputs, name);
    return { x, rows, y: targets.data, labels: null };
  }

  /** The seeded validation split, stratified by class for classification losses. */
  #split(all: TargetData, fraction: number, seed: number, loss: LossName): [TargetData, TargetData] {
    const outputs = this.outputs;
    let classOf: ((row: number) => number) | null = null;
    if (all.labels) {
      const labels = all.labels;
      classOf = (r) => labels[r]!;
    } else if (loss !== 'mse' && all.y) {
      const y = all.y;
      // One-hot / probability rows: the arg-max class; binary outputs: the pattern of 0/1 decisions.
      classOf =
        loss === 'crossEntropy'
          ? (r) => {
              let best = 0;
              for (let j = 1; j < outputs; j++) if (y[r * outputs + j]! > y[r * outputs + best]!) best = j;
              return best;
            }
          : (r) => {
              let key = 0;
              for (let j = 0; j < Math.min(outputs, 30); j++) key = key * 2 + (y[r * outputs + j]! >= 0.5 ? 1 : 0);
              return key;
            };
    }
    const picked = validationRows(all.rows, fraction, seed, classOf);
    const [trainX, valX] = splitRows(all.x, this.inputs, picked);
    const part = (x: Float32Array, rows: number, y: Float32Array | null, labels: Int32Array | null): TargetData => ({ x, rows, y, labels });
    const [trainY, valY] = all.y ? splitRows(all.y, outputs, picked) : [null, null];
    const [trainL, valL] = all.labels ? splitRows(all.labels, 1, picked) : [null, null];
    return [
      part(trainX, all.rows - picked.length, trainY, trainL),
      part(valX, picked.length, valY, valL),
    ];
  }

  /**
   * Runs the model on rows of inputs; returns a Float32Array of rows x outputs, row-major
   * (probabilities for sigmoid and softmax outputs). Synchronous: meant for single samples
   * and small batches; use predictAsync for large ones.
   */
  predict(x: Matrix, options?: PredictOptions): Float32Array {
    let data: Float32Array;
    let rows: number;
    if (x instanceof Float32Array && x.length % this.inputs === 0) {
      // The serving path: no copy, and the NaN/Infinity check runs natively (same messages).
      data = x;
      rows = x.length / this.inputs;
    } else {
      ({ data, rows } = toMatrix(x, this.inputs, 'x', 'inputs'));
    }
    if (options === undefined) return this.native.predict(data, rows);
    assertObject(options, 'options');
    const into = options.into;
    if (into === undefined) return this.native.predict(data, rows);
    if (!(into instanceof Float32Array)) throw new TypeError('options.into must be a Float32Array');
    if (into.length !== rows * this.outputs) {
      throw new RangeError(`options.into has ${into.length} elements; ${rows} rows x ${this.outputs} outputs need ${rows * this.outputs}`);
    }
    return this.native.predict(data, rows, into);
  }

  /** Like predict, off the main thread. */
  async predictAsync(x: Matrix): Promise<Float32Array> {
    const { data, rows } =
      x instanceof Float32Array && x.length % this.inputs === 0 ? { data: x, rows: x.length / this.inputs } : toMatrix(x, this.inputs, 'x', 'inputs');
    return this.native.predictAsync(data, rows);
  }

  /** Each layer's weights ([inputs, units] row-major) and bias, as copies. */
  getWeights(): LayerWeights[] {
    const params = this.native.getParams();
    const out: LayerWeights[] = [];
    let offset = 0;
    let fanIn = this.inputs;
    for (const layer of this.layers) {
      const w = fanIn * layer.units;
      out.push({
        weights: params.slice(offset, offset + w),
        bias: params.slice(offset + w, offset + w + layer.units),
        shape: [fanIn, layer.units],
      });
      offset += w + layer.units;
      fanIn = layer.units;
    }
    return out;
  }

  /** Replaces every layer's weights and bias (same shapes as getWeights returns). */
  setWeights(layers: readonly LayerWeights[]): void {
    if (!Array.isArray(layers) || layers.length !== this.layers.length) {
      throw new TypeError(`setWeights needs an array of ${this.layers.length} layers`);
    }
    if (this.native.isTraining()) throw new ModelBusyError('set weights');
    const params = new Float32Array(this.native.paramCount());
    let offset = 0;
    let fanIn = this.inputs;
    this.layers.forEach((layer, l) => {
      const entry: unknown = layers[l];
      assertObject(entry, `layers[${l}]`);
      const { weights, bias } = entry;
      if (!(weights instanceof Float32Array) || weights.length !== fanIn * layer.units) {
        throw new RangeError(`layers[${l}].weights must be a Float32Array of ${fanIn * layer.units} (${fanIn} x ${layer.units})`);
      }
      if (!(bias instanceof Float32Array) || bias.length !== layer.units) {
        throw new RangeError(`layers[${l}].bias must be a Float32Array of ${layer.units}`);
      }
      for (const [name, array] of [['weights', weights], ['bias', bias]] as const) {
        const bad = array.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new RangeError(`layers[${l}].${name}[${bad}] is ${array[bad]}; weights must be finite`);
      }
      params.set(weights, offset);
      params.set(bias, offset + weights.length);
      offset += weights.length + bias.length;
      fanIn = layer.units;
    });
    this.native.setParams(params);
  }

  /** A plain description of the architecture. */
  toJSON(): { inputs: number; outputs: number; layers: LayerSummary[]; parameters: number; seed: number; loss?: LossName } {
    const summary: ReturnType<MLP['toJSON']> = {
      inputs: this.inputs,
      outputs: this.outputs,
      layers: this.layers.map((l) => ({ ...l })),
      parameters: this.parameterCount,
      seed: this.seed,
    };
    if (this.loss) summary.loss = this.loss;
    return summary;
  }

  /** @internal */
  snapshot(): ModelSnapshot {
    // One native read, so that weights and optimizer state come from the same epoch even while
    // a training run commits epochs (saving a checkpoint from inside `for await` is fine).
    const consistent = this.native.snapshot();
    const snapshot: ModelSnapshot = {
      inputs: this.inputs,
      layers: this.layers.map((l) => ({ ...l })),
      seed: this.seed,
      params: consistent.params,
    };
    if (this.loss) snapshot.loss = this.loss;
    if (this.#classes) snapshot.classes = [...this.#classes];
    if (this.#features) snapshot.features = [...this.#features];
    const summary = this.trainingSummary;
    if (summary) snapshot.trainingSummary = summary;
    const norm = consistent.normalization;
    if (norm) snapshot.normalization = norm;
    const state = consistent.trainingState;
    if (state) {
      snapshot.trainingState = {
        epochsDone: state.epochsDone,
        rng: state.rng,
        optimizer: { type: OPTIMIZERS[state.optimizer.kind]!, step: state.optimizer.step, slots: state.optimizer.slots },
      };
      // JSON has no NaN or Infinity: "nothing seen yet" is written as null.
      const finite = (v: number) => (Number.isFinite(v) ? v : null);
      const extra: { [key: string]: JsonValue } = { ...this.trainingStateExtra };
      if (state.schedule) extra.schedule = { ...state.schedule, best: finite(state.schedule.best) };
      if (state.earlyStopping) extra.earlyStopping = { ...state.earlyStopping, best: finite(state.earlyStopping.best) };
      if (Object.keys(extra).length > 0) snapshot.trainingState.extra = extra;
    }
    return snapshot;
  }

  /** The model file's bytes (a safetensors file; see docs/FORMAT.md). */
  toBuffer(): Buffer {
    const bytes = encodeModel(this.snapshot());
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Saves the model atomically: the file at `path` is either the old one or the whole new one. */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, encodeModelParts(this.snapshot()));
  }

  /**
   * The model as an ONNX graph (Gemm and activation operators, opset 13, input normalisation
   * folded into the first Gemm): the bytes of a .onnx file. See docs/FORMAT.md.
   */
  toONNX(options?: OnnxExportOptions): Uint8Array {
    return modelToONNX(this.snapshot(), options);
  }

  /** Writes the ONNX graph of toONNX() to `path`, atomically like save(). */
  async exportONNX(path: string, options?: OnnxExportOptions): Promise<void> {
    await writeFileAtomic(path, modelToONNX(this.snapshot(), options));
  }

  /** @internal */
  static fromSnapshot(s: ModelSnapshot): MLP {
    const model = new MLP({ inputs: s.inputs, layers: s.layers, seed: s.seed });
    model.native.setParams(s.params);
    if (s.loss) model.loss = s.loss;
    if (s.classes) model.classes = s.classes;
    if (s.features) model.features = s.features;
    if (s.trainingSummary) model.trainingSummary = s.trainingSummary;
    if (s.normalization) model.native.setNormalization(s.normalization.mean, s.normalization.std);
    if (s.trainingState) {
      const t = s.trainingState;
      const { schedule, earlyStopping, ...unknown } = t.extra ?? {};
      const state: NativeTrainingState = {
        epochsDone: t.epochsDone,
        rng: t.rng,
        optimizer: { kind: optimizerCode(t.optimizer.type), step: t.optimizer.step, slots: t.optimizer.slots },
      };
      // Shapes were checked by the format's TRAINING_STATE_FIELDS validators.
      if (schedule) {
        const s = schedule as { scale: number; best: number | null; wait: number; cooldown: number };
        state.schedule = { ...s, best: s.best ?? Infinity };
      }
      if (earlyStopping) {
        const e = earlyStopping as { best: number | null; bestEpoch: number; wait: number };
        state.earlyStopping = { ...e, best: e.best ?? NaN };
      }
      model.native.setTrainingState(state);
      if (Object.keys(unknown).length > 0) model.trainingStateExtra = unknown;
    }
    return model;
  }

  /** A model from the bytes of a model file; throws ModelFormatError if they are not one. */
  static fromBuffer(bytes: Uint8Array): MLP {
    return MLP.fromSnapshot(decodeModel(bytes));
  }
}

function isIterable(value: unknown): value is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof value === 'object' && value !== null && (Symbol.asyncIterator in value || Symbol.iterator in value);
}

/** Streamed data (a function or an iterable of chunks) rather than one { x, y } object. */
function isDataSource(data: unknown): data is DataSource {
  return typeof data === 'function' || (isIterable(data) && !('x' in (data as object)));
}

interface TargetData {
  x: Float32Array;
  rows: number;
  y: Float32Array | null;
  labels: Int32Array | null;
}

function checkTargetRange(y: Float32Array, loss: LossName, outputs: number, name: string): void {
  if (loss === 'mse') return;
  const [min, max] = loss === 'binaryCrossEntropy' ? [0, 1] : [0, Infinity];
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v < min || v > max) {
      throw new RangeError(
        `${name}.y[${Math.floor(i / outputs)}][${i % outputs}] is ${v}; ${loss} targets must be ` +
          (loss === 'binaryCrossEntropy' ? 'in [0, 1]' : 'non-negative (one-hot or probability rows)'),
      );
    }
  }
}

/** Loads a model file saved by `model.save()`; throws ModelFormatError if it is not a valid one. */
export async function loadModel(path: string): Promise<MLP> {
  return MLP.fromBuffer(await readModelFile(path, checkModelHeader, headerLengthOf));
}
