// Schedules, validation, early stopping, standardisation, regression metrics, and the
// per-layer diagnostics that make vanishing gradients, dead ReLUs and saturation visible.
import { describe, expect, it } from 'vitest';

import { loadModel, MLP } from '../lib/index.js';
import type { EpochMetrics, TrainOptions } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<EpochMetrics[]> {
  const out: EpochMetrics[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

const XOR = { x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [[0], [1], [1], [0]] };
const logistic = () => new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], seed: 1 });

/** A 3-class problem with a learnable rule (the largest of three features). */
function blobs(rows: number, seed: number) {
  const r = rng(seed);
  const x = randomArray(r, rows * 3);
  const y = Array.from({ length: rows }, (_, i) => {
    const row = [x[i * 3]!, x[i * 3 + 1]!, x[i * 3 + 2]!];
    return row.indexOf(Math.max(...row));
  });
  return { x, y };
}
const classifier = (seed = 1) =>
  new MLP({ inputs: 3, layers: [{ units: 16, activation: 'relu' }, { units: 3, activation: 'softmax' }], seed });

describe('learning-rate schedules', () => {
  const rates = async (schedule: TrainOptions['schedule'], epochs = 12) =>
    (await drain(logistic().train(XOR, { epochs, batchSize: 'full', optimizer: { type: 'sgd', learningRate: 0.8 }, schedule }))).map(
      (m) => m.learningRate,
    );
  const close = (got: number[], want: number[]) => got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));

  it('constant, step and exponential', async () => {
    close(await rates('constant'), Array(12).fill(0.8));
    close(await rates({ type: 'step', stepEpochs: 4, gamma: 0.5 }), Array.from({ length: 12 }, (_, e) => 0.8 * 0.5 ** Math.floor(e / 4)));
    close(await rates({ type: 'exponential', gamma: 0.9 }), Array.from({ length: 12 }, (_, e) => 0.8 * 0.9 ** e));
  });

  it('cosine with warm-up, down to a floor', async () => {
    const got = await rates({ type: 'cosine', warmupEpochs: 3, epochs: 8, minLearningRate: 0.1 }, 14);
    const want = Array.from({ length: 14 }, (_, e) => {
      if (e < 3) return (0.8 * (e + 1)) / 3;
      const t = Math.min((e - 3) / 8, 1);
      return 0.1 + (0.8 - 0.1) * 0.5 * (1 + Math.cos(Math.PI * t));
    });
    close(got, want);
  });

  it('reduceOnPlateau cuts the rate when the loss stalls (logistic regression on XOR stalls)', async () => {
    const history = await drain(
      logistic().train(XOR, {
        epochs: 400,
        batchSize: 'full',
        optimizer: { type: 'sgd', learningRate: 1 },
        schedule: { type: 'reduceOnPlateau', factor: 0.5, patience: 20, minLearningRate: 0.1 },
      }),
    );
    const lrs = history.map((m) => m.learningRate);
    expect(lrs[0]).toBe(1);
    expect(Math.min(...lrs)).toBeLessThan(1);
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(0.1 - 1e-12);
    // Only ever halved (down to the floor), never raised.
    for (let i = 1; i < lrs.length; i++) {
      const [prev, now] = [lrs[i - 1]!, lrs[i]!];
      expect(Math.abs(now - prev) < 1e-7 || Math.abs(now - Math.max(prev / 2, 0.1)) < 1e-7).toBe(true);
    }
  });
});

