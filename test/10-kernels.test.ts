import { describe, expect, it } from 'vitest';

import { activate, derivative, derivativeFromOutput, gemmRef, maxRelativeError, randomArray, rng, softmaxRow } from './helpers/reference.js';
import { ACTIVATION_CODES, ISAS, LOSS_CODES, testing } from './helpers/native.js';

const ELEMENTWISE = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const;
const SIZES = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 255, 257, 1000];

describe.each(ISAS)('element-wise kernels (%s)', (isa) => {
  it.each(ELEMENTWISE)('%s forward matches the float64 reference', (name) => {
    const r = rng(11);
    for (const n of SIZES) {
      // Wide range, so the exp-based activations see their saturated tails too.
      const x = randomArray(r, n, 12);
      const slope = name === 'leakyRelu' ? 0.05 : 0.01;
      const y = testing.activationForward(isa, ACTIVATION_CODES[name], slope, x);
      const want = Array.from(x, (v) => activate(name, v, slope));
      expect(maxRelativeError(y, want, 1e-3)).toBeLessThan(2e-6);
    }
  });

  it.each(ELEMENTWISE)('%s backward matches the derivative of the reference', (name) => {
    const r = rng(12);
    for (const n of SIZES) {
      const z = randomArray(r, n, 4);
      const dy = randomArray(r, n, 2);
      const slope = 0.2;
      const y = Float32Array.from(z, (v) => activate(name, v, slope));
      const dx = testing.activationBackward(isa, ACTIVATION_CODES[name], slope, y, dy);
      // The kernel's formula, in float64 on the same float32 outputs: only rounding may differ.
      const exact = Array.from(y, (v, i) => dy[i]! * derivativeFromOutput(name, v, slope));
      expect(maxRelativeError(dx, exact, 1)).toBeLessThan(1e-6);
      // And the true derivative at z, up to what the float32 output y can resolve.
      const truth = Array.from(z, (v, i) => dy[i]! * derivative(name, v, slope));
      expect(maxRelativeError(dx, truth, 1)).toBeLessThan(1e-6 * 8);
    }
  });

  it('softmax rows are stable and match the reference', () => {
    const r = rng(13);
    for (const [rows, cols] of [[1, 1], [1, 3], [3, 17], [17, 3], [5, 255], [2, 1000]] as const) {
      const z = randomArray(r, rows * cols, 60); // logits up to +-60: exp would overflow without max-subtraction
      const y = testing.softmaxRows(isa, z, rows, cols);
      const want: number[] = [];
      for (let i = 0; i < rows; i++) want.push(...softmaxRow(z.subarray(i * cols, (i + 1) * cols)));
      expect(maxRelativeError(y, want, 1e-6)).toBeLessThan(1e-5);
    }
  });

  it('column sums and sums of squares match the reference', () => {
    const r = rng(14);
    for (const [rows, cols] of [[1, 1], [3, 17], [255, 3], [17, 255]] as const) {
      const x = randomArray(r, rows * cols, 3);
      const sums = testing.columnSums(isa, x, rows, cols);
      const want = Array.from({ length: cols }, (_, c) => {
        let s = 0;
        for (let i = 0; i < rows; i++) s += x[i * cols + c]!;
        return s;
      });
      expect(maxRelativeError(sums, want, 1)).toBeLessThan(1e-5);
      const sq = testing.sumSquares(isa, x);
      expect(Math.abs(sq - x.reduce((a, v) => a + v * v, 0)) / sq).toBeLessThan(1e-6);
    }
  });

  describe('loss kernels', () => {
    const shapes = [[1, 1], [3, 1], [17, 3], [7, 17], [255, 2]] as const;

    it('mse: loss (mean over outputs per row) and gradient 2(o - t) * scale', () => {
      const r = rng(15);
      for (const [rows, cols] of shapes) {
        const out = randomArray(r, rows * cols, 3);
        const y = randomArray(r, rows * cols, 3);
        const scale = 1 / (rows * cols);
        const res = testing.lossAndGrad(isa, LOSS_CODES.mse, out, rows, cols, y, null, scale);
        let loss = 0;
        let sq = 0;
        const grad = Array.from(out, (o, i) => 2 * (o - y[i]!) * scale);
        for (let i = 0; i < rows; i++) {
          let row = 0;
          for (let j = 0; j < cols; j++) row += (out[i * cols + j]! - y[i * cols + j]!) ** 2;
          sq += row;
          loss += row / cols;
        }
        expect(Math.abs(res.loss - loss) / loss).toBeLessThan(1e-5);
        expect(Math.abs(res.squaredError - sq) / sq).toBeLessThan(1e-5);
        expect(maxRelativeError(res.grad, grad, 1e-4)).toBeLessThan(1e-5);
      }
    });

    it('binary cross-entropy from logits: stable loss, sigmoid(z) - t gradient, accuracy', () => {
      const r = rng(16);
      for (const [rows, cols] of shapes) {
        const z = randomArray(r, rows * cols, 40); // large logits: log(sigmoid) would underflow naively
        const t = Float32Array.from({ length: rows * cols }, () => (r() < 0.5 ? 0 : 1));
        const scale = 1 / (rows * cols);
        const res = testing.lossAndGrad(isa, LOSS_CODES.binaryCrossEntropy, z, rows, cols, t, null, scale);
        let loss = 0;
        let correct = 0;
        for (let i = 0; i < rows; i++) {
          let row = 0;
          for (let j = 0; j < cols; j++) {
            const v = z[i * cols + j]!;
            const y = t[i * cols + j]!;
            row += Math.max(v, 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
            correct += (v >= 0) === (y >= 0.5) ? 1 : 0;
          }
          loss += row / cols;
        }
        const grad = Array.from(z, (v, i) => (1 / (1 + Math.exp(-v)) - t[i]!) * scale);
        expect(Number.isFinite(res.loss)).toBe(true);
        expect(Math.abs(res.loss - loss) / Math.max(loss, 1e-3)).toBeLessThan(1e-5);
        expect(res.correct).toBe(correct);
        expect(maxRelativeError(res.grad, grad, 1e-2 * scale)).toBeLessThan(1e-5);
      }
    });

    it('cross-entropy from logits with integer labels and with soft targets', () => {
      const r = rng(17);
      for (const [rows, cols] of [[1, 2], [3, 3], [17, 10], [7, 17], [255, 5]] as const) {
        const z = randomArray(r, rows * cols, 30);
        const labels = Int32Array.from({ length: rows }, () => Math.floor(r() * cols));
        const soft = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += soft[i * cols + j] = r();
          for (let j = 0; j < cols; j++) soft[i * cols + j]! /= s;
        }
        const scale = 1 / rows;
        const hard = testing.lossAndGrad(isa, LOSS_CODES.crossEntropy, z, rows, cols, null, labels, scale);
        const smooth = testing.lossAndGrad(isa, LOSS_CODES.crossEntropy, z, rows, cols, soft, null, scale);
        let hardLoss = 0;
        let softLoss = 0;
        let correct = 0;
        const hardGrad: number[] = [];
        const softGrad: number[] = [];
        for (let i = 0; i < rows; i++) {
          const row = Array.from(z.subarray(i * cols, (i + 1) * cols));
          const p = softmaxRow(row);
          const max = Math.max(...row);
          const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
          hardLoss += lse - row[labels[i]!]!;
          correct += row.indexOf(max) === labels[i] ? 1 : 0;
          for (let j = 0; j < cols; j++) {
            const t = soft[i * cols + j]!;
            softLoss += t * (lse - row[j]!);
            hardGrad.push((p[j]! - (j === labels[i] ? 1 : 0)) * scale);
            softGrad.push((p[j]! - t) * scale);
          }
        }
        expect(Math.abs(hard.loss - hardLoss) / Math.max(hardLoss, 1e-3)).toBeLessThan(1e-5);
        expect(Math.abs(smooth.loss - softLoss) / Math.max(softLoss, 1e-3)).toBeLessThan(1e-5);
        expect(hard.correct).toBe(correct);
        expect(maxRelativeError(hard.grad, hardGrad, 1e-2 * scale)).toBeLessThan(1e-5);
        expect(maxRelativeError(smooth.grad, softGrad, 1e-2 * scale)).toBeLessThan(1e-5);
      }
    });
  });
});

