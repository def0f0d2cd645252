// Property-based fuzzing of the loader (fast-check): valid model files mutated thousands of
// times (bit flips, truncation, splices, random bytes, structured header edits with and without
// a recomputed checksum). Every case must either load, consistently, or be refused with a
// ModelFormatError: no other exception, no crash, no hang, no large allocation.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { crc32c } from '../lib/crc32c.js';
import { decodeModel, encodeModel, type ModelSnapshot } from '../lib/format.js';
import { MLP, ModelFormatError } from '../lib/index.js';
import type { EpochMetrics } from '../lib/types.js';
import { randomArray, rng } from './helpers/reference.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function drain(stream: AsyncIterable<EpochMetrics>): Promise<void> {
  for await (const _ of stream) void _;
}

async function makeBases(): Promise<Uint8Array[]> {
  const a = new MLP({
    inputs: 4,
    layers: [{ units: 5, activation: 'leakyRelu', leakySlope: 0.05 }, { units: 3, activation: 'softmax' }],
    seed: 2,
    classes: ['x', 'y', 'z'],
    features: ['f0', 'f1', 'f2', 'f3'],
  });
  a.native.setNormalization(new Float32Array([0, 1, 2, 3]), new Float32Array([1, 2, 3, 4]));
  const r = rng(4);
  await drain(a.train({ x: randomArray(r, 24 * 4), y: Array.from({ length: 24 }, (_, i) => i % 3) }, { epochs: 2, batchSize: 8, optimizer: 'adam' }));
  a.trainingSummary = { epochs: 2, loss: 1.1, accuracy: 0.3, date: '2026-12-01T00:00:00.000Z' };
  const b = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed: 5 });
  const c = readFileSync(path.join(here, 'fixtures', 'bad-models', 'valid.safetensors'));
  return [a.toBuffer(), b.toBuffer(), new Uint8Array(c)];
}

const bases = await makeBases();
const baseParams = bases.map((b) => decodeModel(b).params);
const outcomes = { loaded: 0, refused: 0, loadedAfterHeaderEdit: 0 };
let slowest = 0;
let peakArrayBuffers = 0;
const startArrayBuffers = process.memoryUsage().arrayBuffers;

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/**
 * The property. `dataIntact`: the mutation could not have changed tensor bytes without the
 * checksum noticing, so a loaded model must carry one of the bases' exact weights.
 */
function check(bytes: Uint8Array, dataIntact: boolean): void {
  const started = performance.now();
  let snapshot: ModelSnapshot;
  try {
    snapshot = decodeModel(bytes);
  } catch (error) {
    if (!(error instanceof ModelFormatError)) throw new Error(`not a ModelFormatError: ${String(error)}`, { cause: error });
    expect(error.message.length).toBeGreaterThan(10);
    outcomes.refused++;
    return;
  } finally {
    const took = performance.now() - started;
    if (took > slowest) slowest = took;
    const ab = process.memoryUsage().arrayBuffers;
    if (ab > peakArrayBuffers) peakArrayBuffers = ab;
  }
  outcomes.loaded++;
  // Loaded: it must be a model the rest of the library accepts as is...
  const model = MLP.fromSnapshot(snapshot);
  const out = model.predict(new Float32Array(model.inputs).fill(0.5));
  expect(out.length).toBe(model.outputs);
  // ...that writes back to a file reading as the same snapshot...
  expect(decodeModel(encodeModel(snapshot))).toEqual(snapshot);
  // ...with the weights it was saved with, when the checksum vouches for them.
  if (dataIntact) expect(baseParams.some((p) => sameFloats(p, snapshot.params))).toBe(true);
}

const base = fc.nat({ max: bases.length - 1 }).map((i) => bases[i]!);

function headerOf(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString()), data: bytes.subarray(8 + n) };
}

function rebuild(header: Record<string, any> | string, data: Uint8Array): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  while (Buffer.byteLength(json) % 8 !== 0) json += ' ';
  const h = Buffer.from(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// Values a header edit may put somewhere: the nasty ones for a loader.
const nastyValue = fc.oneof(
  fc.integer({ min: -5, max: 70 }),
  fc.constantFrom(0, -1, 1e300, -0, 0.5, 2 ** 31, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 16777216, 16777217),
  fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'relu', 'swish', 'softmax', 'leakyRelu', '', '1.0', '2.0', '1.99', 'sgd', 'adam'),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer({ min: -2, max: 200 }), { maxLength: 3 }),
  fc.constant({}),
);