describe('validation', () => {
  it('validationSplit holds out a seeded, stratified part and reports valLoss/valAccuracy', async () => {
    const data = blobs(300, 5);
    const model = classifier();
    const history = await drain(model.train(data, { epochs: 30, optimizer: 'adam', validationSplit: 0.2, seed: 3 }));
    const last = history.at(-1)!;
    expect(last.valLoss).toBeGreaterThan(0);
    expect(last.valAccuracy).toBeGreaterThan(0.8);
    expect(last.valLoss).toBeLessThan(history[0]!.valLoss!);
    // The split is reproducible: the same seed gives the same validation curve.
    const again = await drain(classifier().train(data, { epochs: 30, optimizer: 'adam', validationSplit: 0.2, seed: 3 }));
    expect(again.map((m) => m.valLoss)).toEqual(history.map((m) => m.valLoss));
  });

  it('valLoss/valAccuracy on validationData equal what predict gives after the epoch', async () => {
    const train = blobs(200, 6);
    const val = blobs(57, 7);
    const model = classifier();
    const history = await drain(model.train(train, { epochs: 5, optimizer: 'adam', validationData: val }));
    const p = model.predict(val.x);
    let loss = 0;
    let correct = 0;
    val.y.forEach((c, i) => {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      loss -= Math.log(row[c]!);
      correct += row.indexOf(Math.max(...row)) === c ? 1 : 0;
    });
    expect(history.at(-1)!.valLoss).toBeCloseTo(loss / 57, 5);
    expect(history.at(-1)!.valAccuracy).toBeCloseTo(correct / 57, 10);
  });

  it('regression: rmse and r2 for training and validation data, multi-output mse', async () => {
    const r = rng(8);
    const x = randomArray(r, 80 * 4);
    const y = Float32Array.from({ length: 80 * 2 }, (_, i) => {
      const row = Math.floor(i / 2);
      return i % 2 === 0 ? x[row * 4]! * 2 - x[row * 4 + 1]! : x[row * 4 + 2]! * x[row * 4 + 3]!;
    });
    const model = new MLP({ inputs: 4, layers: [{ units: 16, activation: 'tanh' }, { units: 2, activation: 'linear' }], seed: 2 });
    await drain(model.train({ x: x.subarray(0, 60 * 4), y: y.subarray(0, 60 * 2) }, { epochs: 200, optimizer: 'adam', batchSize: 16 }));
    // A tiny learning rate leaves the weights as they are, so the epoch's metrics evaluate them.
    const [m] = await drain(
      model.train(
        { x: x.subarray(0, 60 * 4), y: y.subarray(0, 60 * 2) },
        { epochs: 1, optimizer: { type: 'sgd', learningRate: 1e-30 }, batchSize: 'full', validationData: { x: x.subarray(240), y: y.subarray(120) } },
      ),
    );
    const check = (xs: Float32Array, ys: Float32Array, rmse: number, r2: number) => {
      const p = model.predict(xs);
      const n = ys.length;
      const sse = ys.reduce((a, v, i) => a + (p[i]! - v) ** 2, 0);
      const means = [0, 1].map((j) => ys.filter((_, i) => i % 2 === j).reduce((a, v) => a + v, 0) / (n / 2));
      const sst = ys.reduce((a, v, i) => a + (v - means[i % 2]!) ** 2, 0);
      expect(rmse).toBeCloseTo(Math.sqrt(sse / n), 5);
      expect(r2).toBeCloseTo(1 - sse / sst, 5);
    };
    check(x.subarray(0, 240), y.subarray(0, 120), m!.rmse!, m!.r2!);
    check(x.subarray(240), y.subarray(120), m!.valRmse!, m!.valR2!);
    expect(m!.r2).toBeGreaterThan(0.8);
    expect(m!.accuracy).toBeUndefined();
  });
});

