// The serving path: predict on one sample or a few (the vector-matrix kernels, every ISA this
// CPU runs), into a preallocated array, checked natively for NaN, shared by concurrent calls.
import { afterEach, describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { ActivationName } from '../lib/types.js';
import { forwardRef, maxScaledError, randomArray, rng, toRows, type RefLayer } from './helpers/reference.js';

const savedIsa = process.env.MLPSTREAM_ISA;
afterEach(() => {
  if (savedIsa === undefined) delete process.env.MLPSTREAM_ISA;
  else process.env.MLPSTREAM_ISA = savedIsa;
});

/** The ISAs whose small-batch kernel this CPU runs (MLPSTREAM_ISA can only lower the choice). */
const ISAS = ['portable', 'avx2', 'avx512'].filter((isa) => {
  process.env.MLPSTREAM_ISA = isa;
  const kernel = new MLP({ inputs: 1, layers: [{ units: 1 }] }).native.predictKernel();
  if (savedIsa === undefined) delete process.env.MLPSTREAM_ISA;
  else process.env.MLPSTREAM_ISA = savedIsa;
  return kernel === isa;
});

it('the small-batch kernels cover this CPU', () => {
  console.log(`small-batch predict kernels tested: ${ISAS.join(', ')}`);
  expect(ISAS).toContain('portable');
  expect(ISAS.length).toBeGreaterThanOrEqual(1);
});

/** A model whose small-batch kernel is `isa` (chosen when the model is created). */
function modelOn(isa: string, inputs: number, layers: RefLayer[], seed: number): MLP {
  process.env.MLPSTREAM_ISA = isa;
  const model = new MLP({ inputs, layers, seed });
  expect(model.native.predictKernel()).toBe(isa);
  return model;
}

describe('small batches (1 to 4 rows)', () => {
  it.each(ISAS.map((isa) => [isa]))('%s: match float64 on shapes that exercise every panel and tail', (isa) => {
    const r = rng(11);
    // Widths around the panel sizes (256, 128, 64 columns; 16- and 8-lane vectors) and odd depths.
    const widths = [1, 5, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 128, 129, 191, 256, 257, 300, 449, 512];
    let seed = 1;
    for (const units of widths) {
      for (const inputs of [1, 3, 17]) {
        const hidden: ActivationName = (['relu', 'tanh', 'sigmoid', 'leakyRelu', 'linear'] as const)[seed % 5]!;
        const layers: RefLayer[] = [{ units, activation: hidden, ...(hidden === 'leakyRelu' ? { leakySlope: 0.1 } : {}) }, { units: 3, activation: 'softmax' }];
        const model = modelOn(isa, inputs, layers, seed++);
        const params = model.getWeights().flatMap((l) => [...l.weights, ...l.bias]);
        for (let rows = 1; rows <= 4; rows++) {
          const x = randomArray(r, rows * inputs, 2);
          const want = forwardRef(inputs, layers, params, toRows(x, inputs)).flatMap((p) => p.output);
          expect(maxScaledError(model.predict(x), want), `${units} units, ${inputs} inputs, ${rows} rows`).toBeLessThan(1e-5);
        }
      }
    }
  });

  it.each(ISAS.map((isa) => [isa]))('%s: the 784-256-128-10 model, one row, agrees with the batch (GEMM) path and with normalisation', (isa) => {
    const layers: RefLayer[] = [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: 10, activation: 'softmax' }];
    const model = modelOn(isa, 784, layers, 3);
    const r = rng(12);
    model.native.setNormalization(randomArray(r, 784, 1), Float32Array.from({ length: 784 }, () => 0.5 + r()));
    const x = randomArray(r, 8 * 784, 2);
    const batch = model.predict(x); // 8 rows: the general path
    for (let row = 0; row < 8; row++) {
      const one = model.predict(x.subarray(row * 784, (row + 1) * 784));
      expect(maxScaledError(one, batch.subarray(row * 10, (row + 1) * 10))).toBeLessThan(1e-5);
    }
  });
});

