// Training data that streams in: chunks of any size from iterables, async iterables or a
// function per epoch; the same result as in memory when the order is the same.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics, TrainOptions, TrainingData } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<EpochMetrics[]> {
  const out: EpochMetrics[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

const ROWS = 61;
const r = rng(55);
const X = randomArray(r, ROWS * 3);
const Y = randomArray(r, ROWS * 2);
const LABELS = Int32Array.from({ length: ROWS }, () => Math.floor(r() * 4));
const SIZES = [7, 1, 13, 3, 5, 16, 2, 9, 5]; // odd sizes, sum 61

/** The data set cut into chunks of SIZES rows (flat Float32Array views). */
function* chunks(labels = false): Generator<TrainingData> {
  let at = 0;
  for (const n of SIZES) {
    yield { x: X.subarray(at * 3, (at + n) * 3), y: labels ? Array.from(LABELS.subarray(at, at + n)) : Y.subarray(at * 2, (at + n) * 2) };
    at += n;
  }
}

const regressor = () => new MLP({ inputs: 3, layers: [{ units: 6, activation: 'tanh' }, { units: 2, activation: 'linear' }], seed: 4 });
const classifier = () => new MLP({ inputs: 3, layers: [{ units: 6, activation: 'relu' }, { units: 4, activation: 'softmax' }], seed: 4 });
const options: TrainOptions = { epochs: 4, batchSize: 5, shuffle: false, optimizer: { type: 'adam', learningRate: 0.01 } };

describe('data that streams in', () => {
  it('odd-sized chunks train exactly like the same rows in memory (batches span chunks)', async () => {
    const inMemory = regressor();
    const a = await drain(inMemory.train({ x: X, y: Y }, options));
    const streamed = regressor();
    const b = await drain(streamed.train(() => chunks(), options));
    expect(streamed.getWeights()).toEqual(inMemory.getWeights());
    expect(b.map((m) => m.loss)).toEqual(a.map((m) => m.loss));
    expect(b.map((m) => m.batches)).toEqual([13, 13, 13, 13]); // ceil(61 / 5)
    expect(b[0]!.samplesPerSecond).toBeGreaterThan(0);
  });

  it('class labels in chunks (crossEntropy) match in-memory labels, async producers too', async () => {
    const inMemory = classifier();
    await drain(inMemory.train({ x: X, y: LABELS }, options));
    const streamed = classifier();
    async function* slowly() {
      for (const chunk of chunks(true)) {
        await sleep(1);
        yield chunk;
      }
    }
    const history = await drain(streamed.train(() => slowly(), options));
    expect(streamed.getWeights()).toEqual(inMemory.getWeights());
    expect(history.at(-1)!.accuracy).toBeGreaterThan(0);
  });

  it('calls the data function once per epoch, and an array of chunks is re-iterable', async () => {
    const epochs: number[] = [];
    await drain(regressor().train((epoch) => (epochs.push(epoch), chunks()), { ...options, epochs: 3 }));
    expect(epochs).toEqual([0, 1, 2]);
    const list = [...chunks()];
    const fromList = regressor();
    await drain(fromList.train(list, options));
    const inMemory = regressor();
    await drain(inMemory.train({ x: X, y: Y }, options));
    expect(fromList.getWeights()).toEqual(inMemory.getWeights());
  });

  it('shuffles within chunks, seeded', async () => {
    const train = async (seed: number) => {
      const m = regressor();
      await drain(m.train(() => chunks(), { ...options, shuffle: true, seed }));
      return m.getWeights();
    };
    const a = await train(1);
    expect(await train(1)).toEqual(a);
    expect((await train(2))[0]!.weights).not.toEqual(a[0]!.weights);
  });

  it('a one-shot iterator for several epochs is an error that says what to do', async () => {
    const model = regressor();
    await expect(drain(model.train(chunks(), { ...options, epochs: 2 }))).rejects.toThrow(
      /no rows in epoch 2; an iterator can be read only once: pass a function/,
    );
    expect(model.isTraining).toBe(false);
    expect(model.epochsTrained).toBe(1);
  });

  it('a bad chunk or a failing producer ends the stream with that error; the model is not left busy', async () => {
    const model = regressor();
    function* bad() {
      yield { x: X.subarray(0, 9), y: Y.subarray(0, 6) };
      yield { x: [[1, 2]], y: [[0, 0]] };
    }
    await expect(drain(model.train(() => bad(), options))).rejects.toThrow(/chunk 1 of epoch 1.x\[0\] has 2 inputs, expected 3/);
    await sleep(10);
    expect(model.isTraining).toBe(false);
    async function* failing() {
      yield { x: X.subarray(0, 9), y: Y.subarray(0, 6) };
      throw new Error('disk on fire');
    }
    await expect(drain(model.train(() => failing(), options))).rejects.toThrow('disk on fire');
    await sleep(10);
    expect(model.isTraining).toBe(false);
  });

  it('destroying the stream mid-epoch stops the run and closes the producer (its finally runs)', async () => {
    let closed = 0;
    let produced = 0;
    function* endless() {
      try {
        for (;;) {
          produced++;
          yield { x: X.subarray(0, 30), y: Y.subarray(0, 20) };
        }
      } finally {
        closed++;
      }
    }
    const model = regressor();
    const stream = model.train(() => endless(), { ...options, epochs: 1 });
    stream.resume();
    await sleep(50);
    expect(produced).toBeGreaterThan(2);
    stream.destroy();
    await new Promise((resolve) => stream.on('close', resolve));
    await sleep(10);
    expect(closed).toBe(1);
    expect(model.isTraining).toBe(false);
    // Nothing is produced after the stream closed.
    const before = produced;
    await sleep(20);
    expect(produced).toBe(before);
  });

  it('refuses what needs the whole data set in memory', () => {
    expect(() => regressor().train(() => chunks(), { ...options, validationSplit: 0.2 })).toThrow(/validationSplit needs in-memory data/);
    expect(() => regressor().train(() => chunks(), { ...options, batchSize: 'full' })).toThrow(/batchSize 'full' needs in-memory data/);
    expect(() => regressor().train(() => chunks(), { ...options, normalize: true })).toThrow(/normalize needs in-memory data/);
  });
});
