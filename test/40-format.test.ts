// The model file format (docs/FORMAT.md): a valid safetensors file, stable tensor names,
// everything else in string metadata, a checksum, versions, and round trips of every field.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { crc32c } from '../lib/crc32c.js';
import { decodeModel, encodeModel, TRAINING_STATE_FIELDS, type ModelSnapshot } from '../lib/format.js';
import { FORMAT_VERSION, MLP, ModelFormatError } from '../lib/index.js';
import type { EpochMetrics } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<void> {
  for await (const _ of stream) void _;
}

/** The parts of a safetensors file, read the way any safetensors reader does. */
function safetensors(bytes: Uint8Array): { n: number; header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, any>;
  return { n, header, data: bytes.subarray(8 + n) };
}

/** Rebuilds a file with its header edited (length prefix and padding kept right). */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void, data?: Uint8Array): Uint8Array {
  const parts = safetensors(bytes);
  edit(parts.header);
  let json = JSON.stringify(parts.header);
  while (Buffer.byteLength(json) % 8 !== 0) json += ' ';
  const h = Buffer.from(json);
  const body = data ?? parts.data;
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

async function trainedModel(): Promise<MLP> {
  const model = new MLP({
    inputs: 4,
    layers: [{ units: 6, activation: 'relu' }, { units: 5, activation: 'leakyRelu', leakySlope: 0.2 }, { units: 3, activation: 'softmax' }],
    seed: 3,
    classes: ['setosa', 'versicolor', 'virginica'],
  });
  model.native.setNormalization(new Float32Array([1, -2, 0.5, 3]), new Float32Array([2, 0.5, 1, 4]));
  const r = rng(1);
  const x = randomArray(r, 48 * 4, 3);
  await drain(model.train({ x, y: Array.from({ length: 48 }, (_, i) => i % 3) }, { epochs: 4, batchSize: 16, optimizer: 'adam' }));
  model.trainingSummary = { epochs: 4, loss: 1.02, accuracy: 0.4, date: '2026-12-01T12:00:00.000Z', durationMs: 5, dataset: 'iris-like' };
  return model;
}

describe('the file is a valid safetensors file', () => {
  it('8-byte length, a JSON header starting with { and space-padded so the data is 8-byte aligned, then every tensor back to back', async () => {
    const bytes = (await trainedModel()).toBuffer();
    const { n, header, data } = safetensors(bytes);
    expect((8 + n) % 8).toBe(0);
    expect(bytes[8]).toBe('{'.charCodeAt(0));
    expect(Buffer.from(bytes.subarray(8, 8 + n)).toString().trimEnd()).toBe(JSON.stringify(header));
    const meta = header.__metadata__ as Record<string, unknown>;
    for (const value of Object.values(meta)) expect(typeof value).toBe('string');
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual([
      'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias',
      'normalization.mean', 'normalization.std', 'optimizer.slot0', 'optimizer.slot1',
    ]);
    expect(header['layers.0.weight']).toEqual({ dtype: 'F32', shape: [4, 6], data_offsets: [0, 96] });
    expect(header['layers.1.weight'].shape).toEqual([6, 5]);
    expect(header['optimizer.slot0'].shape).toEqual([(4 + 1) * 6 + (6 + 1) * 5 + (5 + 1) * 3]);
    let at = 0;
    for (const name of names) {
      expect(header[name].data_offsets[0]).toBe(at);
      at = header[name].data_offsets[1];
    }
    expect(at).toBe(data.length);
  });

  it('metadata: format, version, architecture, seed, loss, labels, summary, training state, checksum', async () => {
    const meta = safetensors((await trainedModel()).toBuffer()).header.__metadata__ as Record<string, string>;
    expect(Object.keys(meta).sort()).toEqual(
      ['architecture', 'classes', 'data_crc32c', 'format', 'format_version', 'loss', 'seed', 'training_state', 'training_summary'].sort(),
    );
    expect(meta.format).toBe('mlpstream');
    expect(meta.format_version).toBe(FORMAT_VERSION);
    expect(JSON.parse(meta.architecture!)).toEqual({
      inputs: 4,
      layers: [{ units: 6, activation: 'relu' }, { units: 5, activation: 'leakyRelu', leakySlope: 0.2 }, { units: 3, activation: 'softmax' }],
    });
    expect(meta.loss).toBe('crossEntropy');
    expect(JSON.parse(meta.classes!)).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(JSON.parse(meta.training_summary!)).toMatchObject({ epochs: 4, dataset: 'iris-like' });
    const state = JSON.parse(meta.training_state!);
    expect(state).toMatchObject({ epochsDone: 4, optimizer: { type: 'adam', step: 12, slots: 2 } });
    expect(state.rng).toHaveLength(4);
  });

  it('data_crc32c is the CRC-32C of the data section (and CRC-32C is the Castagnoli CRC)', async () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const { header, data } = safetensors((await trainedModel()).toBuffer());
    expect(header.__metadata__.data_crc32c).toBe(crc32c(data).toString(16).padStart(8, '0'));
  });

  it('an independent reader in Python (stdlib only, written from docs/FORMAT.md) gets the same predictions', async () => {
    const model = await trainedModel();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mlpstream-format-')), 'model.safetensors');
    await model.save(file);
    const r = rng(5);
    const rows = Array.from({ length: 5 }, () => Array.from({ length: 4 }, () => r() * 6 - 3));
    const out = JSON.parse(
      execFileSync('python3', [path.join(here, 'helpers', 'read_model.py'), file], { input: JSON.stringify(rows) }).toString(),
    ) as { outputs: number[][]; classes: string[] };
    expect(out.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    const got = model.predict(rows);
    out.outputs.flat().forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThan(1e-5));
  });
});

