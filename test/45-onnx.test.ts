// ONNX export: onnxruntime-node loads the exported graph and computes what predict computes,
// for every activation in hidden and output position, with and without normalisation.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { MLP, ONNX_OPSET } from '../lib/index.js';
import type { ActivationName } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const HIDDEN: ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu'];
const OUTPUT: ActivationName[] = [...HIDDEN, 'softmax'];

async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number, inputs: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['output']);
    const result = await session.run({ input: new ort.Tensor('float32', x, [rows, inputs]) });
    return result.output!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Largest |a - b| relative to max(1, |b|): absolute near zero, relative for large outputs. */
function maxError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

function model(hidden: ActivationName, output: ActivationName, seed: number, normalize: boolean): MLP {
  const inputs = 13;
  const m = new MLP({
    inputs,
    layers: [
      { units: 17, activation: hidden, ...(hidden === 'leakyRelu' ? { leakySlope: 0.07 } : {}) },
      { units: 9, activation: 'tanh' },
      { units: output === 'softmax' ? 4 : 3, activation: output, ...(output === 'leakyRelu' ? { leakySlope: 0.2 } : {}) },
    ],
    seed,
  });
  if (normalize) {
    const r = rng(seed + 100);
    m.native.setNormalization(randomArray(r, inputs, 2), Float32Array.from({ length: inputs }, () => 0.5 + r() * 2));
  }
  return m;
}

describe('ONNX export', () => {
  for (const output of OUTPUT) {
    it(`output ${output}: onnxruntime matches predict to 1e-5 for every hidden activation, with and without normalisation`, async () => {
      let seed = 1;
      for (const hidden of HIDDEN) {
        for (const normalize of [false, true]) {
          const m = model(hidden, output, seed++, normalize);
          const rows = 33;
          const x = randomArray(rng(seed), rows * m.inputs, 3);
          const want = m.predict(x);
          for (const foldNormalization of normalize ? [true, false] : [true]) {
            const got = await runOnnx(m.toONNX({ foldNormalization }), x, rows, m.inputs);
            const error = maxError(got, want);
            expect(error, `${hidden} -> ${output}, normalised ${normalize}, folded ${foldNormalization}`).toBeLessThan(1e-5);
          }
        }
      }
    });
  }

  it('exportONNX writes the same bytes to a file that onnxruntime loads; a batch of one and of 1024 work', async () => {
    const m = new MLP({ inputs: 784, layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: 10, activation: 'softmax' }], seed: 4 });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mlpstream-onnx-')), 'model.onnx');
    await m.exportONNX(file);
    const bytes = readFileSync(file);
    expect(Buffer.compare(bytes, Buffer.from(m.toONNX()))).toBe(0);
    for (const rows of [1, 1024]) {
      const x = randomArray(rng(rows), rows * 784, 1);
      expect(maxError(await runOnnx(bytes, x, rows, 784), m.predict(x))).toBeLessThan(1e-5);
    }
  });

  it('declares opset 13 and carries the architecture and labels as metadata', async () => {
    expect(ONNX_OPSET).toBe(13);
    const m = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'softmax' }], classes: ['a', 'b', 'c'] });
    const session = await ort.InferenceSession.create(m.toONNX());
    await session.release();
    // The opset import and metadata, read back from the protobuf bytes themselves.
    const text = Buffer.from(m.toONNX()).toString('latin1');
    expect(text).toContain('mlpstream');
    expect(text).toContain('classes');
    expect(text).toContain(JSON.stringify(['a', 'b', 'c']));
    expect(text).toContain('Softmax');
  });

  it('refuses unknown export options', () => {
    const m = new MLP({ inputs: 2, layers: [{ units: 1 }] });
    expect(() => m.toONNX({ fold: true } as never)).toThrow(/unknown option 'fold'/);
    expect(() => m.toONNX({ foldNormalization: 'yes' } as never)).toThrow(TypeError);
  });
});