describe('predict on the serving path', () => {
  const model = new MLP({ inputs: 4, layers: [{ units: 8, activation: 'tanh' }, { units: 2, activation: 'sigmoid' }], seed: 5 });

  it('a Float32Array holding NaN or Infinity is refused natively with the same message as number[][]', () => {
    expect(() => model.predict(new Float32Array([0, 1, 2, 3, 4, 5, NaN, 7]))).toThrow(/^x\[1\]\[2\] is NaN; data must be finite/);
    expect(() => model.predict(new Float32Array([Infinity, 1, 2, 3]))).toThrow(RangeError);
    expect(() => model.predict(new Float32Array([0, 1, 2, -Infinity]))).toThrow(/x\[0\]\[3\] is -Infinity/);
    expect(() => model.predict([[0, 1, NaN, 3]])).toThrow(/x\[0\]\[2\] is NaN/);
    expect(() => model.predict(new Float32Array(5))).toThrow(/not a multiple of 4/);
    return expect(model.predictAsync(new Float32Array([0, 1, 2, NaN]))).rejects.toThrow(/x\[0\]\[3\] is NaN/);
  });

  it('into may be the input array itself', () => {
    const sq = new MLP({ inputs: 3, layers: [{ units: 3, activation: 'tanh' }], seed: 2 });
    const x = new Float32Array([0.5, -1, 2]);
    const want = sq.predict(x);
    expect(sq.predict(x, { into: x })).toBe(x);
    expect(x).toEqual(want);
  });

  it('allocates no ArrayBuffer per call with `into`', () => {
    const big = new MLP({ inputs: 784, layers: [{ units: 256, activation: 'relu' }, { units: 10, activation: 'softmax' }], seed: 1 });
    const x = randomArray(rng(3), 784);
    const into = new Float32Array(10);
    for (let i = 0; i < 100; i++) big.predict(x, { into });
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 20_000; i++) big.predict(x, { into });
    // A new Float32Array per call would be 20,000 x (40 bytes + header) before any GC.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024);
  });

  it('a big predictAsync batch does not hold up predict on the JS thread (it runs on a snapshot of the weights)', async () => {
    const shared = new MLP({ inputs: 256, layers: [{ units: 256, activation: 'relu' }, { units: 4, activation: 'softmax' }], seed: 9 });
    const r = rng(6);
    const one = randomArray(r, 256);
    const want = shared.predict(one);
    // Size the batch to take about 300 ms here, whatever the GEMM's speed.
    const probe = randomArray(r, 64 * 256);
    let t0 = performance.now();
    shared.predict(probe);
    const perRow = (performance.now() - t0) / 64;
    const rows = Math.max(64, Math.min(2_000_000, Math.round(300 / Math.max(perRow, 1e-4))));
    const batch = randomArray(r, rows * 256);
    let done = false;
    const pending = shared.predictAsync(batch).then((y) => {
      done = true;
      return y;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    let slowest = 0;
    let during = 0;
    for (let i = 0; i < 20 && !done; i++) {
      t0 = performance.now();
      expect(shared.predict(one)).toEqual(want);
      slowest = Math.max(slowest, performance.now() - t0);
      during++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const y = await pending;
    expect(y.length).toBe(rows * 4);
    expect(during).toBeGreaterThan(0);
    // Waiting for the batch would take up to ~300 ms; a snapshot copy takes microseconds.
    expect(slowest).toBeLessThan(100);
  });

  it('one model shared by concurrent requests: interleaved predict and predictAsync all get their own answers', async () => {
    const shared = new MLP({ inputs: 32, layers: [{ units: 64, activation: 'relu' }, { units: 5, activation: 'softmax' }], seed: 8 });
    const r = rng(4);
    const inputs = Array.from({ length: 40 }, (_, i) => randomArray(r, (1 + (i % 7) * 50) * 32, 2));
    const expected = inputs.map((x) => shared.predict(x));
    const results = await Promise.all(
      inputs.map(async (x, i) => {
        if (i % 3 === 0) return shared.predict(x);
        return shared.predictAsync(x);
      }),
    );
    results.forEach((got, i) => expect(got).toEqual(expected[i]));
  });
});