type Edit = (h: Record<string, any>) => void;

const pick = <T,>(items: T[], i: number): T => items[i % items.length]!;

/** A structured edit of the parsed header (the JSON stays valid unless the edit says otherwise). */
const headerEdit: fc.Arbitrary<Edit> = fc.oneof(
  // A tensor entry field replaced.
  fc.tuple(fc.nat(), fc.constantFrom('dtype', 'shape', 'data_offsets'), nastyValue).map(([i, field, v]): Edit => (h) => {
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    h[pick(names, i)][field] = v;
  }),
  // One number inside a tensor's shape or offsets nudged.
  fc.tuple(fc.nat(), fc.constantFrom('shape', 'data_offsets'), fc.nat({ max: 1 }), fc.integer({ min: -8, max: 8 })).map(
    ([i, field, at, delta]): Edit => (h) => {
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      const arr = h[pick(names, i)][field] as number[];
      if (arr.length > 0) arr[at % arr.length] = arr[at % arr.length]! + delta;
    },
  ),
  // Two tensors' offsets swapped; a tensor removed; a tensor added.
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]): Edit => (h) => {
    const names = Object.keys(h).filter((k) => k !== '__metadata__');
    const a = h[pick(names, i)].data_offsets;
    h[pick(names, i)].data_offsets = h[pick(names, j)].data_offsets;
    h[pick(names, j)].data_offsets = a;
  }),
  fc.nat().map((i): Edit => (h) => {
    const names = Object.keys(h);
    delete h[pick(names, i)];
  }),
  fc.tuple(fc.constantFrom('layers.9.weight', 'optimizer.slot0', 'optimizer.slot3', 'normalization.mean', 'extra'), nastyValue).map(
    ([name, v]): Edit => (h) => {
      h[name] = { dtype: 'F32', shape: [1], data_offsets: [0, 4], v };
    },
  ),
  // A metadata value replaced or removed.
  fc.tuple(
    fc.constantFrom('format', 'format_version', 'architecture', 'seed', 'loss', 'classes', 'features', 'training_summary', 'training_state', 'data_crc32c', 'novel'),
    fc.oneof(nastyValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), fc.constant(undefined)),
  ).map(([key, v]): Edit => (h) => {
    if (h.__metadata__ && typeof h.__metadata__ === 'object') h.__metadata__[key] = v;
  }),
  // A field inside a JSON-valued metadata entry replaced.
  fc.tuple(
    fc.constantFrom('architecture', 'training_state', 'training_summary', 'classes', 'features'),
    fc.constantFrom('inputs', 'layers', 'units', 'activation', 'leakySlope', 'epochsDone', 'rng', 'optimizer', 'type', 'step', 'slots', 'epochs', 'accuracy', 'date', '0'),
    nastyValue,
  ).map(([key, field, v]): Edit => (h) => {
    const text = h.__metadata__?.[key];
    if (typeof text !== 'string') return;
    let obj;
    try {
      obj = JSON.parse(text);
    } catch {
      return;
    }
    const targets = [obj, ...(Array.isArray(obj?.layers) ? obj.layers : []), obj?.optimizer].filter((t) => t && typeof t === 'object');
    const target = targets[(field.length + String(v).length) % targets.length];
    if (target) target[field] = v;
    h.__metadata__[key] = JSON.stringify(obj);
  }),
);

