// The typed surface of the native addon: the only place where `any` crosses into TypeScript.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import type { NativeEarlyStopping, NativeSchedule } from './train-options.js';

export interface NativeTrainingState {
  epochsDone: number;
  rng: BigUint64Array;
  optimizer: { kind: number; step: number; slots: Float32Array[] };
  /** Reduce-on-plateau bookkeeping; best may be Infinity (nothing seen yet). */
  schedule?: { scale: number; best: number; wait: number; cooldown: number };
  /** Early stopping bookkeeping; best is NaN until an epoch was monitored. */
  earlyStopping?: { best: number; bestEpoch: number; wait: number };
}

export interface NativeModel {
  paramCount(): number;
  getParams(): Float32Array;
  setParams(params: Float32Array): void;
  /** Writes into `out` (rows x outputs) when given, else into a new array; returns it. */
  predict(x: Float32Array, rows: number, out?: Float32Array): Float32Array;
  predictAsync(x: Float32Array, rows: number): Promise<Float32Array>;
  setNormalization(mean: Float32Array | null, std?: Float32Array): void;
  getNormalization(): { mean: Float32Array; std: Float32Array } | null;
  getTrainingState(): NativeTrainingState | null;
  setTrainingState(state: NativeTrainingState | null): void;
  lossAndGradients(
    x: Float32Array,
    rows: number,
    y: Float32Array | null,
    labels: Int32Array | null,
    loss: number,
  ): { loss: number; grads: Float32Array };
  isTraining(): boolean;
  /** The vector-matrix kernel predict uses for up to 4 rows: 'avx512', 'avx2' or 'portable'. */
  predictKernel(): string;
  /** Weights, normalisation and training state read under one lock (a consistent checkpoint). */
  snapshot(): {
    params: Float32Array;
    normalization: { mean: Float32Array; std: Float32Array } | null;
    trainingState: NativeTrainingState | null;
  };
}

export interface NativeOptimizerConfig {
  kind: number;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  rho: number;
  epsilon: number;
  weightDecay: number;
  lbfgsHistory: number;
}

export interface NativeTrainConfig {
  loss: number;
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  diagnostics: boolean;
  resume: boolean;
  highWaterMark: number;
  optimizer: NativeOptimizerConfig;
  schedule: NativeSchedule;
  earlyStopping: NativeEarlyStopping;
  clipNorm: number;
  validation: { x: Float32Array; rows: number; y: Float32Array | null; labels: Int32Array | null } | null;
}

export enum RunState {
  Running = 0,
  Completed = 1,
  Cancelled = 2,
  Diverged = 3,
  Failed = 4,
}

export interface NativeOutcome {
  error?: string;
  /** The error is about the caller's data (a NaN found while copying it): a RangeError. */
  invalidData?: boolean;
  divergedEpoch?: number;
  divergedBatch?: number;
  divergedLoss?: number;
  divergedWeights?: boolean;
}

/** A training run; its epochs come through `control` and `ring` (see native training_run.h). */
export interface NativeSession {
  readonly control: ArrayBuffer;
  readonly ring: ArrayBuffer;
  start(): void;
  wake(): void;
  cancel(): void;
  outcome(): NativeOutcome;
  ref(): void;
  unref(): void;
  close(): void;
  /** Drops the references to the training arrays if the thread no longer reads them; true if so. */
  releaseInputs(): boolean;
  /** Streamed data: one chunk (false when both input buffers are busy: wait for a notification). */
  feed(x: Float32Array, rows: number, y: Float32Array | null, labels: Int32Array | null): boolean;
  endEpoch(): void;
}

export interface EpilogueSpec {
  kind: number;
  activation: number;
  slope: number;
  bias?: Float32Array;
  actOutput?: Float32Array;
  ldActOutput?: number;
}

