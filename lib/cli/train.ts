// mlpstream train: a CSV file in, a model file (and optionally an HTML report) out.
import path from 'node:path';

import cliProgress from 'cli-progress';

import {
  MLP,
  TrainingDivergedError,
  type ActivationName,
  type EpochMetrics,
  type LayerOptions,
  type LossName,
  type OptimizerName,
  type TrainingProgress,
  type TrainingSummary,
} from '../index.js';
import {
  choiceFlag,
  CliError,
  DECIMAL,
  integerFlag,
  listFlag,
  numberFlag,
  parseCommand,
  required,
  UsageError,
  type CommandSpec,
} from './args.js';
import { readTable, type Table } from './csv.js';
import { writeReport } from './report.js';
import { duration, num, pct } from './text.js';

export const trainSpec: CommandSpec = {
  name: 'train',
  summary:
    'Trains a multilayer perceptron on a CSV file (a header line, numeric feature columns) and saves it.\n' +
    'A text or integer target is a class label (classification); a real-valued one is regression.\n' +
    'Inputs are standardised with statistics kept in the model. With a validation split, the model\n' +
    'saved is the epoch with the lowest validation loss; Ctrl-C stops training and saves that epoch.',
  positionals: ['data.csv'],
  flags: {
    target: { type: 'string', value: '<column>', help: 'the column to predict (required)' },
    out: { type: 'string', value: '<model.mlp>', help: 'where to save the model (required)' },
    layers: { type: 'string', value: '<units,...>', help: "hidden layer sizes, e.g. 64,32 ('' for none; default 64,32)" },
    activation: { type: 'string', value: '<name>', help: 'hidden activation: relu (default), leakyRelu, tanh, sigmoid, linear' },
    loss: { type: 'string', value: '<name>', help: 'auto (default), crossEntropy, binaryCrossEntropy, mse' },
    task: { type: 'string', value: '<kind>', help: 'auto (default), classification, regression (an integer target is a class by default)' },
    optimizer: { type: 'string', value: '<name>', help: 'adam (default), adamw, sgd, rmsprop' },
    lr: { type: 'string', value: '<rate>', help: 'learning rate (default 0.001)' },
    epochs: { type: 'string', value: '<n>', help: 'epochs (default 100)' },
    'batch-size': { type: 'string', value: '<n>', help: "rows per mini-batch, or 'full' (default 32)" },
    'validation-split': { type: 'string', value: '<f>', help: 'fraction of rows held out, 0 for none (default 0.2)' },
    seed: { type: 'string', value: '<n>', help: 'seed of the weights, shuffling and split (default 1)' },
    ignore: { type: 'string', value: '<a,b>', help: 'columns that are not features' },
    report: { type: 'string', value: '<file.html>', help: 'also write an HTML training report' },
  },
  examples: ['mlpstream train iris.csv --target species --layers 16 --epochs 200 --out iris.mlp --report iris.html'],
};

const HIDDEN: readonly ActivationName[] = ['relu', 'leakyRelu', 'tanh', 'sigmoid', 'linear'];
const LOSS_FLAGS = ['auto', 'crossEntropy', 'binaryCrossEntropy', 'mse'] as const;
const OPTIMIZER_FLAGS: readonly OptimizerName[] = ['adam', 'adamw', 'sgd', 'rmsprop'];

interface Settings {
  file: string;
  target: string;
  out: string;
  report: string | undefined;
  hidden: number[];
  activation: ActivationName;
  loss: (typeof LOSS_FLAGS)[number];
  task: 'auto' | 'classification' | 'regression';
  optimizer: OptimizerName;
  lr: number;
  epochs: number;
  batchSize: number | 'full';
  validationSplit: number;
  seed: number;
  ignore: string[];
}

function settings(values: Record<string, string | boolean | undefined>, file: string): Settings {
  const hidden = listFlag(values.layers ?? '64,32').map((units) => integerFlag(units, 'layers', 0, 1, 1 << 20));
  const batch = values['batch-size'];
  return {
    file,
    target: required(values, 'target', 'train'),
    out: required(values, 'out', 'train'),
    report: values.report === undefined ? undefined : required(values, 'report', 'train'),
    hidden,
    activation: choiceFlag(values.activation, 'activation', 'relu', HIDDEN),
    loss: choiceFlag(values.loss, 'loss', 'auto', LOSS_FLAGS),
    task: choiceFlag(values.task, 'task', 'auto', ['auto', 'classification', 'regression'] as const),
    optimizer: choiceFlag(values.optimizer, 'optimizer', 'adam', OPTIMIZER_FLAGS),
    lr: numberFlag(values.lr, 'lr', 0.001, (n) => n > 0 && n <= 10, 'a number in (0, 10]'),
    epochs: integerFlag(values.epochs, 'epochs', 100, 1, 1_000_000),
    batchSize: batch === 'full' ? 'full' : integerFlag(batch, 'batch-size', 32, 1, 2 ** 31 - 1),
    validationSplit: numberFlag(values['validation-split'], 'validation-split', 0.2, (n) => n >= 0 && n < 1, 'a fraction in [0, 1)'),
    seed: integerFlag(values.seed, 'seed', 1, 0, Number.MAX_SAFE_INTEGER),
    ignore: listFlag(values.ignore),
  };
}

