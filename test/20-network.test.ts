// The network's forward pass and gradients against the float64 reference: every activation
// in hidden and output position, every loss, random shapes including tiny and odd ones.
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { ActivationName, LossName } from '../lib/types.js';
import { LOSS_CODES } from './helpers/native.js';
import {
  forwardRef,
  lossRef,
  maxRelativeError,
  maxScaledError,
  numericGradients,
  randomArray,
  rng,
  toRows,
  type RefLayer,
} from './helpers/reference.js';

const HIDDEN: ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'];

function targetsFor(loss: LossName, r: () => number, rows: number, outputs: number): number[][] {
  return Array.from({ length: rows }, () => {
    if (loss === 'mse') return Array.from({ length: outputs }, () => r() * 4 - 2);
    if (loss === 'binaryCrossEntropy') return Array.from({ length: outputs }, () => (r() < 0.5 ? 0 : 1));
    const hot = Math.floor(r() * outputs);
    return Array.from({ length: outputs }, (_, j) => (j === hot ? 1 : 0));
  });
}

const outputFor: Record<LossName, ActivationName[]> = {
  mse: ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'],
  binaryCrossEntropy: ['sigmoid'],
  crossEntropy: ['softmax'],
};

describe('forward pass', () => {
  it.each([...HIDDEN, 'softmax'] as ActivationName[])('output %s matches float64 on random shapes', (out) => {
    const r = rng(31);
    for (const [inputs, hidden, outputs, rows] of [
      [1, 1, 1, 1], [3, 17, 2, 5], [17, 3, 7, 3], [2, 255, 3, 9], [64, 33, 10, 17],
    ] as const) {
      for (const hiddenAct of HIDDEN) {
        const layers: RefLayer[] = [
          { units: hidden, activation: hiddenAct, ...(hiddenAct === 'leakyRelu' ? { leakySlope: 0.07 } : {}) },
          { units: out === 'softmax' && outputs === 1 ? 2 : outputs, activation: out },
        ];
        const model = new MLP({ inputs, layers, seed: 5 });
        const x = toRows(randomArray(r, rows * inputs, 2), inputs);
        const got = model.predict(x);
        const params = model.getWeights().flatMap((l) => [...l.weights, ...l.bias]);
        const want = forwardRef(inputs, layers, params, x).flatMap((p) => p.output);
        // Relative error; entries far below the output's scale (cancellation) count against that scale.
        expect(maxScaledError(got, want)).toBeLessThan(1e-5);
      }
    }
  });

  it('a deep stack (8 layers) matches float64', () => {
    const r = rng(32);
    const layers: RefLayer[] = [
      { units: 9, activation: 'tanh' }, { units: 15, activation: 'relu' }, { units: 4, activation: 'sigmoid' },
      { units: 31, activation: 'leakyRelu' }, { units: 2, activation: 'linear' }, { units: 7, activation: 'tanh' },
      { units: 16, activation: 'relu' }, { units: 5, activation: 'softmax' },
    ];
    const model = new MLP({ inputs: 6, layers, seed: 9 });
    const x = toRows(randomArray(r, 13 * 6, 1.5), 6);
    const params = model.getWeights().flatMap((l) => [...l.weights, ...l.bias]);
    const want = forwardRef(6, layers, params, x).flatMap((p) => p.output);
    expect(maxScaledError(model.predict(x), want)).toBeLessThan(1e-5);
  });
});

