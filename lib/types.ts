/** Activation of a dense layer. `softmax` is for the output layer of a multi-class classifier. */
export type ActivationName = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'softmax';

export type LossName = 'mse' | 'binaryCrossEntropy' | 'crossEntropy';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'lbfgs';

export interface LayerOptions {
  units: number;
  /** Defaults to 'relu'. */
  activation?: ActivationName;
  /** Slope of leakyRelu for negative inputs, in [0, 1). Defaults to 0.01. */
  leakySlope?: number;
  /**
   * How the weights start (biases start at 0). Default: 'glorotUniform' for sigmoid, tanh,
   * linear and softmax layers, 'heNormal' for the ReLU family. Only the starting point: it is
   * not saved with the model.
   */
  init?: WeightInitName;
}

export type WeightInitName = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal';

export interface MLPOptions {
  inputs: number;
  layers: LayerOptions[];
  /** Seed of the weight initialisation (and the default seed of training). Defaults to 0. */
  seed?: number;
  /** Class labels, one per output (or [negative, positive] for a single output); saved with the model. */
  classes?: string[];
  /** Input names, one per input (e.g. CSV columns); saved with the model (format 1.1). */
  features?: string[];
}

export interface PredictOptions {
  /** Write the outputs into this Float32Array (rows x outputs) instead of a new one; returns it. */
  into?: Float32Array;
}

export interface LayerSummary {
  units: number;
  activation: ActivationName;
  leakySlope?: number;
}

export interface OptimizerOptions {
  type: OptimizerName;
  /** Defaults: sgd 0.01, adam/adamw 0.001, rmsprop 0.01, lbfgs 1 (its line search's first step). */
  learningRate?: number;
  /** sgd: momentum factor (PyTorch's form). Default 0. */
  momentum?: number;
  /** sgd: Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** adam/adamw. Defaults 0.9 and 0.999. */
  beta1?: number;
  beta2?: number;
  /** rmsprop: decay of the squared-gradient average. Default 0.99. */
  rho?: number;
  /** adam/adamw/rmsprop. Default 1e-8. */
  epsilon?: number;
  /** L2 penalty added to the gradient; decoupled weight decay for adamw (default 0.01 there, else 0). */
  weightDecay?: number;
  /** lbfgs: past steps kept for the curvature estimate. Default 10. */
  historySize?: number;
}

/**
 * Learning-rate schedule, applied per epoch from the model's epoch count (so a resumed run
 * continues the curve). Every type takes `warmupEpochs`: a linear ramp up to the base rate.
 */
export type ScheduleOptions =
  | { type: 'constant'; warmupEpochs?: number }
  /** rate * gamma^floor(epoch / stepEpochs). Defaults: stepEpochs 10, gamma 0.1. */
  | { type: 'step'; stepEpochs?: number; gamma?: number; warmupEpochs?: number }
  /** rate * gamma^epoch. Default gamma 0.95. */
  | { type: 'exponential'; gamma?: number; warmupEpochs?: number }
  /**
   * Half a cosine from the base rate down to minLearningRate over `epochs` epochs after the
   * warm-up (default: to the end of this run), then flat.
   */
  | { type: 'cosine'; epochs?: number; minLearningRate?: number; warmupEpochs?: number }
  /**
   * Multiply the rate by `factor` when the validation loss (the training loss without
   * validation data) has not improved by a relative `threshold` for `patience` epochs.
   * Defaults: factor 0.1, patience 10, threshold 1e-4, cooldown 0, minLearningRate 0.
   */
  | {
      type: 'reduceOnPlateau';
      factor?: number;
      patience?: number;
      threshold?: number;
      cooldown?: number;
      minLearningRate?: number;
      warmupEpochs?: number;
    };

export type MonitorName = 'loss' | 'valLoss' | 'accuracy' | 'valAccuracy';

export interface EarlyStoppingOptions {
  /** Default: 'valLoss' with validation data, else 'loss'. Losses must fall, accuracies rise. */
  monitor?: MonitorName;
  /** Epochs without improvement before training stops. Default 10. */
  patience?: number;
  /** Smallest change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** End with the weights of the best epoch instead of the last. Default false. */
  restoreBest?: boolean;
}

export type Matrix = number[][] | Float32Array;
export type Labels = number[] | Int32Array;

/**
 * Training data that does not fit in memory: chunks of rows (`{ x, y }`, any number of rows
 * each) from an async (or sync) iterable, or from a function that returns a fresh iterable for
 * each epoch (needed for more than one epoch, unless the iterable can be iterated again).
 * Mini-batches run across chunk boundaries as over one array of the same rows; shuffling, when
 * on, is within each chunk (across chunks it is the producer's business).
 */
export type DataSource =
  | AsyncIterable<TrainingData>
  | Iterable<TrainingData>
  | ((epoch: number) => AsyncIterable<TrainingData> | Iterable<TrainingData>);

export interface TrainingData {
  /**
   * Rows of inputs: number[][] or a flat row-major Float32Array. A big Float32Array (more than
   * 2^18 numbers, here or in y) is copied, and checked for NaN, by the run's thread before its
   * first epoch rather than in train(): don't modify or transfer it until the stream's first
   * epoch or 'progress' report. A NaN found there ends the stream with a RangeError.
   */
  x: Matrix;
  /** Targets: rows of outputs (number[][] or flat Float32Array); for crossEntropy also class indices. */
  y: Matrix | Labels;
}

