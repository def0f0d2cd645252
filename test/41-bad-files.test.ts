// Hand-made model files (test/fixtures/bad-models, written by generate.mjs there): the valid
// one loads, and each bad one is refused by every entry point with a ModelFormatError whose
// message is the one expected.json gives for it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { loadModel, MLP, ModelFormatError } from '../lib/index.js';
import { decodeModel } from '../lib/format.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bad-models');
const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, string>;
const badFiles = readdirSync(dir).filter((f) => f.endsWith('.safetensors') && f !== 'valid.safetensors');

describe('hand-made model files', () => {
  it('every bad file has an expected error, and every expected error a file', () => {
    expect(badFiles.sort()).toEqual(Object.keys(expected).sort());
    expect(badFiles.length).toBeGreaterThanOrEqual(50);
  });

  it('the valid file loads, with what its generator wrote', async () => {
    const model = await loadModel(path.join(dir, 'valid.safetensors'));
    expect(model.toJSON()).toMatchObject({ inputs: 3, outputs: 2, seed: 7, loss: 'binaryCrossEntropy' });
    expect(model.classes).toEqual(['cat', 'dog']);
    expect(model.trainingSummary).toEqual({ epochs: 12, loss: 0.25, accuracy: 0.9, date: '2026-12-01T00:00:00.000Z' });
    expect(Array.from(model.getWeights()[1]!.bias)).toEqual([Math.fround(0.05), Math.fround(-0.05)]);
    // The forward pass by hand: standardise, tanh layer, sigmoid layer.
    const x = [2, 1, 5];
    const mean = [1, 2, 3];
    const std = [0.5, 1, 2];
    const w0 = [0.5, -0.25, 0.125, 1, -1, 0.75, 0.5, -0.5, 0.25, 0.25, -0.125, 2];
    const b0 = [0.1, -0.2, 0.3, -0.4];
    const w1 = [1, -1, 0.5, -0.5, 0.25, 0.75, -2, 1.5];
    const b1 = [0.05, -0.05];
    const z = x.map((v, i) => (v - mean[i]!) / std[i]!);
    const h = b0.map((b, j) => Math.tanh(b + z.reduce((s, v, p) => s + v * w0[p * 4 + j]!, 0)));
    const y = b1.map((b, j) => 1 / (1 + Math.exp(-(b + h.reduce((s, v, p) => s + v * w1[p * 2 + j]!, 0)))));
    const got = model.predict([x]);
    y.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 5));
  });

  describe.each(badFiles.map((f) => [f]))('%s', (file) => {
    const bytes = readFileSync(path.join(dir, file));
    const pattern = new RegExp(expected[file]!);

    it('is refused by decodeModel, MLP.fromBuffer and loadModel with the expected ModelFormatError', async () => {
      for (const attempt of [() => decodeModel(bytes), () => MLP.fromBuffer(bytes), () => MLP.fromBuffer(new Uint8Array(bytes))]) {
        let error: unknown;
        try {
          attempt();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ModelFormatError);
        expect((error as ModelFormatError).code).toBe('ERR_MODEL_FORMAT');
        expect((error as Error).message).toMatch(pattern);
      }
      await expect(loadModel(path.join(dir, file))).rejects.toThrow(pattern);
      await expect(loadModel(path.join(dir, file))).rejects.toBeInstanceOf(ModelFormatError);
    });
  });
});
