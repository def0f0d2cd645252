// The metrics stream: one object per epoch, the consumer's pace, stopping, errors.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { MLP, ModelBusyError, TrainingDivergedError } from '../lib/index.js';
import type { EpochMetrics } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const X = [[0, 0], [0, 1], [1, 0], [1, 1]];
const Y = [[0], [1], [1], [0]];
const xorModel = (seed = 7) =>
  new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed });
const xorOptions = { epochs: 200, batchSize: 'full' as const, optimizer: { type: 'sgd' as const, learningRate: 0.5 } };

async function collect(stream: AsyncIterable<EpochMetrics>): Promise<EpochMetrics[]> {
  const out: EpochMetrics[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

describe('the metrics stream', () => {
  it('yields one metrics object per epoch, numbered from 1, with the documented fields', async () => {
    const history = await collect(xorModel().train({ x: X, y: Y }, xorOptions));
    expect(history.map((m) => m.epoch)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const m of history) {
      expect(m.loss).toBeGreaterThan(0);
      expect(m.accuracy).toBeGreaterThanOrEqual(0);
      expect(m.accuracy).toBeLessThanOrEqual(1);
      expect(m.elapsedMs).toBeGreaterThanOrEqual(m.epochMs);
      expect(m.samplesPerSecond).toBeGreaterThan(0);
      expect(m.batches).toBe(1);
      expect(m.learningRate).toBe(0.5);
      expect(m.layers).toHaveLength(2);
    }
    expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss);
    // elapsed time only grows
    for (let i = 1; i < history.length; i++) expect(history[i]!.elapsedMs).toBeGreaterThanOrEqual(history[i - 1]!.elapsedMs);
  });

  it('is a Readable in object mode that also works with events', async () => {
    const stream = xorModel().train({ x: X, y: Y }, { ...xorOptions, epochs: 5 });
    expect(stream.readableObjectMode).toBe(true);
    const epochs: number[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: EpochMetrics) => epochs.push(m.epoch));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
  });

  it('continues the epoch count across runs', async () => {
    const model = xorModel();
    await collect(model.train({ x: X, y: Y }, { ...xorOptions, epochs: 3 }));
    const second = await collect(model.train({ x: X, y: Y }, { ...xorOptions, epochs: 2 }));
    expect(second.map((m) => m.epoch)).toEqual([4, 5]);
    expect(model.epochsTrained).toBe(5);
  });

  it('the same seed gives bit-identical weights; another seed does not', async () => {
    const r = rng(3);
    const x = randomArray(r, 50 * 3);
    const y = Array.from({ length: 50 }, (_, i) => i % 3);
    const train = async (seed: number) => {
      const model = new MLP({ inputs: 3, layers: [{ units: 8, activation: 'relu' }, { units: 3, activation: 'softmax' }], seed });
      await collect(model.train({ x, y }, { epochs: 20, batchSize: 7, optimizer: { type: 'sgd', learningRate: 0.1 } }));
      return model.getWeights();
    };
    const a = await train(1);
    const b = await train(1);
    const c = await train(2);
    expect(a).toEqual(b);
    expect(a[0]!.weights).not.toEqual(c[0]!.weights);
  });

  it('mini-batches: the last partial batch is trained, and shuffling is seeded', async () => {
    const r = rng(4);
    const x = randomArray(r, 10 * 2);
    const y = Array.from({ length: 10 }, () => [r()]);
    const run = async (shuffle: boolean, seed: number) => {
      const model = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'tanh' }, { units: 1, activation: 'linear' }], seed: 1 });
      const h = await collect(model.train({ x, y }, { epochs: 3, batchSize: 3, shuffle, seed, optimizer: 'sgd' }));
      return { h, w: model.getWeights() };
    };
    const plain = await run(false, 0);
    expect(plain.h.map((m) => m.batches)).toEqual([4, 4, 4]); // 3 + 3 + 3 + 1
    const shuffledA = await run(true, 5);
    const shuffledB = await run(true, 5);
    const shuffledC = await run(true, 6);
    expect(shuffledA.w).toEqual(shuffledB.w);
    expect(shuffledA.w[0]!.weights).not.toEqual(plain.w[0]!.weights);
    expect(shuffledA.w[0]!.weights).not.toEqual(shuffledC.w[0]!.weights);
  });

  it('break stops training and leaves the weights of the last completed epoch', async () => {
    const model = xorModel(11);
    for await (const m of model.train({ x: X, y: Y }, { ...xorOptions, epochs: 100_000, highWaterMark: 4 })) {
      if (m.epoch === 10) break;
    }
    await sleep(0);
    expect(model.isTraining).toBe(false);
    const done = model.epochsTrained;
    expect(done).toBeGreaterThanOrEqual(10);
    expect(done).toBeLessThanOrEqual(10 + 4 + 1);
    // A model trained for exactly that many epochs without interruption has the same weights.
    const reference = xorModel(11);
    await collect(reference.train({ x: X, y: Y }, { ...xorOptions, epochs: done }));
    expect(model.getWeights()).toEqual(reference.getWeights());
    // And the model stays usable.
    const more = await collect(model.train({ x: X, y: Y }, { ...xorOptions, epochs: 2 }));
    expect(more.map((m) => m.epoch)).toEqual([done + 1, done + 2]);
  });

  it('a slow consumer pauses training: epochs never run ahead of reads by more than highWaterMark', async () => {
    const model = xorModel();
    const highWaterMark = 3;
    let read = 0;
    let worst = 0;
    for await (const m of model.train({ x: X, y: Y }, { ...xorOptions, epochs: 40, highWaterMark })) {
      read++;
      expect(m.epoch).toBe(read);
      await sleep(5);
      worst = Math.max(worst, model.epochsTrained - read);
      if (read === 12) {
        // Stop reading for a while: the run must wait for us.
        await sleep(100);
        expect(model.epochsTrained - read).toBeLessThanOrEqual(highWaterMark);
      }
    }
    expect(worst).toBeLessThanOrEqual(highWaterMark);
    expect(read).toBe(40);
  });

  it('refuses a second run on a model that is training', async () => {
    const model = xorModel();
    const stream = model.train({ x: X, y: Y }, { ...xorOptions, epochs: 1000 });
    expect(model.isTraining).toBe(true);
    expect(() => model.train({ x: X, y: Y }, xorOptions)).toThrow(ModelBusyError);
    expect(() => model.setWeights(model.getWeights())).toThrow(ModelBusyError);
    stream.destroy();
    await new Promise((resolve) => stream.on('close', resolve));
    expect(model.isTraining).toBe(false);
    model.setWeights(model.getWeights());
  });

  it('a diverging run ends the stream with TrainingDivergedError and keeps the last good weights', async () => {
    const model = new MLP({ inputs: 1, layers: [{ units: 8, activation: 'linear' }, { units: 1, activation: 'linear' }], seed: 1 });
    const x = Array.from({ length: 32 }, (_, i) => [i]);
    const y = Array.from({ length: 32 }, (_, i) => [1000 * i]);
    const seen: EpochMetrics[] = [];
    let error: unknown;
    try {
      for await (const m of model.train({ x, y }, { epochs: 1000, batchSize: 'full', optimizer: { type: 'sgd', learningRate: 0.5 } })) {
        seen.push(m);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    const diverged = error as TrainingDivergedError;
    expect(diverged.code).toBe('ERR_TRAINING_DIVERGED');
    expect(diverged.epoch).toBe(seen.length + 1);
    expect(diverged.batch).toBe(1);
    expect(diverged.message).toMatch(/epoch \d+, batch 1/);
    expect(model.epochsTrained).toBe(seen.length);
    expect(model.getWeights().every((l) => l.weights.every(Number.isFinite))).toBe(true);
    expect(model.isTraining).toBe(false);
  });

  it('an error is thrown by the iterator once and never left unhandled (its event comes a tick later)', async () => {
    const stream = xorModel().train({ x: X, y: Y }, { ...xorOptions, epochs: 100_000 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    stream.destroy(new Error('boom'));
    await expect(iterator.next()).rejects.toThrow('boom');
    // The 'error' event is emitted after this; without a listener it would crash the process.
    await sleep(20);
    expect(stream.destroyed).toBe(true);
  });
});