describe('gradients match central finite differences in float64', () => {
  for (const loss of ['mse', 'binaryCrossEntropy', 'crossEntropy'] as LossName[]) {
    for (const out of outputFor[loss]) {
      it.each(HIDDEN)(`${loss}, ${out} output, %s hidden layers`, (hidden) => {
        const r = rng(41 + HIDDEN.indexOf(hidden));
        for (const [inputs, h1, h2, outputs, rows] of [
          [1, 1, 1, 1, 1], [3, 5, 4, 2, 7], [4, 17, 3, 3, 5],
        ] as const) {
          const outUnits = out === 'softmax' ? Math.max(outputs, 2) : outputs;
          const layers: RefLayer[] = [
            { units: h1, activation: hidden, ...(hidden === 'leakyRelu' ? { leakySlope: 0.1 } : {}) },
            { units: h2, activation: hidden, ...(hidden === 'leakyRelu' ? { leakySlope: 0.1 } : {}) },
            { units: outUnits, activation: out },
          ];
          const model = new MLP({ inputs, layers, seed: 3 });
          // Random (not initialised) weights of a moderate size, so every unit is in play.
          model.setWeights(
            model.getWeights().map((l) => ({ ...l, weights: randomArray(r, l.weights.length, 0.8), bias: randomArray(r, l.bias.length, 0.3) })),
          );
          const xFlat = randomArray(r, rows * inputs, 1.5);
          const x = toRows(xFlat, inputs);
          const y = targetsFor(loss, r, rows, outUnits);
          const params = model.getWeights().flatMap((l) => [...l.weights, ...l.bias]);
          const yFlat = Float32Array.from(y.flat());
          const { loss: nativeLoss, grads } = model.native.lossAndGradients(xFlat, rows, yFlat, null, LOSS_CODES[loss]);
          const refLoss = lossRef(loss, inputs, layers, params, x, y);
          expect(Math.abs(nativeLoss - refLoss) / Math.max(Math.abs(refLoss), 1e-3)).toBeLessThan(1e-5);
          const numeric = numericGradients(loss, inputs, layers, params, x, y);
          // ReLU kinks: a finite difference across z = 0 is meaningless; random data avoids it
          // with overwhelming probability, and a wrong gradient is off by far more than 1e-3.
          expect(maxRelativeError(grads, numeric, 1e-2)).toBeLessThan(1e-3);
        }
      });
    }
  }

  it('crossEntropy with integer labels equals crossEntropy with one-hot rows', () => {
    const r = rng(51);
    const model = new MLP({ inputs: 5, layers: [{ units: 8, activation: 'tanh' }, { units: 4, activation: 'softmax' }], seed: 1 });
    const rows = 9;
    const x = randomArray(r, rows * 5);
    const labels = Int32Array.from({ length: rows }, () => Math.floor(r() * 4));
    const oneHot = new Float32Array(rows * 4);
    labels.forEach((c, i) => (oneHot[i * 4 + c] = 1));
    const a = model.native.lossAndGradients(x, rows, null, labels, LOSS_CODES.crossEntropy);
    const b = model.native.lossAndGradients(x, rows, oneHot, null, LOSS_CODES.crossEntropy);
    expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    expect(maxRelativeError(a.grads, b.grads, 1e-4)).toBeLessThan(1e-5);
  });
});

describe('initialisation', () => {
  it('is seeded: same seed same weights, other seed other weights', () => {
    const spec = { inputs: 4, layers: [{ units: 16, activation: 'relu' as const }, { units: 3, activation: 'softmax' as const }] };
    const a = new MLP({ ...spec, seed: 42 }).getWeights();
    const b = new MLP({ ...spec, seed: 42 }).getWeights();
    const c = new MLP({ ...spec, seed: 43 }).getWeights();
    expect(a).toEqual(b);
    expect(a[0]!.weights).not.toEqual(c[0]!.weights);
  });

  it('uses He scaling for ReLU layers and Glorot for tanh layers, with zero biases', () => {
    const fanIn = 400;
    const units = 300;
    const model = new MLP({
      inputs: fanIn,
      layers: [{ units, activation: 'relu' }, { units, activation: 'tanh' }],
      seed: 7,
    });
    const [relu, tanh] = model.getWeights();
    const variance = (w: Float32Array) => w.reduce((a, v) => a + v * v, 0) / w.length;
    // He normal: var = 2 / fanIn. Glorot uniform: var = 2 / (fanIn + fanOut).
    expect(variance(relu!.weights)).toBeCloseTo(2 / fanIn, 3);
    expect(variance(tanh!.weights)).toBeCloseTo(2 / (units + units), 3);
    expect(Math.max(...tanh!.weights.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (units + units)));
    expect(relu!.bias.every((b) => b === 0)).toBe(true);
  });

  it.each([
    ['glorotUniform', 2 / (300 + 200), true],
    ['glorotNormal', 2 / (300 + 200), false],
    ['heUniform', 2 / 300, true],
    ['heNormal', 2 / 300, false],
  ] as const)('init %s has the variance of its scheme', (init, variance, uniform) => {
    const model = new MLP({ inputs: 300, layers: [{ units: 200, activation: 'relu', init }], seed: 3 });
    const w = model.getWeights()[0]!.weights;
    const v = w.reduce((a, x) => a + x * x, 0) / w.length;
    expect(v / variance).toBeGreaterThan(0.97);
    expect(v / variance).toBeLessThan(1.03);
    const max = Math.max(...w.map(Math.abs));
    // Uniform draws stay within sqrt(3 variance); normal ones exceed it (about 8% of them do).
    if (uniform) expect(max).toBeLessThanOrEqual(Math.sqrt(3 * variance));
    else expect(max).toBeGreaterThan(Math.sqrt(3 * variance));
  });
});