describe('round trips', () => {
  it('everything survives save and load: weights, normalisation, labels, summary, optimizer state', async () => {
    const model = await trainedModel();
    const copy = MLP.fromBuffer(model.toBuffer());
    expect(copy.toJSON()).toEqual(model.toJSON());
    expect(copy.getWeights()).toEqual(model.getWeights());
    expect(copy.classes).toEqual(model.classes);
    expect(copy.trainingSummary).toEqual(model.trainingSummary);
    expect(copy.native.getNormalization()).toEqual(model.native.getNormalization());
    expect(copy.native.getTrainingState()).toEqual(model.native.getTrainingState());
    const probe = randomArray(rng(2), 10 * 4, 3);
    expect(copy.predict(probe)).toEqual(model.predict(probe));
    // Encoding is deterministic: the same model gives the same bytes.
    expect(Buffer.compare(copy.toBuffer(), model.toBuffer())).toBe(0);
  });

  it('a checkpoint saved from inside `for await`, while the run commits more epochs, holds one epoch\'s weights and that epoch\'s optimizer state', async () => {
    const spec = { inputs: 3, layers: [{ units: 6, activation: 'tanh' as const }, { units: 2, activation: 'softmax' as const }], seed: 4 };
    const r = rng(21);
    const data = { x: randomArray(r, 40 * 3), y: Array.from({ length: 40 }, (_, i) => i % 2) };
    const options = { batchSize: 4, optimizer: 'adam' as const, highWaterMark: 64 };
    const model = new MLP(spec);
    const checkpoints: Buffer[] = [];
    for await (const m of model.train(data, { ...options, epochs: 40 })) {
      if (m.epoch % 5 === 0) checkpoints.push(model.toBuffer());
    }
    for (const bytes of checkpoints) {
      const loaded = MLP.fromBuffer(bytes);
      const epochs = loaded.epochsTrained;
      // The same model trained for exactly that many epochs: identical weights and state.
      const reference = new MLP(spec);
      await drain(reference.train(data, { ...options, epochs }));
      expect(loaded.getWeights()).toEqual(reference.getWeights());
      expect(loaded.native.getTrainingState()).toEqual(reference.native.getTrainingState());
    }
  });

  it('a fresh model (no training, no extras) round-trips too, and a Buffer slice at an odd offset decodes', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], seed: 9 });
    const bytes = model.toBuffer();
    const meta = safetensors(bytes).header.__metadata__;
    expect(Object.keys(meta).sort()).toEqual(['architecture', 'data_crc32c', 'format', 'format_version', 'seed']);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(MLP.fromBuffer(shifted.subarray(3)).getWeights()).toEqual(model.getWeights());
  });

  it('unknown training-state fields are preserved; registered ones are validated', async () => {
    const model = await trainedModel();
    const file = withHeader(model.toBuffer(), (h) => {
      const state = JSON.parse(h.__metadata__.training_state);
      state.lrSchedule = { kind: 'cosine', position: 17 };
      state.averaging = { bestLoss: 0.5, badEpochs: 2 };
      h.__metadata__.training_state = JSON.stringify(state);
    });
    const snapshot = decodeModel(file);
    expect(snapshot.trainingState?.extra).toMatchObject({ lrSchedule: { kind: 'cosine', position: 17 }, averaging: { bestLoss: 0.5, badEpochs: 2 } });
    // Through a model and back into a file.
    const again = safetensors(MLP.fromBuffer(file).toBuffer()).header.__metadata__.training_state;
    expect(JSON.parse(again)).toMatchObject({ lrSchedule: { kind: 'cosine', position: 17 }, averaging: { badEpochs: 2 } });

    TRAINING_STATE_FIELDS.averaging = (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) && Number.isInteger(v.badEpochs) ? null : 'needs an integer badEpochs';
    try {
      expect(decodeModel(file).trainingState?.extra?.averaging).toEqual({ bestLoss: 0.5, badEpochs: 2 });
      const bad = withHeader(file, (h) => {
        const state = JSON.parse(h.__metadata__.training_state);
        state.averaging = { badEpochs: 'two' };
        h.__metadata__.training_state = JSON.stringify(state);
      });
      expect(() => decodeModel(bad)).toThrow(/training_state.averaging: needs an integer badEpochs/);
      const snapshot2 = decodeModel(file);
      snapshot2.trainingState!.extra = { averaging: { badEpochs: 1.5 } };
      expect(() => encodeModel(snapshot2)).toThrow(RangeError);
    } finally {
      delete TRAINING_STATE_FIELDS.averaging;
    }
  });

  it('the encoder refuses what the decoder would refuse (programming errors are RangeErrors)', () => {
    const s: ModelSnapshot = { inputs: 2, layers: [{ units: 2, activation: 'linear' }], seed: 0, params: new Float32Array(6) };
    expect(() => encodeModel({ ...s, params: new Float32Array(5) })).toThrow(/params has 5 values, the architecture needs 6/);
    expect(() => encodeModel({ ...s, classes: ['a'] })).toThrow(/classes has 1 labels but the model has 2 outputs/);
    expect(() => encodeModel({ ...s, trainingSummary: { epochs: -1 } })).toThrow(/epochs must be a non-negative integer/);
    expect(() => encodeModel({ ...s, trainingSummary: { epochs: 1, loss: NaN } })).toThrow(/loss must be a finite number/);
    expect(() =>
      encodeModel({
        ...s,
        trainingState: { epochsDone: 1, rng: new BigUint64Array(4), optimizer: { type: 'sgd', step: 1, slots: [] }, extra: { bad: 1n as never } },
      }),
    ).toThrow(/trainingState.bad is a bigint, not a JSON value/);
  });
});

