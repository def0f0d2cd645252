// Save and load: a loaded model predicts exactly what the saved one did, and a checkpoint
// resumes training bit for bit.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadModel, MLP, ModelFormatError } from '../lib/index.js';
import type { EpochMetrics, TrainOptions } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-io-'));

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<void> {
  for await (const _ of stream) void _;
}

describe('model files', () => {
  it('save + loadModel and toBuffer + fromBuffer reproduce predictions exactly', async () => {
    const model = new MLP({
      inputs: 3,
      layers: [{ units: 5, activation: 'leakyRelu', leakySlope: 0.2 }, { units: 4, activation: 'tanh' }, { units: 3, activation: 'softmax' }],
      seed: 4,
    });
    const r = rng(9);
    const x = randomArray(r, 30 * 3);
    await drain(model.train({ x, y: Array.from({ length: 30 }, (_, i) => i % 3) }, { epochs: 5, optimizer: 'adam' }));
    const file = path.join(dir, 'm.mlp');
    await model.save(file);
    const loaded = await loadModel(file);
    const probe = randomArray(r, 20 * 3, 3);
    expect(loaded.predict(probe)).toEqual(model.predict(probe));
    expect(loaded.toJSON()).toEqual(model.toJSON());
    const copy = MLP.fromBuffer(model.toBuffer());
    expect(copy.predict(probe)).toEqual(model.predict(probe));
    expect(copy.getWeights()).toEqual(model.getWeights());
    // No temporary files are left next to the target.
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('refuses garbage with ModelFormatError', async () => {
    const file = path.join(dir, 'garbage.mlp');
    writeFileSync(file, 'this is not a model');
    await expect(loadModel(file)).rejects.toThrow(ModelFormatError);
    expect(() => MLP.fromBuffer(new Uint8Array(3))).toThrow(/too short/);
  });

  it('a checkpoint resumes training bit for bit (adam moments, step, shuffle RNG)', async () => {
    const r = rng(10);
    const x = randomArray(r, 64 * 4);
    const y = Array.from({ length: 64 }, () => [r()]);
    const spec = { inputs: 4, layers: [{ units: 8, activation: 'tanh' as const }, { units: 1, activation: 'sigmoid' as const }], seed: 3 };
    const options: TrainOptions = { epochs: 10, batchSize: 8, optimizer: { type: 'adam', learningRate: 0.01 } };

    const straight = new MLP(spec);
    await drain(straight.train({ x, y }, { ...options, epochs: 20 }));

    const first = new MLP(spec);
    await drain(first.train({ x, y }, options));
    const file = path.join(dir, 'checkpoint.mlp');
    await first.save(file);
    const resumed = await loadModel(file);
    expect(resumed.epochsTrained).toBe(10);
    await drain(resumed.train({ x, y }, options));

    expect(resumed.epochsTrained).toBe(20);
    expect(resumed.getWeights()).toEqual(straight.getWeights());
  });
});
