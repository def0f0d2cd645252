// Each optimizer's update against a float64 reference of its published formula (PyTorch's
// conventions), driven by the network's own gradients (which test/20 checks against finite
// differences), and L-BFGS and clipping by what they must achieve.
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics, OptimizerOptions, TrainOptions } from '../lib/types.js';
import { LOSS_CODES } from './helpers/native.js';
import { maxRelativeError, randomArray, rng } from './helpers/reference.js';

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<EpochMetrics[]> {
  const out: EpochMetrics[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

const spec = { inputs: 3, layers: [{ units: 5, activation: 'tanh' as const }, { units: 2, activation: 'linear' as const }], seed: 2 };
const r = rng(61);
const X = randomArray(r, 11 * 3);
const Y = randomArray(r, 11 * 2);

const flat = (m: MLP) => Float64Array.from(m.getWeights().flatMap((l) => [...l.weights, ...l.bias]));
function load(m: MLP, params: ArrayLike<number>) {
  let at = 0;
  m.setWeights(
    m.getWeights().map((l) => {
      const weights = Float32Array.from({ length: l.weights.length }, () => params[at++]!);
      const bias = Float32Array.from({ length: l.bias.length }, () => params[at++]!);
      return { ...l, weights, bias };
    }),
  );
}

/** Runs `steps` full-batch updates with a float64 reference optimizer on the native gradients. */
function reference(steps: number, update: (p: Float64Array, g: Float64Array, t: number) => void): Float64Array {
  const twin = new MLP(spec);
  const p = flat(twin);
  for (let t = 1; t <= steps; t++) {
    load(twin, p);
    const { grads } = twin.native.lossAndGradients(X, 11, Y, null, LOSS_CODES.mse);
    update(p, Float64Array.from(grads), t);
  }
  return p;
}

async function native(optimizer: OptimizerOptions, steps: number, extra: Partial<TrainOptions> = {}): Promise<Float64Array> {
  const m = new MLP(spec);
  await drain(m.train({ x: X, y: Y }, { epochs: steps, batchSize: 'full', loss: 'mse', optimizer, diagnostics: false, ...extra }));
  return flat(m);
}

describe('optimizer updates match their formulas', () => {
  const steps = 6;

  it('sgd with L2 weight decay', async () => {
    const [lr, wd] = [0.1, 0.01];
    const want = reference(steps, (p, g) => p.forEach((v, i) => (p[i] = v - lr * (g[i]! + wd * v))));
    expect(maxRelativeError(await native({ type: 'sgd', learningRate: lr, weightDecay: wd }, steps), want, 1e-2)).toBeLessThan(2e-5);
  });

  it.each([false, true])('sgd with momentum (nesterov %s)', async (nesterov) => {
    const [lr, mu] = [0.05, 0.9];
    const v = new Float64Array(200);
    const want = reference(steps, (p, g) =>
      p.forEach((x, i) => {
        v[i] = mu * v[i]! + g[i]!;
        p[i] = x - lr * (nesterov ? g[i]! + mu * v[i]! : v[i]!);
      }),
    );
    expect(maxRelativeError(await native({ type: 'sgd', learningRate: lr, momentum: mu, nesterov }, steps), want, 1e-2)).toBeLessThan(2e-5);
  });

  it.each(['adam', 'adamw'] as const)('%s (bias-corrected moments; decoupled decay for adamw)', async (type) => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.05];
    const m = new Float64Array(200);
    const s = new Float64Array(200);
    const want = reference(steps, (p, g, t) =>
      p.forEach((x, i) => {
        let grad = g[i]!;
        let w = x;
        if (type === 'adamw') w = x - lr * wd * x;
        else grad += wd * x;
        m[i] = b1 * m[i]! + (1 - b1) * grad;
        s[i] = b2 * s[i]! + (1 - b2) * grad * grad;
        const mHat = m[i]! / (1 - b1 ** t);
        const sHat = s[i]! / (1 - b2 ** t);
        p[i] = w - (lr * mHat) / (Math.sqrt(sHat) + eps);
      }),
    );
    const got = await native({ type, learningRate: lr, beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd }, steps);
    expect(maxRelativeError(got, want, 1e-2)).toBeLessThan(1e-4);
  });

  it('rmsprop', async () => {
    const [lr, rho, eps] = [0.01, 0.9, 1e-8];
    const sq = new Float64Array(200);
    const want = reference(steps, (p, g) =>
      p.forEach((x, i) => {
        sq[i] = rho * sq[i]! + (1 - rho) * g[i]! ** 2;
        p[i] = x - (lr * g[i]!) / (Math.sqrt(sq[i]!) + eps);
      }),
    );
    expect(maxRelativeError(await native({ type: 'rmsprop', learningRate: lr, rho, epsilon: eps }, steps), want, 1e-2)).toBeLessThan(1e-4);
  });

  it('clipNorm scales a large gradient down to the given global norm', async () => {
    const [lr, clip] = [0.1, 0.01];
    const want = reference(steps, (p, g) => {
      const norm = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
      const scale = norm > clip ? clip / norm : 1;
      p.forEach((x, i) => (p[i] = x - lr * scale * g[i]!));
    });
    const got = await native({ type: 'sgd', learningRate: lr }, steps, { clipNorm: clip });
    expect(maxRelativeError(got, want, 1e-2)).toBeLessThan(2e-5);
    // Unclipped training moves further.
    const free = await native({ type: 'sgd', learningRate: lr }, steps);
    const start = flat(new MLP(spec));
    const dist = (a: Float64Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - start[i]!) ** 2, 0));
    expect(dist(got)).toBeLessThanOrEqual(steps * lr * clip * 1.0001);
    expect(dist(free)).toBeGreaterThan(dist(got) * 2);
  });
});

describe('L-BFGS', () => {
  const xor = { x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [[0], [1], [1], [0]] };
  const net = (seed: number) =>
    new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed });

  it('solves XOR in far fewer epochs than gradient descent', async () => {
    let solved = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const lbfgs = await drain(net(seed).train(xor, { epochs: 60, optimizer: 'lbfgs' }));
      const sgd = await drain(net(seed).train(xor, { epochs: 60, batchSize: 'full', optimizer: { type: 'sgd', learningRate: 0.5 } }));
      expect(lbfgs.at(-1)!.loss).toBeLessThan(sgd.at(-1)!.loss);
      if (lbfgs.at(-1)!.loss < 0.01 && lbfgs.at(-1)!.accuracy === 1) solved++;
    }
    expect(solved).toBeGreaterThanOrEqual(6);
  });

  it('never increases the loss from one epoch to the next (line search)', async () => {
    const history = await drain(net(3).train(xor, { epochs: 40, optimizer: { type: 'lbfgs', historySize: 5 } }));
    for (let i = 1; i < history.length; i++) expect(history[i]!.loss).toBeLessThanOrEqual(history[i - 1]!.loss + 1e-7);
  });

  it('is full-batch only', () => {
    expect(() => net(1).train(xor, { epochs: 1, optimizer: 'lbfgs', batchSize: 2 })).toThrow(/'lbfgs' is full-batch/);
    expect(() => net(1).train(xor, { epochs: 1, optimizer: { type: 'sgd', historySize: 3 } })).toThrow(
      /historySize does not apply to 'sgd'/,
    );
  });
});