describe('early stopping', () => {
  it('stops once the monitored loss stops improving, flags the last epoch and reports the best', async () => {
    const history = await drain(
      logistic().train(XOR, {
        epochs: 5000,
        batchSize: 'full',
        optimizer: { type: 'sgd', learningRate: 1 },
        earlyStopping: { monitor: 'loss', patience: 5, minDelta: 1e-4 },
      }),
    );
    expect(history.length).toBeLessThan(5000);
    expect(history.at(-1)!.stoppedEarly).toBe(true);
    expect(history.slice(0, -1).every((m) => !m.stoppedEarly)).toBe(true);
    expect(history.at(-1)!.epoch - history.at(-1)!.bestEpoch!).toBe(5);
  });

  it('restoreBest ends with the weights of the best epoch', async () => {
    const train = blobs(120, 9);
    const val = blobs(40, 10);
    // A learning rate high enough that the validation loss wanders.
    const options: TrainOptions = {
      epochs: 200,
      optimizer: { type: 'sgd', learningRate: 0.5, momentum: 0.9 },
      batchSize: 8,
      validationData: val,
      earlyStopping: { patience: 8, restoreBest: true },
    };
    const model = classifier(4);
    const history = await drain(model.train(train, options));
    const best = history.at(-1)!.bestEpoch!;
    expect(best).toBeLessThan(history.at(-1)!.epoch);
    const bestLoss = Math.min(...history.map((m) => m.valLoss!));
    expect(history.find((m) => m.epoch === best)!.valLoss).toBe(bestLoss);
    // The same run cut at the best epoch has the same weights.
    const reference = classifier(4);
    await drain(reference.train(train, { ...options, epochs: best, earlyStopping: false }));
    expect(model.getWeights()).toEqual(reference.getWeights());
  });

  it('needs validation data for a val* monitor', () => {
    expect(() => logistic().train(XOR, { epochs: 3, earlyStopping: { monitor: 'valLoss' } })).toThrow(/needs validationSplit or validationData/);
  });
});

describe('input standardisation', () => {
  it('learns mean/std from the training rows, stores them, and predict takes raw inputs (also after save/load)', async () => {
    const r = rng(11);
    const rows = 200;
    // Features on wildly different scales: one in thousands, one in thousandths.
    const x = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? 5000 + 3000 * r() : 0.002 * r()));
    const y = Array.from({ length: rows }, (_, i) => [x[i * 2]! > 6500 !== x[i * 2 + 1]! > 0.001 ? 1 : 0]);
    const spec = { inputs: 2, layers: [{ units: 8, activation: 'tanh' as const }, { units: 1, activation: 'sigmoid' as const }], seed: 3 };
    const raw = new MLP(spec);
    const scaled = new MLP(spec);
    const options: TrainOptions = { epochs: 300, optimizer: 'adam', batchSize: 32 };
    const a = await drain(raw.train({ x, y }, options));
    const b = await drain(scaled.train({ x, y }, { ...options, normalize: true }));
    expect(b.at(-1)!.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(b.at(-1)!.accuracy).toBeGreaterThan(a.at(-1)!.accuracy!);
    const buffer = scaled.toBuffer();
    const loaded = MLP.fromBuffer(buffer);
    expect(loaded.predict(x)).toEqual(scaled.predict(x));
    // The statistics are the training rows' mean and (population) standard deviation.
    const norm = scaled.native.getNormalization()!;
    const mean0 = x.filter((_, i) => i % 2 === 0).reduce((s, v) => s + v, 0) / rows;
    expect(norm.mean[0]).toBeCloseTo(mean0, 0);
    expect(norm.std[1]).toBeGreaterThan(0);
    // A second run keeps them (the weights were learnt for them).
    await drain(scaled.train({ x: x.subarray(0, 20), y: y.slice(0, 10) }, { epochs: 1, normalize: true }));
    expect(scaled.native.getNormalization()).toEqual(norm);
  });
});

