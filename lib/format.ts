// The model file: a safetensors file (https://github.com/huggingface/safetensors) whose
// header metadata carries everything else mlpstream needs. docs/FORMAT.md is the spec.
//
//   [u64 little-endian N][N bytes of JSON header, space padded to a multiple of 8][data]
//
// The decoder trusts nothing: every length, offset, shape and name is checked before any
// allocation that depends on it, and every failure is a ModelFormatError saying what and where.
import { ACTIVATIONS, LOSSES, OPTIMIZERS } from './codes.js';
import { crc32c } from './crc32c.js';
import { ModelFormatError } from './errors.js';
import type { ActivationName, LayerSummary, LossName, OptimizerName } from './types.js';

export const FORMAT_NAME = 'mlpstream';
export const FORMAT_VERSION = '1.0';
const SUPPORTED_MAJOR = 1;

/** Header above this size is refused before it is parsed (a model's header is a few KB). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Parameter count above this is refused (4 GiB of float32): no file can make us allocate more. */
export const MAX_PARAMS = 2 ** 30;
export const MAX_LAYERS = 4096;
export const MAX_UNITS = 2 ** 24;

export interface TrainingStateSnapshot {
  epochsDone: number;
  rng: BigUint64Array;
  optimizer: { type: OptimizerName; step: number; slots: Float32Array[] };
}

export interface ModelSnapshot {
  inputs: number;
  layers: LayerSummary[];
  seed: number;
  loss?: LossName;
  /** The parameter slab: per layer, weights [fanIn x units] row-major, then bias [units]. */
  params: Float32Array;
  normalization?: { mean: Float32Array; std: Float32Array };
  trainingState?: TrainingStateSnapshot;
}

export function paramCount(inputs: number, layers: readonly LayerSummary[]): number {
  let count = 0;
  let fanIn = inputs;
  for (const layer of layers) {
    count += (fanIn + 1) * layer.units;
    fanIn = layer.units;
  }
  return count;
}

interface TensorEntry {
  name: string;
  shape: number[];
  data: Float32Array;
}

function tensorsOf(s: ModelSnapshot): TensorEntry[] {
  const tensors: TensorEntry[] = [];
  let offset = 0;
  let fanIn = s.inputs;
  s.layers.forEach((layer, l) => {
    const w = fanIn * layer.units;
    tensors.push({ name: `layers.${l}.weight`, shape: [fanIn, layer.units], data: s.params.subarray(offset, offset + w) });
    offset += w;
    tensors.push({ name: `layers.${l}.bias`, shape: [layer.units], data: s.params.subarray(offset, offset + layer.units) });
    offset += layer.units;
    fanIn = layer.units;
  });
  if (s.normalization) {
    tensors.push({ name: 'normalization.mean', shape: [s.inputs], data: s.normalization.mean });
    tensors.push({ name: 'normalization.std', shape: [s.inputs], data: s.normalization.std });
  }
  s.trainingState?.optimizer.slots.forEach((slot, i) => {
    tensors.push({ name: `optimizer.slot${i}`, shape: [slot.length], data: slot });
  });
  return tensors;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function floatBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function readFloats(bytes: Uint8Array, begin: number, end: number): Float32Array {
  const out = new Float32Array((end - begin) / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(begin, end));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Serialises a model snapshot into the bytes of a model file. */
export function encodeModel(s: ModelSnapshot): Uint8Array {
  const tensors = tensorsOf(s);
  const dataLength = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const data = new Uint8Array(dataLength);
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + t.data.byteLength] };
    data.set(floatBytes(t.data), at);
    at += t.data.byteLength;
  }
  const metadata: Record<string, string> = {
    format: FORMAT_NAME,
    format_version: FORMAT_VERSION,
    architecture: JSON.stringify({ inputs: s.inputs, layers: s.layers }),
    seed: String(s.seed),
    data_crc32c: crc32c(data).toString(16).padStart(8, '0'),
  };
  if (s.loss) metadata.loss = s.loss;
  if (s.trainingState) {
    metadata.training_state = JSON.stringify({
      epochs_done: s.trainingState.epochsDone,
      rng: Array.from(s.trainingState.rng, (w) => w.toString(16).padStart(16, '0')),
      optimizer: s.trainingState.optimizer.type,
      optimizer_step: s.trainingState.optimizer.step,
      optimizer_slots: s.trainingState.optimizer.slots.length,
    });
  }
  header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  const padded = Math.ceil(Buffer.byteLength(json) / 8) * 8;
  json = json.padEnd(json.length + (padded - Buffer.byteLength(json)), ' ');
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