/** Kernel entry points per ISA, for the test suite only. */
export interface NativeTesting {
  isaSupported(isa: string): boolean;
  /** x86 builds only: the CPUID/XCR0 detection that Windows builds use (native/core/gemm/cpuid.cc). */
  cpuidSupported?(isa: string): boolean;
  activationForward(isa: string, kind: number, slope: number, x: Float32Array): Float32Array;
  activationBackward(isa: string, kind: number, slope: number, y: Float32Array, dy: Float32Array): Float32Array;
  softmaxRows(isa: string, z: Float32Array, rows: number, cols: number): Float32Array;
  columnSums(isa: string, x: Float32Array, rows: number, cols: number): Float32Array;
  sumSquares(isa: string, x: Float32Array): number;
  lossAndGrad(
    isa: string,
    loss: number,
    out: Float32Array,
    rows: number,
    cols: number,
    y: Float32Array | null,
    labels: Int32Array | null,
    scale: number,
  ): { loss: number; correct: number; squaredError: number; grad: Float32Array };
  sgemm(
    isa: string,
    threads: number,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    epilogue: EpilogueSpec | null,
    path?: number,
  ): Float32Array;
  logSoftmaxRows(isa: string, z: Float32Array, rows: number, cols: number): Float32Array;
  optimizerUpdate(
    isa: string,
    kind: 'sgd' | 'adam' | 'rmsprop',
    params: Float32Array,
    grads: Float32Array,
    slot0: Float32Array | null,
    slot1: Float32Array | null,
    step: NativeOptimizerStep,
  ): { params: Float32Array; slot0: Float32Array | null; slot1: Float32Array | null };
  /** Times `reps` rounds of `calls` products in native code; returns each round's seconds. */
  benchGemm(
    isa: string,
    threads: number,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    calls: number,
    reps: number,
    path: number,
    epilogue?: number,
  ): Float64Array;
  /** Runs the table's FMA loop on `threads` threads at once. */
  fmaPeak(isa: string, threads: number, iterations: number): { flops: number; seconds: number };
  gemmBlocking(isa: string): { mr: number; nr: number; mc: number; kc: number; nc: number };
  /** Several threads share one pool at once; returns how many results differed from the one-thread result. */
  sharedPoolGemm(isa: string, threads: number, callers: number, rounds: number): number;
  /** The W2 training step in native code; median microseconds per phase. */
  profileStep(isa: string, threads: number, steps: number, rows: number): Record<string, number>;
}

/** One optimizer update's hyper-parameters (KernelTable's OptimizerStep). */
export interface NativeOptimizerStep {
  learningRate?: number;
  weightDecay?: number;
  momentum?: number;
  nesterov?: boolean;
  decoupled?: boolean;
  beta1?: number;
  beta2?: number;
  stepSize?: number;
  bias2Sqrt?: number;
  rho?: number;
  epsilon?: number;
}

export interface NativeAddon {
  NativeModel: new (
    inputs: number,
    units: number[],
    activations: number[],
    slopes: number[],
    seed: number,
    inits?: number[],
  ) => NativeModel;
  NativeSession: new (
    model: NativeModel,
    x: Float32Array | null,
    rows: number,
    y: Float32Array | null,
    labels: Int32Array | null,
    config: NativeTrainConfig,
    notify: () => void,
  ) => NativeSession;
  recordLayout: { fields: string[]; layerFields: string[] };
  channelLayout: {
    allowed: number;
    produced: number;
    taken: number;
    consumerWaiting: number;
    threadSleeping: number;
    state: number;
    batchesDone: number;
    batchesPerEpoch: number;
    inputsCopied: number;
  };
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    aOffset: number,
    lda: number,
    b: Float32Array,
    bOffset: number,
    ldb: number,
    beta: number,
    c: Float32Array,
    cOffset: number,
    ldc: number,
  ): void;
  sgemmAsync(...args: Parameters<NativeAddon['sgemm']>): Promise<Float32Array>;
  kernelName(): string;
  getThreads(): number;
  setThreads(threads: number): void;
  defaultThreads(): number;
  testing: NativeTesting;
}

function load(): NativeAddon {
  const requireHere = createRequire(import.meta.url);
  // An explicit path wins (sanitizer builds, debugging); otherwise pkg-prebuilds looks in
  // build/Release (a local build) and then prebuilds/<platform>-<arch>/.
  const explicit = process.env.MLPSTREAM_ADDON_PATH;
  if (explicit) return requireHere(path.resolve(explicit)) as NativeAddon;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const loader = requireHere('pkg-prebuilds') as (root: string, options: unknown) => NativeAddon;
  return loader(root, requireHere(path.join(root, 'binding-options.cjs')));
}

export const native: NativeAddon = load();