export interface TrainOptions {
  epochs: number;
  /** Rows per mini-batch, or 'full' for full-batch gradient descent. Default 32. */
  batchSize?: number | 'full';
  /** Default: binaryCrossEntropy for a sigmoid output, crossEntropy for softmax, else mse. */
  loss?: LossName;
  /** Default: { type: 'sgd', learningRate: 0.01 }. A name alone uses that optimizer's defaults. */
  optimizer?: OptimizerOptions | OptimizerName;
  /** Shuffle the rows every epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling. Defaults to the model's seed. */
  seed?: number;
  /** Epochs that may wait unread before training pauses. Default 16. */
  highWaterMark?: number;
  /**
   * Aborting stops training before the next mini-batch; the stream errors with an AbortError
   * (`err.name === 'AbortError'`, `err.code === 'ABORT_ERR'`, the signal's reason as `cause`).
   * The model keeps the weights of the last completed epoch and can be trained again.
   */
  signal?: AbortSignal;
  /**
   * Called with progress inside epochs, like the stream's 'progress' event: at most once per
   * `progressInterval` ms, and only when a mini-batch finished since the last call.
   */
  onProgress?: (progress: TrainingProgress) => void;
  /** Milliseconds between progress reports ('progress' events, onProgress). Default 100, at least 10. */
  progressInterval?: number;
  /** Per-layer gradient/weight norms, dead and saturated units in each epoch's metrics. Default true. */
  diagnostics?: boolean;
  /** Learning-rate schedule. Default: constant. */
  schedule?: ScheduleOptions | ScheduleOptions['type'];
  /** Scale each step's gradient down to this global L2 norm when it is larger. */
  clipNorm?: number;
  /** Hold out this fraction of the rows (seeded; stratified by class for classification). */
  validationSplit?: number;
  /** Or validate on these rows. Each epoch's metrics then carry valLoss and valAccuracy (or valRmse/valR2). */
  validationData?: TrainingData;
  /** Stop when the monitored metric stops improving (true: the defaults). */
  earlyStopping?: EarlyStoppingOptions | boolean;
  /**
   * Standardise the inputs: each feature's mean and standard deviation are learnt from the
   * training rows, stored in the model (and its file) and applied by predict, so the model takes
   * raw inputs. A model that already standardises keeps its statistics. Default false.
   */
  normalize?: boolean;
  /**
   * Continue from the optimizer state (moments, step, shuffle RNG) the model carries from an
   * earlier run or a checkpoint file. Default true when the model has such state.
   */
  resume?: boolean;
}

export interface LayerDiagnostics {
  /** Root-mean-square over the epoch's steps of this layer's gradient L2 norm. */
  gradNorm: number;
  /** L2 norm of this layer's weights at the end of the epoch. */
  weightNorm: number;
  /** ReLU/LeakyReLU layers: fraction of units that were <= 0 for every sample of the epoch. */
  deadFraction?: number;
  /** Sigmoid/tanh layers: fraction of outputs within 1% of an asymptote. */
  saturatedFraction?: number;
}

/**
 * Progress inside a training run, for progress bars between epochs: the stream's 'progress'
 * event and the onProgress option. Computed in JavaScript from counters the training thread
 * keeps in shared memory (no call into native code, no event per mini-batch).
 */
export interface TrainingProgress {
  /** The epoch in progress (1-based over the model's history, like EpochMetrics.epoch). */
  epoch: number;
  /** Mini-batches finished in this epoch. */
  batchesDone: number;
  /** Mini-batches in one epoch; 0 when the data streams in (an epoch's length is not known). */
  batchesPerEpoch: number;
  /** Training rows a second over the last few seconds of work (time paused by backpressure excluded). */
  samplesPerSecond: number;
  /** Estimated milliseconds until this epoch ends, at that rate (NaN when the data streams in). */
  etaMs: number;
  /** Milliseconds since the run started. */
  elapsedMs: number;
}

export interface EpochMetrics {
  /** 1-based, counted over the model's whole training history. */
  epoch: number;
  /** Mean training loss over the epoch's samples (each batch's loss before its update). */
  loss: number;
  /** Classification losses: fraction of correct predictions (per output for binaryCrossEntropy). */
  accuracy?: number;
  /** mse: root-mean-square error, and the coefficient of determination. */
  rmse?: number;
  r2?: number;
  /** With validation data: the same measures on the validation rows, after the epoch's updates. */
  valLoss?: number;
  valAccuracy?: number;
  valRmse?: number;
  valR2?: number;
  learningRate: number;
  /** Root-mean-square over the epoch's steps of the global gradient norm (before clipping). */
  gradNorm?: number;
  /** Early stopping: the best epoch so far; and true on the epoch that ends the run. */
  bestEpoch?: number;
  stoppedEarly?: boolean;
  /** Wall time of this epoch's compute. */
  epochMs: number;
  /** Wall time since the run started, at the end of this epoch. */
  elapsedMs: number;
  samplesPerSecond: number;
  batches: number;
  layers: LayerDiagnostics[];
}

export interface LayerWeights {
  /** Row-major [inputs, units]: output = input * weights + bias. */
  weights: Float32Array;
  bias: Float32Array;
  shape: [number, number];
}