function fail(message: string): never {
  throw new ModelFormatError(message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(`${what} is not valid JSON (${(e as Error).message})`);
  }
}

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseArchitecture(text: string | undefined): { inputs: number; layers: LayerSummary[] } {
  if (text === undefined) fail('metadata has no architecture');
  const arch = parseJson(text, 'metadata.architecture');
  if (!isPlainObject(arch)) fail('metadata.architecture must be a JSON object');
  const inputs = checkInt(arch.inputs, 'architecture.inputs', 1, MAX_UNITS);
  if (!Array.isArray(arch.layers) || arch.layers.length < 1 || arch.layers.length > MAX_LAYERS) {
    fail(`architecture.layers must be an array of 1 to ${MAX_LAYERS} layers`);
  }
  const layers = arch.layers.map((raw: unknown, l: number): LayerSummary => {
    if (!isPlainObject(raw)) fail(`architecture.layers[${l}] must be an object`);
    const units = checkInt(raw.units, `architecture.layers[${l}].units`, 1, MAX_UNITS);
    const activation = raw.activation;
    if (typeof activation !== 'string' || !(ACTIVATIONS as readonly string[]).includes(activation)) {
      fail(`architecture.layers[${l}].activation ${JSON.stringify(activation)} is not one of ${ACTIVATIONS.join(', ')}`);
    }
    if (activation === 'softmax' && l !== (arch.layers as unknown[]).length - 1) {
      fail(`architecture.layers[${l}]: softmax is only allowed on the output layer`);
    }
    const layer: LayerSummary = { units, activation: activation as ActivationName };
    if (activation === 'leakyRelu') {
      const slope = raw.leakySlope;
      if (typeof slope !== 'number' || !(slope >= 0 && slope < 1)) {
        fail(`architecture.layers[${l}].leakySlope must be a number in [0, 1)`);
      }
      layer.leakySlope = slope;
    }
    return layer;
  });
  if (paramCount(inputs, layers) > MAX_PARAMS) fail(`the architecture has more than ${MAX_PARAMS} parameters`);
  return { inputs, layers };
}