describe('diagnostics: vanishing gradients, dead ReLUs, saturation', () => {
  it('a deep sigmoid stack shows the gradient vanishing towards the input', async () => {
    const layers = Array.from({ length: 8 }, () => ({ units: 16, activation: 'sigmoid' as const }));
    const model = new MLP({ inputs: 4, layers: [...layers, { units: 1, activation: 'sigmoid' }], seed: 1 });
    const r = rng(12);
    const x = randomArray(r, 64 * 4);
    const y = Array.from({ length: 64 }, () => [r() < 0.5 ? 0 : 1]);
    const [m] = await drain(model.train({ x, y }, { epochs: 1, batchSize: 'full' }));
    const norms = m!.layers.map((l) => l.gradNorm);
    expect(norms[0]! * 100).toBeLessThan(norms.at(-2)!);
    // ... while a ReLU stack of the same depth keeps it flowing.
    const relu = new MLP({ inputs: 4, layers: [...layers.map((l) => ({ ...l, activation: 'relu' as const })), { units: 1, activation: 'sigmoid' }], seed: 1 });
    const [n] = await drain(relu.train({ x, y }, { epochs: 1, batchSize: 'full' }));
    expect(n!.layers[0]!.gradNorm * 100).toBeGreaterThan(n!.layers.at(-2)!.gradNorm);
  });

  it('ReLU units knocked out by a large negative bias are reported dead', async () => {
    const model = new MLP({ inputs: 3, layers: [{ units: 10, activation: 'relu' }, { units: 1, activation: 'linear' }], seed: 2 });
    const w = model.getWeights();
    // Units 0..3 can never fire on inputs in [-1, 1].
    for (let u = 0; u < 4; u++) w[0]!.bias[u] = -100;
    model.setWeights(w);
    const r = rng(13);
    const [m] = await drain(model.train({ x: randomArray(r, 50 * 3), y: randomArray(r, 50) }, { epochs: 1, batchSize: 10 }));
    expect(m!.layers[0]!.deadFraction).toBeGreaterThanOrEqual(0.4);
    expect(m!.layers[0]!.deadFraction).toBeLessThan(1);
    expect(m!.layers[0]!.saturatedFraction).toBeUndefined();
  });

  it('tanh units driven by huge weights are reported saturated', async () => {
    const model = new MLP({ inputs: 3, layers: [{ units: 10, activation: 'tanh' }, { units: 1, activation: 'linear' }], seed: 2 });
    const r = rng(14);
    const x = randomArray(r, 50 * 3);
    const y = randomArray(r, 50);
    const [calm] = await drain(model.train({ x, y }, { epochs: 1, optimizer: { type: 'sgd', learningRate: 1e-9 } }));
    const w = model.getWeights();
    w[0]!.weights = w[0]!.weights.map((v) => v * 200);
    model.setWeights(w);
    const [hot] = await drain(model.train({ x, y }, { epochs: 1, optimizer: { type: 'sgd', learningRate: 1e-9 } }));
    expect(calm!.layers[0]!.saturatedFraction).toBeLessThan(0.2);
    expect(hot!.layers[0]!.saturatedFraction).toBeGreaterThan(0.8);
    expect(hot!.layers[0]!.deadFraction).toBeUndefined();
  });

  it('diagnostics: false leaves them out', async () => {
    const [m] = await drain(logistic().train(XOR, { epochs: 1, diagnostics: false }));
    expect(Number.isNaN(m!.layers[0]!.gradNorm)).toBe(true);
    expect(m!.gradNorm).toBeUndefined();
  });
});

describe('checkpoints carry schedule and early-stopping state', () => {
  it('a resumed run with a plateau schedule and early stopping matches an uninterrupted one bit for bit', async () => {
    const train = blobs(90, 15);
    const val = blobs(30, 16);
    const options: TrainOptions = {
      epochs: 12,
      batchSize: 10,
      optimizer: { type: 'adam', learningRate: 0.05 },
      schedule: { type: 'reduceOnPlateau', patience: 2, factor: 0.5 },
      validationData: val,
      earlyStopping: { patience: 1000 },
    };
    const straight = classifier(5);
    const whole = await drain(straight.train(train, { ...options, epochs: 24 }));
    const first = classifier(5);
    await drain(first.train(train, options));
    const resumed = MLP.fromBuffer(first.toBuffer());
    const second = await drain(resumed.train(train, options));
    expect(second.map((m) => m.learningRate)).toEqual(whole.slice(12).map((m) => m.learningRate));
    expect(second.map((m) => m.bestEpoch)).toEqual(whole.slice(12).map((m) => m.bestEpoch));
    expect(resumed.getWeights()).toEqual(straight.getWeights());
    void loadModel;
  });
});