type Task =
  | { kind: 'classification'; classNames: string[]; labels: Int32Array }
  | { kind: 'regression'; y: Float32Array; mean: number; std: number };

/** Classification or regression, from the target's values and --task. */
function decideTask(table: Table, s: Settings): Task {
  const values = table.target!;
  const numeric = values.map((v) => (DECIMAL.test(v) ? Number(v) : NaN));
  const firstText = numeric.findIndex((v) => !Number.isFinite(v));
  const regression = s.task === 'regression' || (s.task === 'auto' && firstText < 0 && numeric.some((v) => !Number.isInteger(v)));
  if (regression) {
    if (firstText >= 0) {
      throw new CliError(`${s.file} line ${table.lines[firstText]}, column "${s.target}" has ${JSON.stringify(values[firstText])}: a regression target must be numeric`);
    }
    const y = Float32Array.from(numeric);
    const mean = numeric.reduce((a, b) => a + b, 0) / numeric.length;
    const std = Math.sqrt(numeric.reduce((a, b) => a + (b - mean) ** 2, 0) / numeric.length) || 1;
    // Trained on the standardised target (so learning rates and initial weights suit any scale);
    // the scale is folded back into the output layer before the model is saved.
    for (let i = 0; i < y.length; i++) y[i] = (numeric[i]! - mean) / std;
    return { kind: 'regression', y, mean, std };
  }
  const counts = new Map<string, { n: number; row: number }>();
  values.forEach((v, row) => {
    const c = counts.get(v);
    if (c) c.n++;
    else counts.set(v, { n: 1, row });
  });
  const classNames = [...counts.keys()].sort(firstText < 0 ? (a, b) => Number(a) - Number(b) : undefined);
  if (classNames.length < 2) throw new CliError(`column "${s.target}" has a single class (${JSON.stringify(classNames[0])}): nothing to classify`);
  for (const name of classNames) {
    const c = counts.get(name)!;
    if (c.n === 1) {
      throw new CliError(`class ${JSON.stringify(name)} of column "${s.target}" has one sample (${s.file} line ${table.lines[c.row]}); each class needs at least 2`);
    }
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { kind: 'classification', classNames, labels: Int32Array.from(values, (v) => index.get(v)!) };
}

/**
 * The loss and output layer. Two classes get one sigmoid output with binary cross-entropy:
 * the same model as a two-unit softmax with half the output weights, one probability per row
 * (what ONNX consumers and the server expect of a binary classifier), and a stratified split.
 */
function chooseLoss(task: Task, s: Settings): { loss: LossName; output: ActivationName; outputs: number; classes?: string[] } {
  if (task.kind === 'regression') {
    if (s.loss !== 'auto' && s.loss !== 'mse') throw new UsageError(`--loss ${s.loss} needs a class target; column "${s.target}" is real-valued (regression)`);
    return { loss: 'mse', output: 'linear', outputs: 1 };
  }
  const k = task.classNames.length;
  if (s.loss === 'mse') throw new UsageError(`--loss mse is for a real-valued target; use --task regression to treat "${s.target}" as one`);
  if (s.loss === 'binaryCrossEntropy' && k !== 2) throw new UsageError(`--loss binaryCrossEntropy needs 2 classes; column "${s.target}" has ${k}`);
  if (s.loss === 'crossEntropy' || (s.loss === 'auto' && k > 2)) return { loss: 'crossEntropy', output: 'softmax', outputs: k, classes: task.classNames };
  return { loss: 'binaryCrossEntropy', output: 'sigmoid', outputs: 1, classes: task.classNames };
}

/** Live progress: a bar on a terminal, one plain line per epoch otherwise. */
interface Progress {
  inside(p: TrainingProgress): void;
  epoch(m: EpochMetrics): void;
  stop(): void;
}

function metricsText(m: EpochMetrics): string {
  const parts = [`loss ${num(m.loss)}`];
  if (m.accuracy !== undefined) parts.push(`accuracy ${pct(m.accuracy)}`);
  if (m.rmse !== undefined) parts.push(`rmse ${num(m.rmse)}`, `r2 ${num(m.r2 ?? NaN)}`);
  if (m.valLoss !== undefined) parts.push(`val loss ${num(m.valLoss)}`);
  if (m.valAccuracy !== undefined) parts.push(`val accuracy ${pct(m.valAccuracy)}`);
  if (m.valRmse !== undefined) parts.push(`val rmse ${num(m.valRmse)}`, `val r2 ${num(m.valR2 ?? NaN)}`);
  return parts.join('  ');
}

function createProgress(epochs: number, started: number): Progress {
  let done = 0;
  const remainingMs = (etaInEpoch: number, epochMs: number) =>
    etaInEpoch + Math.max(0, epochs - done - 1) * (done > 0 ? (performance.now() - started) / done : epochMs);
  if (!process.stderr.isTTY) {
    return {
      inside: () => undefined,
      epoch: (m) => {
        done++;
        console.log(`epoch ${m.epoch}/${epochs}  ${metricsText(m)}  ${Math.round(m.samplesPerSecond)} samples/s  ${duration(remainingMs(0, 0))} left`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | {metrics} | {rate} samples/s | {left} left',
      hideCursor: true,
      barsize: 20,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started_ = false;
  let metrics = '';
  const payload = (epoch: number, rate: number, left: number) => ({ epoch, epochs, metrics: metrics || 'first epoch', rate: Math.round(rate), left: duration(left) });
  const show = (total: number, value: number, values: object) => {
    if (!started_) {
      bar.start(total, value, values);
      started_ = true;
    } else {
      bar.setTotal(total);
      bar.update(value, values);
    }
  };
  return {
    inside: (p) => show(p.batchesPerEpoch, p.batchesDone, payload(p.epoch, p.samplesPerSecond, remainingMs(p.etaMs, p.elapsedMs + p.etaMs))),
    epoch: (m) => {
      done++;
      metrics = metricsText(m);
      show(m.batches, m.batches, payload(m.epoch, m.samplesPerSecond, remainingMs(0, m.epochMs)));
    },
    stop: () => {
      if (started_) bar.stop();
    },
  };
}

/** Metrics of the standardised regression target, back in the target's units. */
function inTargetUnits(m: EpochMetrics, std: number): EpochMetrics {
  const out = { ...m, loss: m.loss * std * std };
  if (m.rmse !== undefined) out.rmse = m.rmse * std;
  if (m.valLoss !== undefined) out.valLoss = m.valLoss * std * std;
  if (m.valRmse !== undefined) out.valRmse = m.valRmse * std;
  return out;
}

/** Output = std * (network output) + mean, folded into the last (linear) layer. */
function foldTargetScale(model: MLP, mean: number, std: number): void {
  const layers = model.getWeights();
  const last = layers[layers.length - 1]!;
  for (let i = 0; i < last.weights.length; i++) last.weights[i]! *= std;
  for (let i = 0; i < last.bias.length; i++) last.bias[i] = last.bias[i]! * std + mean;
  model.setWeights(layers);
}

export async function train(argv: string[]): Promise<number> {
  const parsed = parseCommand(trainSpec, argv);
  if (!parsed) return 0;
  const s = settings(parsed.values, parsed.positionals[0]!);
  const table = await readTable(s.file, { target: s.target, ignore: s.ignore });
  const task = decideTask(table, s);
  const { loss, output, outputs, classes } = chooseLoss(task, s);
  const inputs = table.features.length;
  const layers: LayerOptions[] = [...s.hidden.map((units) => ({ units, activation: s.activation })), { units: outputs, activation: output }];
  const model = new MLP({ inputs, layers, seed: s.seed, features: table.features, ...(classes ? { classes } : {}) });
  const y =
    task.kind === 'regression' ? task.y : loss === 'crossEntropy' ? task.labels : Float32Array.from(task.labels);
  const validation = s.validationSplit > 0;
  const std = task.kind === 'regression' ? task.std : 1;
  const units = (m: EpochMetrics) => (task.kind === 'regression' ? inTargetUnits(m, std) : m);

  console.log(
    `${table.rows} rows, ${inputs} features -> "${s.target}": ` +
      (task.kind === 'classification'
        ? `${task.classNames.length} classes (${loss}, ${output} output)`
        : `regression (mse, linear output; target standardised with mean ${num(task.mean)}, std ${num(task.std)})`) +
      `; layers ${[inputs, ...layers.map((l) => `${l.units} ${l.activation}`)].join(' -> ')}, ${model.parameterCount} parameters`,
  );

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const history: EpochMetrics[] = [];
  // With validation, the epoch with the lowest validation loss, copied as it ends. Each epoch is
  // then its own train() call, resuming the optimizer state (bit-identical to one call of
  // `epochs` epochs, about 1 ms more per epoch): when its metrics arrive no later epoch has
  // changed the weights yet, so the copy is exactly that epoch's model, also when Ctrl-C comes
  // later. (Within one run the thread may be epochs ahead of the metrics being read, and the
  // native restoreBest applies only to a run that finishes.) Without validation the model
  // itself holds the last completed epoch, and one run does.
  const runs = validation ? s.epochs : 1;
  // The best epoch's model as file bytes: only the one finally chosen is parsed back.
  let best: { bytes: Buffer; metrics: EpochMetrics; wallMs: number } | undefined;
  let interrupted = false;
  const started = performance.now();
  const progress = createProgress(s.epochs, started);
  try {
    for (let run = 0; run < runs; run++) {
      const stream = model.train(
        { x: table.x, y },
        {
          epochs: s.epochs / runs,
          batchSize: s.batchSize,
          loss,
          optimizer: { type: s.optimizer, learningRate: s.lr },
          seed: s.seed,
          normalize: true,
          diagnostics: s.report !== undefined,
          signal: controller.signal,
          ...(validation ? { validationSplit: s.validationSplit } : {}),
        },
      );
      stream.on('progress', (p: TrainingProgress) => progress.inside(p));
      for await (const raw of stream as AsyncIterable<EpochMetrics>) {
        const m = units(raw);
        history.push(m);
        progress.epoch(m);
        if (validation && m.valLoss !== undefined && (!best || m.valLoss < best.metrics.valLoss!)) {
          best = { bytes: model.toBuffer(), metrics: m, wallMs: performance.now() - started };
        }
      }
    }
  } catch (error) {
    if (error instanceof TrainingDivergedError) {
      throw new CliError(`training diverged in epoch ${error.epoch} (the ${error.reason === 'loss' ? 'loss' : 'weights'} became NaN or infinite): nothing saved; try a smaller --lr`);
    }
    if ((error as Error).name !== 'AbortError') throw error;
    interrupted = true;
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
  }

  const last = history[history.length - 1];
  if (!last) {
    console.log('interrupted before the first epoch ended: nothing saved');
    return 130;
  }
  const chosen = best ?? { bytes: model.toBuffer(), metrics: last, wallMs: performance.now() - started };
  const saved = MLP.fromBuffer(chosen.bytes);
  if (task.kind === 'regression') foldTargetScale(saved, task.mean, task.std);
  saved.trainingSummary = { ...summaryOf(saved.trainingSummary, chosen.metrics, s, table.rows), durationMs: chosen.wallMs };
  await saved.save(s.out);
  const which = best
    ? `epoch ${chosen.metrics.epoch} of ${last.epoch}, the lowest validation loss (${metricsText(chosen.metrics)})`
    : `epoch ${last.epoch}, the last completed one (${metricsText(last)})`;
  console.log(`${interrupted ? 'interrupted: ' : ''}saved ${s.out}: ${which}; trained in ${duration(performance.now() - started)}`);

  if (s.report !== undefined) {
    await writeReport(s.report, {
      title: `${path.basename(s.file)}: ${task.kind} of "${s.target}"`,
      history,
      model: saved,
      ...(task.kind === 'classification'
        ? { data: { x: table.x, inputs, labels: task.labels, classNames: task.classNames, featureNames: table.features } }
        : {}),
    });
    console.log(`report: ${s.report}`);
  }
  return interrupted ? 130 : 0;
}

/** The model's own summary (epochs, loss, date...) with what the command line knows besides. */
function summaryOf(base: Readonly<TrainingSummary> | undefined, m: EpochMetrics, s: Settings, rows: number): TrainingSummary {
  const summary: TrainingSummary = { ...base, epochs: m.epoch, loss: m.loss, target: s.target, rows };
  const extra: Record<string, number | string | undefined> = {
    rmse: m.rmse,
    valLoss: m.valLoss,
    valAccuracy: m.valAccuracy,
    valRmse: m.valRmse,
    valR2: m.valR2,
    validationSplit: s.validationSplit || undefined,
    optimizer: s.optimizer,
    learningRate: s.lr,
    batchSize: s.batchSize === 'full' ? 'full' : s.batchSize,
  };
  for (const [key, value] of Object.entries(extra)) {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) summary[key] = value;
  }
  return summary;
}