/** Parses and validates the bytes of a model file. Throws ModelFormatError on anything wrong. */
export function decodeModel(input: Uint8Array): ModelSnapshot {
  if (!(input instanceof Uint8Array)) throw new TypeError('a model must be given as a Buffer or Uint8Array');
  const bytes = input;
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  const header = parseJson(text, 'header');
  if (!isPlainObject(header)) fail('header must be a JSON object');
  const meta = header.__metadata__;
  if (!isPlainObject(meta)) fail('header has no __metadata__ object (not an mlpstream model file)');
  for (const [key, value] of Object.entries(meta)) {
    if (typeof value !== 'string') fail(`metadata.${key} must be a string (safetensors rule)`);
  }
  const m = meta as Record<string, string>;
  if (m.format !== FORMAT_NAME) fail(`metadata.format is ${JSON.stringify(m.format)}, expected "${FORMAT_NAME}"`);
  const version = /^(\d+)\.(\d+)$/.exec(m.format_version ?? '');
  if (!version) fail(`metadata.format_version ${JSON.stringify(m.format_version)} is not MAJOR.MINOR`);
  if (Number(version[1]) !== SUPPORTED_MAJOR) {
    fail(`format version ${m.format_version} is not supported by this mlpstream (reads ${SUPPORTED_MAJOR}.x); upgrade mlpstream`);
  }
  const { inputs, layers } = parseArchitecture(m.architecture);
  const seed = Number(m.seed ?? '0');
  if (!Number.isSafeInteger(seed) || seed < 0) fail(`metadata.seed ${JSON.stringify(m.seed)} is not a non-negative integer`);
  let loss: LossName | undefined;
  if (m.loss !== undefined) {
    if (!(LOSSES as readonly string[]).includes(m.loss)) fail(`metadata.loss ${JSON.stringify(m.loss)} is unknown`);
    loss = m.loss as LossName;
  }
  const count = paramCount(inputs, layers);

  let training: { epochsDone: number; rng: BigUint64Array; type: OptimizerName; step: number; slots: number } | undefined;
  if (m.training_state !== undefined) {
    const t = parseJson(m.training_state, 'metadata.training_state');
    if (!isPlainObject(t)) fail('metadata.training_state must be a JSON object');
    const epochsDone = checkInt(t.epochs_done, 'training_state.epochs_done', 0, Number.MAX_SAFE_INTEGER);
    if (!Array.isArray(t.rng) || t.rng.length !== 4 || !t.rng.every((w) => typeof w === 'string' && /^[0-9a-f]{16}$/.test(w))) {
      fail('training_state.rng must be 4 words of 16 hex digits');
    }
    const rng = BigUint64Array.from((t.rng as string[]).map((w) => BigInt('0x' + w)));
    if (typeof t.optimizer !== 'string' || !(OPTIMIZERS as readonly string[]).includes(t.optimizer)) {
      fail(`training_state.optimizer ${JSON.stringify(t.optimizer)} is unknown`);
    }
    const step = checkInt(t.optimizer_step, 'training_state.optimizer_step', 0, Number.MAX_SAFE_INTEGER);
    const slots = checkInt(t.optimizer_slots, 'training_state.optimizer_slots', 0, 4);
    training = { epochsDone, rng, type: t.optimizer as OptimizerName, step, slots };
  }

  // The exact set of tensors this architecture needs, with their shapes.
  const expected = new Map<string, number[]>();
  let fanIn = inputs;
  layers.forEach((layer, l) => {
    expected.set(`layers.${l}.weight`, [fanIn, layer.units]);
    expected.set(`layers.${l}.bias`, [layer.units]);
    fanIn = layer.units;
  });
  const hasNormalization = 'normalization.mean' in header || 'normalization.std' in header;
  if (hasNormalization) {
    expected.set('normalization.mean', [inputs]);
    expected.set('normalization.std', [inputs]);
  }
  for (let s = 0; s < (training?.slots ?? 0); s++) expected.set(`optimizer.slot${s}`, [count]);

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = expected.get(name);
    if (!shape) fail(`unexpected tensor "${name}" for this architecture`);
    if (!isPlainObject(entry)) fail(`tensor "${name}" must be an object`);
    if (entry.dtype !== 'F32') fail(`tensor "${name}" has dtype ${JSON.stringify(entry.dtype)}; only F32 is supported`);
    if (!Array.isArray(entry.shape) || entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor "${name}" has shape ${JSON.stringify(entry.shape)}, expected [${shape.join(', ')}]`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor "${name}" data_offsets must be [begin, end]`);
    const begin = checkInt(offsets[0], `tensor "${name}" begin offset`, 0, Number.MAX_SAFE_INTEGER);
    const end = checkInt(offsets[1], `tensor "${name}" end offset`, 0, Number.MAX_SAFE_INTEGER);
    const size = shape.reduce((a, b) => a * b, 1) * 4;
    if (end - begin !== size) fail(`tensor "${name}" spans ${end - begin} bytes, its shape needs ${size}`);
    if (end > dataLength) fail(`tensor "${name}" ends at byte ${end}, past the ${dataLength}-byte data section`);
    spans.push({ name, begin, end });
  }
  for (const name of expected.keys()) {
    if (!(name in header)) fail(`tensor "${name}" is missing`);
  }
  spans.sort((a, b) => a.begin - b.begin);
  let cursor = 0;
  for (const span of spans) {
    if (span.begin < cursor) fail(`tensor "${span.name}" overlaps the tensor before it`);
    if (span.begin > cursor) fail(`gap of ${span.begin - cursor} bytes before tensor "${span.name}"`);
    cursor = span.end;
  }
  if (cursor !== dataLength) fail(`data section has ${dataLength - cursor} bytes after the last tensor`);

  if (m.data_crc32c === undefined) fail('metadata has no data_crc32c checksum');
  const actual = crc32c(bytes.subarray(dataStart)).toString(16).padStart(8, '0');
  if (m.data_crc32c !== actual) {
    fail(`data checksum mismatch: the file says ${m.data_crc32c}, the data hashes to ${actual} (corrupted file?)`);
  }

  const tensor = (name: string): Float32Array => {
    const span = spans.find((s) => s.name === name)!;
    return readFloats(bytes, dataStart + span.begin, dataStart + span.end);
  };
  const params = new Float32Array(count);
  let offset = 0;
  layers.forEach((_, l) => {
    const w = tensor(`layers.${l}.weight`);
    params.set(w, offset);
    offset += w.length;
    const b = tensor(`layers.${l}.bias`);
    params.set(b, offset);
    offset += b.length;
  });
  for (let i = 0; i < params.length; i++) {
    if (!Number.isFinite(params[i])) fail(`parameter ${i} is ${params[i]}; a model's weights must be finite`);
  }
  const snapshot: ModelSnapshot = { inputs, layers, seed, params };
  if (loss) snapshot.loss = loss;
  if (hasNormalization) {
    const mean = tensor('normalization.mean');
    const std = tensor('normalization.std');
    for (let i = 0; i < inputs; i++) {
      if (!Number.isFinite(mean[i]) || !(std[i]! > 0) || !Number.isFinite(std[i])) {
        fail(`normalization of input ${i} is invalid (mean ${mean[i]}, std ${std[i]})`);
      }
    }
    snapshot.normalization = { mean, std };
  }
  if (training) {
    const slots: Float32Array[] = [];
    for (let s = 0; s < training.slots; s++) slots.push(tensor(`optimizer.slot${s}`));
    snapshot.trainingState = {
      epochsDone: training.epochsDone,
      rng: training.rng,
      optimizer: { type: training.type, step: training.step, slots },
    };
  }
  return snapshot;
}