describe('class labels and training summary on the model', () => {
  it('classes: option, setter, validation', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'softmax' }], classes: ['a', 'b', 'c'] });
    expect(model.classes).toEqual(['a', 'b', 'c']);
    expect(Object.isFrozen(model.classes)).toBe(true);
    model.classes = undefined;
    expect(model.classes).toBeUndefined();
    expect(() => (model.classes = ['a', 'b'])).toThrow(RangeError);
    expect(() => (model.classes = ['a', 'b', 'a'])).toThrow(/appears twice/);
    expect(() => (model.classes = ['a', 'b', ''])).toThrow(/1 to 1024 characters/);
    expect(() => (model.classes = 'abc' as never)).toThrow(TypeError);
    expect(() => new MLP({ inputs: 2, layers: [{ units: 3 }], classes: [1, 2, 3] as never })).toThrow(/classes\[0\] must be a string/);
    // A single sigmoid output may carry [negative, positive].
    const binary = new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], classes: ['ham', 'spam'] });
    expect(MLP.fromBuffer(binary.toBuffer()).classes).toEqual(['ham', 'spam']);
  });

  it('training keeps trainingSummary up to date (epochs, last loss and accuracy, date, duration), keeping fields a user added', async () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 2, activation: 'softmax' }], seed: 1 });
    const r = rng(8);
    const x = randomArray(r, 20 * 2);
    const y = Array.from({ length: 20 }, (_, i) => i % 2);
    const seen: EpochMetrics[] = [];
    for await (const m of model.train({ x, y }, { epochs: 3, batchSize: 5 })) seen.push(m);
    const first = model.trainingSummary!;
    expect(first).toMatchObject({ epochs: 3, loss: seen[2]!.loss, accuracy: seen[2]!.accuracy });
    expect(Date.now() - Date.parse(first.date!)).toBeLessThan(60_000);
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    model.trainingSummary = { ...first, dataset: 'xor-ish' };
    await drain(model.train({ x, y }, { epochs: 2, batchSize: 5 }));
    const second = model.trainingSummary!;
    expect(second).toMatchObject({ epochs: 5, dataset: 'xor-ish' });
    expect(second.durationMs).toBeGreaterThanOrEqual(first.durationMs!);
    expect(MLP.fromBuffer(model.toBuffer()).trainingSummary).toEqual(second);
  });

  it('trainingSummary: validated, copied, frozen', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 1 }] });
    const summary = { epochs: 2, loss: 0.5, note: { tags: ['a'] } };
    model.trainingSummary = summary;
    summary.epochs = 99;
    expect(model.trainingSummary).toEqual({ epochs: 2, loss: 0.5, note: { tags: ['a'] } });
    expect(() => (model.trainingSummary = { epochs: 1, date: 'yesterday' })).toThrow(/ISO 8601/);
    expect(() => (model.trainingSummary = { epochs: 1, accuracy: 2 })).toThrow(/accuracy must be a number in \[0, 1\]/);
    expect(() => (model.trainingSummary = { epochs: 1, f: (() => 1) as never })).toThrow(/not a JSON value/);
  });
});

