import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

const PATHS = { auto: 0, packed: 1, unpacked: 2, transposed: 3 } as const;
const PATH_NAMES = Object.keys(PATHS) as (keyof typeof PATHS)[];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;
const opName = (ta: boolean, tb: boolean) => `${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;

/** op(A) op(B) in float64 (m x n, dense). */
function productRef(
  ta: boolean, tb: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number,
): Float64Array {
  const c = new Float32Array((m - 1) * n + n);
  return gemmRef(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n);
}

interface GemmCase { m: number; n: number; k: number; pad: number }

// Every size of the list in every dimension, plus tall, wide, k = 1, k across two
// KC blocks (KC = 256), m across MC blocks, n across the portable NC (2048), and the
// classifier layer's shapes.
const EDGE = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 255, 257];
const GEMM_CASES: GemmCase[] = [
  ...EDGE.map((m, i) => ({ m, n: EDGE[(i + 4) % EDGE.length]!, k: EDGE[(i + 9) % EDGE.length]!, pad: i % 3 })),
  { m: 1000, n: 7, k: 33, pad: 5 }, // tall
  { m: 5, n: 1000, k: 17, pad: 0 }, // wide
  { m: 3, n: 2100, k: 5, pad: 1 }, // wider than the portable NC
  { m: 65, n: 33, k: 1, pad: 2 }, // k = 1
  { m: 17, n: 40, k: 600, pad: 1 }, // three KC blocks
  { m: 300, n: 20, k: 40, pad: 0 }, // more rows than MC
  { m: 128, n: 10, k: 128, pad: 0 }, // classifier layer: fwd / bwdW
  { m: 128, n: 128, k: 10, pad: 3 }, // classifier layer: bwdX
];

describe('sgemm against float64: every ISA, every path, every edge', () => {
  for (const [transA, transB] of TRANSPOSES) {
    it(`${opName(transA, transB)}: edge shapes, alpha/beta, ld > width, C padding untouched`, () => {
      const r = rng(21);
      for (const { m, n, k, pad } of GEMM_CASES) {
        const [aRows, aCols] = transA ? [k, m] : [m, k];
        const [bRows, bCols] = transB ? [n, k] : [k, n];
        const lda = aCols + pad;
        const ldb = bCols + pad;
        const ldc = n + pad;
        const a = randomArray(r, (aRows - 1) * lda + aCols);
        const b = randomArray(r, (bRows - 1) * ldb + bCols);
        const c = randomArray(r, (m - 1) * ldc + n);
        const ab = productRef(transA, transB, m, n, k, a, lda, b, ldb);
        // Error bound of a float32 dot product of length k, relative to the magnitudes summed.
        const tol = 2e-6 * Math.sqrt(k) + 1e-6;
        for (const [alpha, beta] of [[1, 0], [0.5, 1], [-1.5, 0.25]] as const) {
          const want = new Float64Array(c);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const v = alpha * ab[i * n + j]!;
              want[i * ldc + j] = beta === 0 ? v : v + beta * c[i * ldc + j]!;
            }
          }
          for (const isa of ISAS) {
            for (const path of PATH_NAMES) {
              const got = testing.sgemm(isa, 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null, PATHS[path]);
              const err = maxRelativeError(got, want, 1); // includes the padding: it must be untouched
              if (!(err < tol)) {
                throw new Error(`${isa}/${path} ${opName(transA, transB)} m=${m} n=${n} k=${k} pad=${pad} alpha=${alpha} beta=${beta}: error ${err}`);
              }
            }
          }
        }
      }
    });
  }

  it('alpha = 0 reads neither A nor B (NaN there does not leak); C = beta * C', () => {
    const r = rng(25);
    const [m, n, k] = [17, 33, 9];
    const a = new Float32Array(m * k).fill(NaN);
    const b = new Float32Array(k * n).fill(NaN);
    const c = randomArray(r, m * n);
    for (const isa of ISAS) {
      for (const path of PATH_NAMES) {
        const got = testing.sgemm(isa, 1, false, false, m, n, k, 0, a, k, b, n, 0.5, c, n, null, PATHS[path]);
        expect(maxRelativeError(got, Array.from(c, (v) => 0.5 * v), 1)).toBe(0);
      }
    }
  });

  it('beta = 0 never reads C (NaN in C does not leak)', () => {
    const r = rng(22);
    for (const [m, n, k] of [[17, 33, 9], [300, 70, 300], [128, 10, 64]] as const) {
      const a = randomArray(r, m * k);
      const b = randomArray(r, k * n);
      const at = randomArray(r, k * m);
      const c = new Float32Array(m * n).fill(NaN);
      for (const isa of ISAS) {
        for (const path of PATH_NAMES) {
          expect(testing.sgemm(isa, 1, false, false, m, n, k, 1, a, k, b, n, 0, c, n, null, PATHS[path]).every(Number.isFinite)).toBe(true);
          expect(testing.sgemm(isa, 1, true, false, m, n, k, 1, at, m, b, n, 0, c, n, null, PATHS[path]).every(Number.isFinite)).toBe(true);
        }
      }
    }
  });
});

describe('sgemm determinism', () => {
  // Big enough that 2 and 3 threads really split the product (over 1 MFLOP per part).
  const shapes = [[200, 300, 100], [257, 65, 300], [64, 700, 50], [500, 10, 128], [31, 1000, 70]] as const;
  it.each(ISAS)('%s: bit-identical for 1, 2 and 3 threads and for every path', (isa) => {
    const r = rng(26);
    for (const [m, n, k] of shapes) {
      for (const [transA, transB] of TRANSPOSES.slice(0, 3)) {
        const a = randomArray(r, m * k);
        const b = randomArray(r, k * n);
        const c = randomArray(r, m * n);
        const lda = transA ? m : k;
        const ldb = transB ? k : n;
        const bias = randomArray(r, n);
        const epilogue = { kind: 1, activation: ACTIVATION_CODES.tanh, slope: 0, bias };
        for (const [beta, ep] of [[0, null], [0.5, null], [0, epilogue]] as const) {
          const first = testing.sgemm(isa, 1, transA, transB, m, n, k, 0.75, a, lda, b, ldb, beta, c, n, ep, PATHS.auto);
          for (const threads of [1, 2, 3]) {
            for (const path of PATH_NAMES) {
              const got = testing.sgemm(isa, threads, transA, transB, m, n, k, 0.75, a, lda, b, ldb, beta, c, n, ep, PATHS[path]);
              if (Buffer.compare(Buffer.from(got.buffer), Buffer.from(first.buffer)) !== 0) {
                throw new Error(`${isa} ${opName(transA, transB)} ${m}x${n}x${k} beta=${beta} epilogue=${ep !== null}: ${threads} threads / ${path} differs from 1 thread / auto`);
              }
            }
          }
        }
      }
    }
  });
});

describe('one pool, several callers', () => {
  it.each(ISAS)('%s: trainings sharing a pool stay correct and deterministic (the busy caller runs inline)', (isa) => {
    expect(testing.sharedPoolGemm(isa, 2, 3, 40)).toBe(0);
  });
});

describe.each(ISAS)('sgemm fused epilogues (%s)', (isa) => {
  it.each(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const)(
    'fused bias + %s epilogue equals activation(A*B + bias), every path',
    (name) => {
      const r = rng(23);
      for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [33, 65, 17], [128, 10, 31], [40, 50, 300]] as const) {
        const a = randomArray(r, m * k);
        const b = randomArray(r, k * n);
        const bias = randomArray(r, n);
        const c = new Float32Array(m * n);
        const z = productRef(false, false, m, n, k, a, k, b, n);
        const want = Array.from(z, (v, i) => activate(name, v + bias[i % n]!, 0.1));
        for (const path of PATH_NAMES) {
          const got = testing.sgemm(isa, 1, false, false, m, n, k, 1, a, k, b, n, 0, c, n, {
            kind: 1, activation: ACTIVATION_CODES[name], slope: 0.1, bias,
          }, PATHS[path]);
          // f is 1-Lipschitz here, so the GEMM's float32 error bound carries over.
          expect(maxRelativeError(got, want, 1), path).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
        }
      }
    },
  );

  it.each(['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'] as const)(
    'fused %s derivative epilogue equals (A*B^T) * f\'(Y), every path, padded Y',
    (name) => {
      const r = rng(24);
      for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [33, 65, 17], [128, 255, 10], [20, 40, 300]] as const) {
        const a = randomArray(r, m * k);
        const b = randomArray(r, n * k);
        const ldy = n + 3;
        const z = randomArray(r, (m - 1) * ldy + n, 3);
        const y = Float32Array.from(z, (v) => activate(name, v, 0.1));
        const c = new Float32Array(m * n);
        const prod = productRef(false, true, m, n, k, a, k, b, k);
        const want = Array.from(prod, (v, i) => v * derivativeFromOutput(name, y[Math.floor(i / n) * ldy + (i % n)]!, 0.1));
        for (const path of PATH_NAMES) {
          const got = testing.sgemm(isa, 1, false, true, m, n, k, 1, a, k, b, k, 0, c, n, {
            kind: 2, activation: ACTIVATION_CODES[name], slope: 0.1, actOutput: y, ldActOutput: ldy,
          }, PATHS[path]);
          expect(maxRelativeError(got, want, 1), path).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
        }
      }
    },
  );
});

describe.each(ISAS)('log-softmax and optimizer kernels (%s)', (isa) => {
  it('log-softmax rows are stable and match the reference', () => {
    const r = rng(31);
    for (const [rows, cols] of [[1, 1], [1, 3], [3, 17], [17, 3], [5, 255], [2, 1000]] as const) {
      const z = randomArray(r, rows * cols, 60);
      const y = testing.logSoftmaxRows(isa, z, rows, cols);
      const want: number[] = [];
      for (let i = 0; i < rows; i++) {
        const row = Array.from(z.subarray(i * cols, (i + 1) * cols));
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
        want.push(...row.map((v) => v - lse));
      }
      // Absolute error relative to the row's scale (log-probabilities near 0 are differences of large numbers).
      expect(maxRelativeError(y, want, 60)).toBeLessThan(1e-6);
    }
  });

  const N = [1, 7, 16, 17, 33, 1000];

  it.each([
    ['plain', { momentum: 0, weightDecay: 0 }],
    ['weight decay', { momentum: 0, weightDecay: 0.01 }],
    ['momentum', { momentum: 0.9, weightDecay: 0.001 }],
    ['nesterov', { momentum: 0.9, weightDecay: 0.001, nesterov: true }],
  ] as const)('sgd (%s) matches the float64 update', (_name, cfg) => {
    const r = rng(32);
    for (const n of N) {
      const p = randomArray(r, n);
      const g = randomArray(r, n);
      const v = randomArray(r, n, 0.1);
      const lr = 0.05;
      const res = testing.optimizerUpdate(isa, 'sgd', p, g, cfg.momentum ? v : null, null, { learningRate: lr, ...cfg });
      const wantP: number[] = [];
      const wantV: number[] = [];
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + cfg.weightDecay * p[i]!;
        if (!cfg.momentum) {
          wantP.push(p[i]! - lr * gi);
        } else {
          const vi = cfg.momentum * v[i]! + gi;
          wantV.push(vi);
          wantP.push(p[i]! - lr * ('nesterov' in cfg ? gi + cfg.momentum * vi : vi));
        }
      }
      expect(maxRelativeError(res.params, wantP, 1)).toBeLessThan(1e-6);
      if (cfg.momentum) expect(maxRelativeError(res.slot0!, wantV, 1)).toBeLessThan(1e-6);
    }
  });

  it.each([['adam', false, 0], ['adam + L2', false, 0.01], ['adamw', true, 0.01]] as const)(
    '%s matches the float64 update',
    (_name, decoupled, weightDecay) => {
      const r = rng(33);
      for (const n of N) {
        const p = randomArray(r, n);
        const g = randomArray(r, n);
        const m0 = randomArray(r, n, 0.1);
        const v0 = Float32Array.from(randomArray(r, n, 0.01), Math.abs);
        const [lr, b1, b2, eps, t] = [1e-3, 0.9, 0.999, 1e-8, 7];
        const stepSize = lr / (1 - b1 ** t);
        const bias2Sqrt = Math.sqrt(1 - b2 ** t);
        const res = testing.optimizerUpdate(isa, 'adam', p, g, m0, v0, {
          learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay, decoupled, stepSize, bias2Sqrt,
        });
        const wantP: number[] = [];
        const wantM: number[] = [];
        const wantV: number[] = [];
        for (let i = 0; i < n; i++) {
          let pi = p[i]!;
          let gi = g[i]!;
          if (decoupled) pi -= lr * weightDecay * pi;
          else gi += weightDecay * pi;
          // The kernel's float32 hyper-parameters (1 - 0.999 is not exact in float32), in float64 arithmetic.
          const mi = Math.fround(b1) * m0[i]! + Math.fround(1 - Math.fround(b1)) * gi;
          const vi = Math.fround(b2) * v0[i]! + Math.fround(1 - Math.fround(b2)) * gi * gi;
          wantM.push(mi);
          wantV.push(vi);
          wantP.push(pi - (stepSize * mi) / (Math.sqrt(vi) / bias2Sqrt + eps));
        }
        expect(maxRelativeError(res.params, wantP, 1)).toBeLessThan(1e-6);
        expect(maxRelativeError(res.slot0!, wantM, 1e-3)).toBeLessThan(1e-5);
        expect(maxRelativeError(res.slot1!, wantV, 1e-5)).toBeLessThan(1e-5);
      }
    },
  );

  it('rmsprop matches the float64 update', () => {
    const r = rng(34);
    for (const n of N) {
      const p = randomArray(r, n);
      const g = randomArray(r, n);
      const sq = Float32Array.from(randomArray(r, n, 0.01), Math.abs);
      const [lr, rho, eps, wd] = [1e-2, 0.99, 1e-8, 0.001];
      const res = testing.optimizerUpdate(isa, 'rmsprop', p, g, sq, null, { learningRate: lr, rho, epsilon: eps, weightDecay: wd });
      const wantP: number[] = [];
      const wantS: number[] = [];
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * p[i]!;
        const si = Math.fround(rho) * sq[i]! + Math.fround(1 - Math.fround(rho)) * gi * gi;
        wantS.push(si);
        wantP.push(p[i]! - (lr * gi) / (Math.sqrt(si) + eps));
      }
      expect(maxRelativeError(res.params, wantP, 1)).toBeLessThan(1e-6);
      expect(maxRelativeError(res.slot0!, wantS, 1e-5)).toBeLessThan(1e-5);
    }
  });
});

describe('kernel selection', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const kernelNameWith = (isa: string | undefined): string => {
    const env = { ...process.env };
    if (isa === undefined) delete env.MLPSTREAM_ISA;
    else env.MLPSTREAM_ISA = isa;
    const out = execFileSync(
      process.execPath,
      ['-e', `const b = require(${JSON.stringify(path.join(root, 'dist/index.cjs'))}); process.stdout.write(b.kernelName())`],
      { env, encoding: 'utf8', cwd: root },
    );
    return out.trim();
  };
  const best = ISAS[ISAS.length - 1]!;

  it('picks the best table the CPU runs, and MLPSTREAM_ISA lowers it (never raises it)', () => {
    expect(kernelNameWith(undefined)).toBe(best);
    expect(kernelNameWith('portable')).toBe('portable');
    if (ISAS.includes('avx2')) expect(kernelNameWith('avx2')).toBe('avx2');
    // Asking for more than the CPU has, or for nonsense, keeps the best supported table.
    expect(kernelNameWith('avx512')).toBe(best);
    expect(kernelNameWith('bogus')).toBe(best);
  });

  // Windows builds detect the CPU with CPUID/XCR0 (cpuid.cc) instead of __builtin_cpu_supports;
  // where the latter is what cpu_supports uses (Linux, macOS), the two must agree.
  it.skipIf(testing.cpuidSupported === undefined)('the CPUID detection agrees with __builtin_cpu_supports', () => {
    for (const isa of ['portable', 'avx2', 'avx512']) {
      expect({ isa, cpuid: testing.cpuidSupported!(isa) }).toEqual({ isa, cpuid: testing.isaSupported(isa) });
    }
    expect(() => testing.cpuidSupported!('sse9')).toThrow(RangeError);
  });

  it('reports every table this build has and the CPU runs', () => {
    expect(ISAS).toContain('portable');
    for (const isa of ISAS) expect(testing.gemmBlocking(isa).mr).toBeGreaterThan(0);
  });
});
