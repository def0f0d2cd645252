// The same seed and data give bit-identical weights across runs and across thread counts
// (GEMM work is split over output tiles only, optimizer updates element-wise).
import { afterAll, describe, expect, it } from 'vitest';

import { getThreads, MLP, setThreads } from '../lib/index.js';
import type { TrainOptions } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const initial = getThreads();
afterAll(() => setThreads(initial));

async function train(threads: number, options: TrainOptions) {
  setThreads(threads);
  const r = rng(63);
  const rows = 512;
  const x = randomArray(r, rows * 96);
  const y = Array.from({ length: rows }, () => Math.floor(r() * 10));
  // Big enough that the GEMMs (128 x 256 x 96 and up) are split over the threads.
  const model = new MLP({ inputs: 96, layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'tanh' }, { units: 10, activation: 'softmax' }], seed: 5 });
  const losses: number[] = [];
  for await (const m of model.train({ x, y }, options)) losses.push(m.loss);
  return { weights: model.getWeights(), losses };
}

describe('determinism', () => {
  it.each([
    ['sgd with momentum', { type: 'sgd', learningRate: 0.05, momentum: 0.9 }],
    ['adam', { type: 'adam', learningRate: 0.001 }],
  ] as const)('%s: 1, 2 and 3 threads give bit-identical weights, and so does a second run', async (_, optimizer) => {
    const options: TrainOptions = { epochs: 3, batchSize: 128, optimizer, seed: 9 };
    const one = await train(1, options);
    const two = await train(2, options);
    const three = await train(3, options);
    const again = await train(2, options);
    expect(two.weights).toEqual(one.weights);
    expect(three.weights).toEqual(one.weights);
    expect(again.weights).toEqual(two.weights);
    expect(two.losses).toEqual(one.losses);
    expect(one.losses.at(-1)).toBeLessThan(one.losses[0]!);
  });
});