describe('feature names (format 1.1)', () => {
  it('features: option, setter, validation, saved as metadata.features and loaded back', () => {
    const model = new MLP({ inputs: 3, layers: [{ units: 2, activation: 'softmax' }], features: ['a', 'b b', 'c,"d"'] });
    expect(model.features).toEqual(['a', 'b b', 'c,"d"']);
    expect(Object.isFrozen(model.features)).toBe(true);
    const bytes = model.toBuffer();
    const meta = safetensors(bytes).header.__metadata__ as Record<string, string>;
    expect(meta.format_version).toBe('1.1');
    expect(JSON.parse(meta.features!)).toEqual(['a', 'b b', 'c,"d"']);
    expect(MLP.fromBuffer(bytes).features).toEqual(['a', 'b b', 'c,"d"']);
    expect(() => (model.features = ['a', 'b'])).toThrow(/features has 2 names but the model has 3 inputs/);
    expect(() => (model.features = ['a', 'b', 'a'])).toThrow(/features\[2\] "a" appears twice/);
    expect(() => (model.features = ['a', 'b', ''])).toThrow(/1 to 1024 characters/);
    expect(() => (model.features = 'abc' as never)).toThrow(TypeError);
    model.features = undefined;
    expect(safetensors(model.toBuffer()).header.__metadata__.features).toBeUndefined();
    expect(MLP.fromBuffer(model.toBuffer()).features).toBeUndefined();
  });

  it('a file whose features do not fit its architecture is refused', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 1 }], features: ['x', 'y'] });
    const bad = withHeader(model.toBuffer(), (h) => {
      h.__metadata__.features = '["x"]';
    });
    expect(() => MLP.fromBuffer(bad)).toThrow(/metadata\.features has 1 names but the model has 2 inputs/);
    const notJson = withHeader(model.toBuffer(), (h) => {
      h.__metadata__.features = '[x]';
    });
    expect(() => MLP.fromBuffer(notJson)).toThrow(ModelFormatError);
  });
});

