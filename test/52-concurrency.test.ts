// Several models training at once in one process, each with its own stream: the result of
// each is the same as when it trains alone.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics, LayerWeights, TrainOptions } from '../lib/types.js';
import { makeData } from './helpers/long-run.js';

interface Job {
  model: () => MLP;
  data: { x: Float32Array; y: Int32Array | Float32Array };
  options: TrainOptions;
}

const jobs: Job[] = [
  {
    model: () => new MLP({ inputs: 128, layers: [{ units: 64, activation: 'relu' }, { units: 10, activation: 'softmax' }], seed: 1 }),
    data: makeData(1024, 1),
    options: { epochs: 6, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.003 } },
  },
  {
    model: () => new MLP({ inputs: 128, layers: [{ units: 32, activation: 'tanh' }, { units: 10, activation: 'softmax' }], seed: 2 }),
    data: makeData(768, 2),
    options: { epochs: 8, batchSize: 16, optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 } },
  },
  {
    model: () => new MLP({ inputs: 128, layers: [{ units: 48, activation: 'leakyRelu' }, { units: 10, activation: 'softmax' }], seed: 3 }),
    data: makeData(512, 3),
    options: { epochs: 5, batchSize: 'full', optimizer: { type: 'rmsprop', learningRate: 0.01 } },
  },
  {
    model: () => new MLP({ inputs: 128, layers: [{ units: 16, activation: 'sigmoid' }, { units: 10, activation: 'softmax' }], seed: 4 }),
    data: makeData(2048, 4),
    options: { epochs: 3, batchSize: 64, optimizer: { type: 'adamw', learningRate: 0.01 } },
  },
];

/** Trains one job, reading at the given pace; returns its history and final weights. */
async function train(job: Job, readDelayMs = 0): Promise<{ history: EpochMetrics[]; weights: LayerWeights[] }> {
  const model = job.model();
  const history: EpochMetrics[] = [];
  for await (const m of model.train(job.data, { ...job.options, highWaterMark: 2 })) {
    history.push(m);
    if (readDelayMs > 0) await sleep(readDelayMs);
  }
  return { history, weights: model.getWeights() };
}

const strip = (h: EpochMetrics[]) => h.map(({ epoch, loss, accuracy, layers }) => ({ epoch, loss, accuracy, layers }));

describe('many trainings at once', () => {
  it('two concurrent trainings give the same weights as the same two run one after the other', async () => {
    const a = await train(jobs[0]!);
    const b = await train(jobs[1]!);
    const [ca, cb] = await Promise.all([train(jobs[0]!), train(jobs[1]!)]);
    expect(ca.weights).toEqual(a.weights);
    expect(cb.weights).toEqual(b.weights);
    expect(strip(ca.history)).toEqual(strip(a.history));
    expect(strip(cb.history)).toEqual(strip(b.history));
    // (and the two jobs are different, so the comparison means something)
    expect(ca.weights[0]!.weights).not.toEqual(cb.weights[0]!.weights);
  });

  it('four at once, read at different paces, each equal to its training alone', async () => {
    const alone = [];
    for (const job of jobs) alone.push(await train(job));
    const together = await Promise.all(jobs.map((job, i) => train(job, [0, 7, 1, 15][i])));
    for (let i = 0; i < jobs.length; i++) {
      expect(together[i]!.weights).toEqual(alone[i]!.weights);
      expect(strip(together[i]!.history)).toEqual(strip(alone[i]!.history));
    }
  });

  it('one run stopped early does not disturb the others', async () => {
    const reference = await train(jobs[0]!);
    const stopped = jobs[1]!.model();
    const stream = stopped.train(jobs[1]!.data, { ...jobs[1]!.options, epochs: 10_000 });
    const running = train(jobs[0]!, 3);
    let n = 0;
    for await (const _ of stream) if (++n === 3) break;
    expect((await running).weights).toEqual(reference.weights);
    expect(stopped.isTraining).toBe(false);
  });
});
