// Float64 reference implementations for the tests: plain loops, written for clarity, with
// nothing shared with the native code. Every native kernel and pass is checked against these.
import type { ActivationName, LossName } from '../../lib/types.js';

export type Rng = () => number;

/** Deterministic uniform [0, 1) generator (mulberry32) so failing cases can be replayed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(r: Rng, n: number, scale = 1, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale + offset;
  return out;
}

export function activate(f: ActivationName, z: number, slope = 0.01): number {
  switch (f) {
    case 'linear':
      return z;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    case 'tanh':
      return Math.tanh(z);
    case 'relu':
      return z > 0 ? z : 0;
    case 'leakyRelu':
      return z > 0 ? z : slope * z;
    case 'softmax':
      throw new Error('softmax is a row operation');
  }
}

/** f'(z) computed from z directly (not through the output), as an independent check. */
export function derivative(f: ActivationName, z: number, slope = 0.01): number {
  switch (f) {
    case 'linear':
      return 1;
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-z));
      return s * (1 - s);
    }
    case 'tanh':
      return 1 - Math.tanh(z) ** 2;
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'leakyRelu':
      return z > 0 ? 1 : slope;
    case 'softmax':
      throw new Error('softmax is a row operation');
  }
}

export function softmaxRow(z: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) max = Math.max(max, z[i]!);
  const e = Array.from({ length: z.length }, (_, i) => Math.exp(z[i]! - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** C = alpha * op(A) op(B) + beta * C in float64; returns a new array (ldc layout kept). */
export function gemmRef(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: ArrayLike<number>,
  lda: number,
  b: ArrayLike<number>,
  ldb: number,
  beta: number,
  c: ArrayLike<number>,
  ldc: number,
): Float64Array {
  const out = Float64Array.from(c);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i]! : a[i * lda + p]!;
        const bv = transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        acc += av * bv;
      }
      out[i * ldc + j] = beta === 0 ? alpha * acc : alpha * acc + beta * c[i * ldc + j]!;
    }
  }
  return out;
}

export interface RefLayer {
  units: number;
  activation: ActivationName;
  leakySlope?: number;
}

/** Splits a parameter slab into per-layer float64 weights [fanIn][units] and biases. */
export function unpack(inputs: number, layers: RefLayer[], params: ArrayLike<number>) {
  const out: { w: number[][]; b: number[] }[] = [];
  let offset = 0;
  let fanIn = inputs;
  for (const layer of layers) {
    const w: number[][] = [];
    for (let i = 0; i < fanIn; i++) {
      w.push(Array.from({ length: layer.units }, (_, j) => params[offset + i * layer.units + j]!));
    }
    offset += fanIn * layer.units;
    const b = Array.from({ length: layer.units }, (_, j) => params[offset + j]!);
    offset += layer.units;
    out.push({ w, b });
    fanIn = layer.units;
  }
  return out;
}

/** Forward pass in float64. Returns every layer's pre-activation and activation per row. */
export function forwardRef(inputs: number, layers: RefLayer[], params: ArrayLike<number>, x: number[][]) {
  const weights = unpack(inputs, layers, params);
  return x.map((row) => {
    let a = row.slice();
    const zs: number[][] = [];
    const as: number[][] = [];
    layers.forEach((layer, l) => {
      const { w, b } = weights[l]!;
      const z = b.map((bias, j) => a.reduce((acc, v, i) => acc + v * w[i]![j]!, bias));
      a = layer.activation === 'softmax' ? softmaxRow(z) : z.map((v) => activate(layer.activation, v, layer.leakySlope));
      zs.push(z);
      as.push(a);
    });
    return { zs, as, output: a };
  });
}

/** Batch-mean loss in float64, as documented: mean over rows (and outputs for mse / bce). */
export function lossRef(
  loss: LossName,
  inputs: number,
  layers: RefLayer[],
  params: ArrayLike<number>,
  x: number[][],
  y: number[][] | number[],
): number {
  const passes = forwardRef(inputs, layers, params, x);
  let total = 0;
  passes.forEach(({ zs, output }, r) => {
    const last = zs[zs.length - 1]!;
    if (loss === 'mse') {
      const t = y[r] as number[];
      total += output.reduce((acc, o, j) => acc + (o - t[j]!) ** 2, 0) / output.length;
    } else if (loss === 'binaryCrossEntropy') {
      const t = y[r] as number[];
      // Stable log-sigmoid form on the logits, as the native side uses.
      total +=
        last.reduce((acc, z, j) => acc + Math.max(z, 0) - z * t[j]! + Math.log1p(Math.exp(-Math.abs(z))), 0) /
        last.length;
    } else {
      const max = Math.max(...last);
      const lse = max + Math.log(last.reduce((acc, z) => acc + Math.exp(z - max), 0));
      const target = y[r]!;
      if (typeof target === 'number') total += lse - last[target]!;
      else total += target.reduce((acc, t, j) => acc + t * (lse - last[j]!), 0);
    }
  });
  return total / x.length;
}

/** Central finite differences of lossRef with respect to every parameter, in float64. */
export function numericGradients(
  loss: LossName,
  inputs: number,
  layers: RefLayer[],
  params: ArrayLike<number>,
  x: number[][],
  y: number[][] | number[],
  h = 1e-6,
): Float64Array {
  const p = Float64Array.from(params);
  const grads = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const saved = p[i]!;
    p[i] = saved + h;
    const up = lossRef(loss, inputs, layers, p, x, y);
    p[i] = saved - h;
    const down = lossRef(loss, inputs, layers, p, x, y);
    p[i] = saved;
    grads[i] = (up - down) / (2 * h);
  }
  return grads;
}

/** Largest |a - b| / max(|b|, floor) over two arrays: a relative error with an absolute floor. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor);
    if (!(err <= worst)) worst = err; // NaN propagates as the worst
  }
  return worst;
}

export function toRows(flat: ArrayLike<number>, cols: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < flat.length; i += cols) rows.push(Array.from({ length: cols }, (_, j) => flat[i + j]!));
  return rows;
}

/** f'(z) written through y = f(z), evaluated in float64 on a (float32) y. */
export function derivativeFromOutput(f: ActivationName, y: number, slope = 0.01): number {
  switch (f) {
    case 'linear':
      return 1;
    case 'sigmoid':
      return y * (1 - y);
    case 'tanh':
      return 1 - y * y;
    case 'relu':
      return y > 0 ? 1 : 0;
    case 'leakyRelu':
      return y > 0 ? 1 : slope;
    case 'softmax':
      throw new Error('softmax is a row operation');
  }
}

/**
 * Largest |a - b| relative to max(|b_i|, rms(b)): a relative error that, for entries much
 * smaller than the rest (cancellation in a dot product), is measured against the output's scale.
 */
export function maxScaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sq = 0;
  for (let i = 0; i < b.length; i++) sq += b[i]! * b[i]!;
  const rms = Math.sqrt(sq / Math.max(b.length, 1));
  return maxRelativeError(a, b, Math.max(rms, 1e-30));
}