describe('versions', () => {
  it('the golden file of format 1.0 still loads, with the same predictions', () => {
    const dir = path.join(here, 'fixtures', 'models');
    const golden = JSON.parse(readFileSync(path.join(dir, 'v1.0-classifier.json'), 'utf8')) as { probe: number[][]; outputs: number[] };
    const model = MLP.fromBuffer(readFileSync(path.join(dir, 'v1.0-classifier.safetensors')));
    expect(model.classes).toEqual(['red', 'green', 'blue']);
    expect(model.epochsTrained).toBe(3);
    const got = model.predict(golden.probe);
    golden.outputs.forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThan(1e-6));
  });

  it('a newer minor version with metadata this version does not know loads; the unknown keys are ignored', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 2, activation: 'tanh' }] });
    const file = withHeader(model.toBuffer(), (h) => {
      h.__metadata__.format_version = '1.7';
      h.__metadata__.calibration = '{"temperature": 1.3}';
    });
    expect(MLP.fromBuffer(file).getWeights()).toEqual(model.getWeights());
  });

  it('a newer major version is refused, saying so', () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 2, activation: 'tanh' }] });
    const file = withHeader(model.toBuffer(), (h) => {
      h.__metadata__.format_version = '3.1';
    });
    expect(() => MLP.fromBuffer(file)).toThrow(ModelFormatError);
    expect(() => MLP.fromBuffer(file)).toThrow(/format version 3.1 is newer than this mlpstream reads \(1.x\); upgrade mlpstream/);
  });
});

describe('checksum', () => {
  it('covers the tensors in canonical order: another writer may reorder them (safetensors sorts by name), the file still verifies', async () => {
    const model = await trainedModel();
    const bytes = model.toBuffer();
    const { header, data } = safetensors(bytes);
    // Lay the tensors out in reverse, as a different writer might.
    const names = Object.keys(header).filter((k) => k !== '__metadata__').reverse();
    const chunks = names.map((name) => data.subarray(header[name].data_offsets[0], header[name].data_offsets[1]));
    const reordered = new Uint8Array(data.length);
    let at = 0;
    const file = withHeader(
      bytes,
      (h) => {
        names.forEach((name, i) => {
          h[name].data_offsets = [at, at + chunks[i]!.length];
          reordered.set(chunks[i]!, at);
          at += chunks[i]!.length;
        });
      },
      reordered,
    );
    expect(MLP.fromBuffer(file).getWeights()).toEqual(model.getWeights());
  });

  it('catches two same-shaped tensors whose offsets were swapped (the data section itself is intact)', async () => {
    const model = await trainedModel();
    const file = withHeader(model.toBuffer(), (h) => {
      const mean = h['normalization.mean'].data_offsets;
      h['normalization.mean'].data_offsets = h['normalization.std'].data_offsets;
      h['normalization.std'].data_offsets = mean;
    });
    expect(() => MLP.fromBuffer(file)).toThrow(/data checksum mismatch/);
  });

  it('catches every single bit flip in the data section of a small model', () => {
    const model = new MLP({ inputs: 3, layers: [{ units: 2, activation: 'relu' }] });
    const bytes = model.toBuffer();
    const start = 8 + safetensors(bytes).n;
    let refused = 0;
    for (let i = start; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Uint8Array.from(bytes);
        copy[i]! ^= 1 << bit;
        expect(() => decodeModel(copy)).toThrow(/data checksum mismatch/);
        refused++;
      }
    }
    expect(refused).toBe((bytes.length - start) * 8);
  });
});

describe('predict into a preallocated array', () => {
  it('writes into options.into and returns it; checks its type and length', () => {
    const model = new MLP({ inputs: 3, layers: [{ units: 4, activation: 'tanh' }, { units: 2, activation: 'softmax' }], seed: 1 });
    const x = new Float32Array([0.1, 0.2, 0.3, -1, 0, 1]);
    const into = new Float32Array(4);
    expect(model.predict(x, { into })).toBe(into);
    expect(into).toEqual(model.predict(x));
    expect(() => model.predict(x, { into: new Float32Array(3) })).toThrow(/options.into has 3 elements; 2 rows x 2 outputs need 4/);
    expect(() => model.predict(x, { into: [0, 0, 0, 0] as never })).toThrow(TypeError);
    expect(model.predict(x, {})).toEqual(into);
  });
});
