// A training run whose epochs take seconds, for the cancellation and progress tests. The GEMM
// speed differs a lot between builds (the reference loop, packed kernels, ISAs, machine load),
// so the data set is sized from a measured mini-batch: many mini-batches of a known duration
// per epoch, whatever the build.
import { MLP } from '../../lib/index.js';
import type { EpochMetrics, TrainOptions } from '../../lib/types.js';
import { rng } from './reference.js';

export const INPUTS = 128;
export const CLASSES = 10;
export const BATCH = 256;

export const newModel = (seed = 3): MLP =>
  new MLP({
    inputs: INPUTS,
    layers: [
      { units: 1024, activation: 'relu' },
      { units: 1024, activation: 'relu' },
      { units: CLASSES, activation: 'softmax' },
    ],
    seed,
  });

export const options: TrainOptions = { epochs: 1, batchSize: BATCH, optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 } };

/** Rows of a synthetic classification problem (seeded, so every call gives the same data). */
export function makeData(rows: number, seed = 9): { x: Float32Array; y: Int32Array } {
  const r = rng(seed);
  const prototypes = Array.from({ length: CLASSES }, () => Float32Array.from({ length: INPUTS }, () => r()));
  const x = new Float32Array(rows * INPUTS);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % CLASSES;
    y[i] = c;
    const p = prototypes[c]!;
    for (let j = 0; j < INPUTS; j++) x[i * INPUTS + j] = p[j]! + 0.5 * (r() - 0.5);
  }
  return { x, y };
}

export interface LongRun {
  data: { x: Float32Array; y: Int32Array };
  batchesPerEpoch: number;
  /** Measured duration of one mini-batch when calibrating (ms). */
  batchMs: number;
}

async function last(stream: AsyncIterable<EpochMetrics>): Promise<EpochMetrics> {
  let m: EpochMetrics | undefined;
  for await (const e of stream) m = e;
  return m!;
}

/**
 * Data for epochs of about `epochMs` (at least `minBatches` mini-batches, at most 400). A
 * mini-batch is about 1.8 GFLOP (256 rows through 128-1024-1024-10): some 20-60 ms with the
 * packed kernels on two cores.
 * Measures the second of two short epochs (the first warms the caches and the allocator).
 */
export async function calibrate(epochMs: number, minBatches = 24): Promise<LongRun> {
  const probeBatches = 6;
  const probe = await last(newModel().train(makeData(probeBatches * BATCH, 1), { ...options, epochs: 2 }));
  const batchMs = probe.epochMs / probeBatches;
  const batchesPerEpoch = Math.min(400, Math.max(minBatches, Math.ceil(epochMs / batchMs)));
  return { data: makeData(batchesPerEpoch * BATCH), batchesPerEpoch, batchMs };
}