describe('fuzzing the loader', () => {
  it('bit flips anywhere in the file', () => {
    fc.assert(
      fc.property(base, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }), (bytes, flips) => {
        const copy = Uint8Array.from(bytes);
        for (const [at, bit] of flips) copy[at % copy.length]! ^= 1 << bit;
        check(copy, true);
      }),
      { numRuns: 2000 },
    );
  });

  it('truncation at every length', () => {
    // Exhaustive rather than sampled: every prefix of every base.
    for (const bytes of bases) for (let n = 0; n < bytes.length; n++) check(bytes.subarray(0, n), true);
  });

  it('splices: a chunk of another file, or random bytes, written over or inserted', () => {
    fc.assert(
      fc.property(
        base,
        base,
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 64 }),
        fc.boolean(),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 16 })),
        (bytes, other, at, from, length, insert, random) => {
          const chunk = random ?? other.subarray(from % other.length, (from % other.length) + length);
          const pos = at % (bytes.length + 1);
          const out = insert
            ? Uint8Array.from([...bytes.subarray(0, pos), ...chunk, ...bytes.subarray(pos)])
            : Uint8Array.from([...bytes.subarray(0, pos), ...chunk, ...bytes.subarray(pos + chunk.length)]);
          check(out, true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('random bytes, and random bytes behind a plausible length prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, prefix) => {
        const out = Uint8Array.from(bytes);
        if (prefix && out.length >= 9) {
          new DataView(out.buffer).setBigUint64(0, BigInt(out.length - 9), true);
          out[8] = 0x7b;
        }
        check(out, true);
      }),
      { numRuns: 500 },
    );
  });

  it('structured header edits, with the checksum left alone or recomputed (to reach the checks behind it)', () => {
    fc.assert(
      fc.property(base, fc.array(headerEdit, { minLength: 1, maxLength: 3 }), fc.boolean(), (bytes, edits, fixChecksum) => {
        const { header, data } = headerOf(bytes);
        for (const edit of edits) {
          // An edit may not apply to what an earlier one left (a shape now a string...): skip it.
          try {
            edit(header);
          } catch {
            /* not applicable */
          }
        }
        if (fixChecksum && header.__metadata__ && typeof header.__metadata__ === 'object') {
          header.__metadata__.data_crc32c = crc32c(data).toString(16).padStart(8, '0');
        }
        const out = rebuild(header, data);
        const before = outcomes.loaded;
        check(out, !fixChecksum);
        if (outcomes.loaded > before) outcomes.loadedAfterHeaderEdit++;
      }),
      { numRuns: 2500 },
    );
  });

  it('textual header edits: duplicate keys, deep nesting, broken JSON, odd whitespace and escapes', () => {
    fc.assert(
      fc.property(base, fc.nat(), fc.constantFrom('dup', 'nest', 'cut', 'ws', 'escape', 'bom'), (bytes, at, kind) => {
        const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
        let text = Buffer.from(bytes.subarray(8, 8 + n)).toString().trimEnd();
        const keys = [...text.matchAll(/"([a-z_.0-9]+)":/g)];
        const key = keys[at % keys.length]!;
        if (kind === 'dup') text = text.slice(0, key.index) + `${key[0]}"again",` + text.slice(key.index);
        if (kind === 'nest') text = `{"deep":${'['.repeat(65 + (at % 50))}${']'.repeat(65 + (at % 50))},` + text.slice(1);
        if (kind === 'cut') text = text.slice(0, at % text.length);
        if (kind === 'ws') text = text.replace(/,/g, ' ,\n\t');
        if (kind === 'escape') text = text.slice(0, key.index) + '"\\u006c' + text.slice(key.index! + 2);
        if (kind === 'bom') text = '\ufeff' + text;
        check(rebuild(text, bytes.subarray(8 + n)), true);
      }),
      { numRuns: 600 },
    );
  });
});

afterAll(() => {
  const total = outcomes.loaded + outcomes.refused;
  console.log(
    `fuzz: ${total} cases, ${outcomes.refused} refused with ModelFormatError, ${outcomes.loaded} loaded ` +
      `(${outcomes.loadedAfterHeaderEdit} after structured header edits); slowest decode ${slowest.toFixed(2)} ms; ` +
      `array buffers peaked ${((peakArrayBuffers - startArrayBuffers) / 2 ** 20).toFixed(1)} MiB above the start`,
  );
  expect(total).toBeGreaterThan(7000);
  // No case may allocate much: the files are a few KB, so a few MiB is already a leak or a bug.
  expect(peakArrayBuffers - startArrayBuffers).toBeLessThan(64 * 2 ** 20);
  expect(slowest).toBeLessThan(500);
});