describe.each(ISAS)('sgemm (%s)', (isa) => {
  const cases: [number, number, number][] = [];
  for (const m of [1, 3, 17]) for (const n of [1, 7, 33]) for (const k of [1, 16, 65]) cases.push([m, n, k]);
  cases.push([255, 3, 17], [3, 255, 17], [64, 64, 64], [257, 31, 15], [128, 10, 128]);

  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} matches float64 on edge shapes, alpha/beta, padded leading dims`, () => {
      const r = rng(21);
      for (const [m, n, k] of cases) {
        const pad = (m + n + k) % 3; // some cases with ld > width
        const [aRows, aCols] = transA ? [k, m] : [m, k];
        const [bRows, bCols] = transB ? [n, k] : [k, n];
        const lda = aCols + pad;
        const ldb = bCols + pad;
        const ldc = n + pad;
        const a = randomArray(r, (aRows - 1) * lda + aCols);
        const b = randomArray(r, (bRows - 1) * ldb + bCols);
        const c = randomArray(r, (m - 1) * ldc + n);
        for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]] as const) {
          const got = testing.sgemm(isa, 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null);
          const want = gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
          // Error bound of a float32 dot product of length k, relative to the magnitudes summed.
          expect(maxRelativeError(got, want, 1)).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
          // Padding between rows is never written.
          for (let i = 0; i < m - 1; i++) {
            for (let j = n; j < ldc; j++) expect(got[i * ldc + j]).toBe(c[i * ldc + j]);
          }
        }
      }
    });
  }

  it('beta = 0 never reads C (NaN in C does not leak)', () => {
    const r = rng(22);
    const [m, n, k] = [17, 33, 9];
    const a = randomArray(r, m * k);
    const b = randomArray(r, k * n);
    const c = new Float32Array(m * n).fill(NaN);
    const got = testing.sgemm(isa, 1, false, false, m, n, k, 1, a, k, b, n, 0, c, n, null);
    expect(got.every(Number.isFinite)).toBe(true);
  });

  it.each(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const)(
    'fused bias + %s epilogue equals activation(A*B + bias)',
    (name) => {
      const r = rng(23);
      for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [33, 65, 17], [128, 10, 31]] as const) {
        const a = randomArray(r, m * k);
        const b = randomArray(r, k * n);
        const bias = randomArray(r, n);
        const c = new Float32Array(m * n);
        const got = testing.sgemm(isa, 1, false, false, m, n, k, 1, a, k, b, n, 0, c, n, {
          kind: 1, activation: ACTIVATION_CODES[name], slope: 0.1, bias,
        });
        const z = gemmRef(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
        const want = Array.from(z, (v, i) => activate(name, v + bias[i % n]!, 0.1));
        // f is 1-Lipschitz here, so the GEMM's float32 error bound carries over.
        expect(maxRelativeError(got, want, 1)).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
      }
    },
  );

  it.each(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const)(
    'fused %s derivative epilogue equals (A*B^T) * f\'(Y)',
    (name) => {
      const r = rng(24);
      for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [33, 65, 17], [128, 255, 10]] as const) {
        const a = randomArray(r, m * k);
        const b = randomArray(r, n * k);
        const z = randomArray(r, m * n, 3);
        const y = Float32Array.from(z, (v) => activate(name, v, 0.1));
        const c = new Float32Array(m * n);
        const got = testing.sgemm(isa, 1, false, true, m, n, k, 1, a, k, b, k, 0, c, n, {
          kind: 2, activation: ACTIVATION_CODES[name], slope: 0.1, actOutput: y, ldActOutput: n,
        });
        const prod = gemmRef(false, true, m, n, k, 1, a, k, b, k, 0, c, n);
        const want = Array.from(prod, (v, i) => v * derivativeFromOutput(name, y[i]!, 0.1));
        expect(maxRelativeError(got, want, 1)).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
      }
    },
  );
});
