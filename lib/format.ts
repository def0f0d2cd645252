// The model file: a safetensors file (https://github.com/huggingface/safetensors) whose
// header metadata carries everything else mlpstream needs. docs/FORMAT.md is the spec; keep
// the two in step.
//
//   [u64 little-endian N][N bytes of JSON header, space padded to a multiple of 8][data]
//
// The decoder trusts nothing: every length, offset, shape and name is checked before any
// allocation that depends on it, the allocations it makes are bounded by the file's own
// size, and every failure is a ModelFormatError saying what and where.
import { ACTIVATIONS, LOSSES, OPTIMIZERS } from './codes.js';
import { crc32c } from './crc32c.js';
import { ModelFormatError } from './errors.js';
import { jsonProblem, parseStrictJson, type JsonValue } from './json-strict.js';
import type { ActivationName, LayerSummary, LossName, OptimizerName } from './types.js';

export type { JsonValue } from './json-strict.js';

export const FORMAT_NAME = 'mlpstream';
/** The version this mlpstream writes. */
export const FORMAT_VERSION = '1.1';
/** The major versions this mlpstream reads (any minor version of each). */
const READABLE_MAJORS: readonly number[] = [1];

/** A header above this size is refused before it is parsed (a model's header is a few KB). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Parameter count above this is refused (4 GiB of float32). */
export const MAX_PARAMS = 2 ** 30;
export const MAX_LAYERS = 4096;
export const MAX_UNITS = 2 ** 24;
/** Optimizer state tensors per model (Adam has 2). */
export const MAX_OPTIMIZER_SLOTS = 4;
/** Longest class label or feature name, in UTF-16 code units. */
export const MAX_CLASS_LABEL = 1024;

/** What a training run leaves behind for people: shown by tools, not needed to resume. */
export interface TrainingSummary {
  /** Epochs trained in total. */
  epochs: number;
  /** Mean training loss of the last epoch. */
  loss?: number;
  /** Accuracy of the last epoch (classification losses), in [0, 1]. */
  accuracy?: number;
  /** Root-mean-square error and R^2 of the last epoch (mse). */
  rmse?: number;
  r2?: number;
  /** When training ended, ISO 8601 (e.g. 2026-12-01T10:00:00.000Z). */
  date?: string;
  /** Wall time of the training, in milliseconds. */
  durationMs?: number;
  /** Anything else, as JSON values; a file keeps fields it does not know. */
  [key: string]: JsonValue | undefined;
}

/** Everything beyond the weights that a resumed run needs to continue exactly. */
export interface TrainingStateSnapshot {
  epochsDone: number;
  rng: BigUint64Array;
  optimizer: { type: OptimizerName; step: number; slots: Float32Array[] };
  /**
   * Further resume state (schedule position, early-stopping counters...) as JSON values. Fields
   * named in TRAINING_STATE_FIELDS are validated on read and write; others are kept as read.
   */
  extra?: { [key: string]: JsonValue };
}

/** The in-memory form of a model file: the contract between MLP and this module. */
export interface ModelSnapshot {
  inputs: number;
  layers: LayerSummary[];
  seed: number;
  loss?: LossName;
  /** The parameter slab: per layer, weights [fanIn x units] row-major, then bias [units]. */
  params: Float32Array;
  normalization?: { mean: Float32Array; std: Float32Array };
  /** One label per output (or two for a single sigmoid output: [negative, positive]). */
  classes?: string[];
  /** One name per input (format 1.1): the columns a model was trained on. */
  features?: string[];
  trainingSummary?: TrainingSummary;
  trainingState?: TrainingStateSnapshot;
}

/**
 * Validators of extra training-state fields, by name (camelCase, as in the file). Returns why a
 * value is wrong, or null. Register a field here when mlpstream starts writing it; unknown
 * fields stay unvalidated and are preserved.
 */
export const TRAINING_STATE_FIELDS: Record<string, (value: JsonValue) => string | null> = {
  schedule: (v) =>
    checkFields(v, {
      scale: (x) => typeof x === 'number' && x > 0 && x <= 1,
      best: (x) => x === null || typeof x === 'number',
      wait: isCount,
      cooldown: isCount,
    }),
  earlyStopping: (v) =>
    checkFields(v, {
      best: (x) => x === null || typeof x === 'number',
      bestEpoch: isCount,
      wait: isCount,
    }),
};

function isCount(x: JsonValue): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Null when `value` is an object whose listed fields all pass; else what is wrong. */
function checkFields(value: JsonValue, fields: Record<string, (x: JsonValue) => boolean>): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  for (const [name, ok] of Object.entries(fields)) {
    const field = (value as { [key: string]: JsonValue })[name];
    if (field === undefined || !ok(field)) return `${name} is missing or invalid (${JSON.stringify(field)})`;
  }
  return null;
}

const CORE_STATE_KEYS = ['epochsDone', 'rng', 'optimizer'];

export function paramCount(inputs: number, layers: readonly LayerSummary[]): number {
  let count = 0;
  let fanIn = inputs;
  for (const layer of layers) {
    count += (fanIn + 1) * layer.units;
    fanIn = layer.units;
  }
  return count;
}

/** The tensors of a model with this architecture, in canonical (file and checksum) order. */
export function expectedTensors(
  inputs: number,
  layers: readonly LayerSummary[],
  normalization: boolean,
  optimizerSlots: number,
): { name: string; shape: number[] }[] {
  const out: { name: string; shape: number[] }[] = [];
  let fanIn = inputs;
  layers.forEach((layer, l) => {
    out.push({ name: `layers.${l}.weight`, shape: [fanIn, layer.units] });
    out.push({ name: `layers.${l}.bias`, shape: [layer.units] });
    fanIn = layer.units;
  });
  if (normalization) {
    out.push({ name: 'normalization.mean', shape: [inputs] });
    out.push({ name: 'normalization.std', shape: [inputs] });
  }
  const count = paramCount(inputs, layers);
  for (let s = 0; s < optimizerSlots; s++) out.push({ name: `optimizer.slot${s}`, shape: [count] });
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function floatBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** Copies the little-endian floats bytes[begin, end) into out at `at`; returns that part of out. */
function readFloatsInto(bytes: Uint8Array, begin: number, end: number, out: Float32Array, at: number): Float32Array {
  const n = (end - begin) / 4;
  const view = out.subarray(at, at + n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes.subarray(begin, end));
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
    for (let i = 0; i < n; i++) view[i] = dv.getFloat32(i * 4, true);
  }
  return view;
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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------
// Field validators shared by the reader (ModelFormatError) and the writer and setters
// (TypeError/RangeError): each returns why a value is wrong, or null.

/** Why `names` is not a list of `count` distinct labels of 1 to MAX_CLASS_LABEL characters, or null. */
function namesProblem(names: readonly unknown[], field: string): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    const c: unknown = names[i];
    if (typeof c !== 'string') return `${field}[${i}] must be a string`;
    if (c.length === 0 || c.length > MAX_CLASS_LABEL) return `${field}[${i}] must be 1 to ${MAX_CLASS_LABEL} characters long`;
    if (seen.has(c)) return `${field}[${i}] ${JSON.stringify(c)} appears twice`;
    seen.add(c);
  }
  return null;
}

/** Why `classes` cannot label a model with `outputs` outputs, or null. */
export function classesProblem(classes: unknown, outputs: number): string | null {
  if (!Array.isArray(classes)) return 'classes must be an array of strings';
  const single = outputs === 1 && classes.length === 2;
  if (classes.length !== outputs && !single) {
    return `classes has ${classes.length} labels but the model has ${outputs} output${outputs === 1 ? ' (a single output takes 1 label, or 2: [negative, positive])' : 's'}`;
  }
  return namesProblem(classes, 'classes');
}

/** Why `features` cannot name the inputs of a model with `inputs` inputs, or null. */
export function featuresProblem(features: unknown, inputs: number): string | null {
  if (!Array.isArray(features)) return 'features must be an array of strings';
  if (features.length !== inputs) {
    return `features has ${features.length} names but the model has ${inputs} input${inputs === 1 ? '' : 's'}`;
  }
  return namesProblem(features, 'features');
}

function numberField(
  o: Record<string, unknown>,
  key: string,
  where: string,
  check: (v: number) => boolean,
  rule: string,
): string | null {
  const v = o[key];
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) return `${where}.${key} must be ${rule}, got ${JSON.stringify(v)}`;
  return null;
}

/** Why `s` is not a valid training summary, or null. */
export function summaryProblem(s: unknown, where = 'trainingSummary'): string | null {
  if (!isPlainObject(s)) return `${where} must be an object`;
  if (typeof s.epochs !== 'number' || !Number.isSafeInteger(s.epochs) || s.epochs < 0) {
    return `${where}.epochs must be a non-negative integer, got ${JSON.stringify(s.epochs)}`;
  }
  const problem =
    numberField(s, 'loss', where, () => true, 'a finite number') ??
    numberField(s, 'accuracy', where, (v) => v >= 0 && v <= 1, 'a number in [0, 1]') ??
    numberField(s, 'rmse', where, (v) => v >= 0, 'a non-negative number') ??
    numberField(s, 'r2', where, () => true, 'a finite number') ??
    numberField(s, 'durationMs', where, (v) => v >= 0, 'a non-negative number');
  if (problem) return problem;
  if (s.date !== undefined && (typeof s.date !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(s.date) || Number.isNaN(Date.parse(s.date)))) {
    return `${where}.date must be an ISO 8601 date-time string, got ${JSON.stringify(s.date)}`;
  }
  return jsonProblem(s, where);
}

function extraStateProblem(extra: Record<string, unknown>, where: string): string | null {
  for (const [key, value] of Object.entries(extra)) {
    if (CORE_STATE_KEYS.includes(key)) return `${where}.${key} is a core field, not an extra one`;
    const problem = jsonProblem(value, `${where}.${key}`);
    if (problem) return problem;
    const validate = TRAINING_STATE_FIELDS[key];
    const invalid = validate?.(value as JsonValue);
    if (invalid) return `${where}.${key}: ${invalid}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Writing

/**
 * A model file as consecutive pieces (the header, then the tensors, viewing the snapshot's own
 * arrays on little-endian machines): save() writes them one after another without first
 * gathering the whole file in one buffer.
 */
export function encodeModelParts(s: ModelSnapshot): Uint8Array[] {
  const count = paramCount(s.inputs, s.layers);
  if (s.params.length !== count) throw new RangeError(`params has ${s.params.length} values, the architecture needs ${count}`);
  const slots = s.trainingState?.optimizer.slots ?? [];
  if (slots.length > MAX_OPTIMIZER_SLOTS) throw new RangeError(`at most ${MAX_OPTIMIZER_SLOTS} optimizer slots`);
  // The slab is already in canonical order: weight then bias, layer after layer.
  const data: Float32Array[] = [s.params];
  if (s.normalization) {
    if (s.normalization.mean.length !== s.inputs || s.normalization.std.length !== s.inputs) {
      throw new RangeError(`normalization mean and std need ${s.inputs} values each`);
    }
    data.push(s.normalization.mean, s.normalization.std);
  }
  for (const slot of slots) {
    if (slot.length !== count) throw new RangeError(`an optimizer slot has ${slot.length} values, the model has ${count} parameters`);
    data.push(slot);
  }

  const header: Record<string, unknown> = {};
  const metadata: Record<string, string> = {
    format: FORMAT_NAME,
    format_version: FORMAT_VERSION,
    architecture: JSON.stringify({ inputs: s.inputs, layers: s.layers.map((l) => ({ ...l })) }),
    seed: String(s.seed),
  };
  if (s.loss) metadata.loss = s.loss;
  if (s.classes) {
    const problem = classesProblem(s.classes, s.layers[s.layers.length - 1]!.units);
    if (problem) throw new RangeError(problem);
    metadata.classes = JSON.stringify(s.classes);
  }
  if (s.features) {
    const problem = featuresProblem(s.features, s.inputs);
    if (problem) throw new RangeError(problem);
    metadata.features = JSON.stringify(s.features);
  }
  if (s.trainingSummary) {
    const problem = summaryProblem(s.trainingSummary);
    if (problem) throw new RangeError(problem);
    metadata.training_summary = JSON.stringify(s.trainingSummary);
  }
  if (s.trainingState) {
    const t = s.trainingState;
    const extra = t.extra ?? {};
    const problem = extraStateProblem(extra, 'trainingState');
    if (problem) throw new RangeError(problem);
    metadata.training_state = JSON.stringify({
      epochsDone: t.epochsDone,
      rng: Array.from(t.rng, (w) => w.toString(16).padStart(16, '0')),
      optimizer: { type: t.optimizer.type, step: t.optimizer.step, slots: slots.length },
      ...extra,
    });
  }

  let at = 0;
  let crc = 0;
  for (const t of expectedTensors(s.inputs, s.layers, s.normalization !== undefined, slots.length)) {
    const bytes = t.shape.reduce((a, b) => a * b, 4);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const parts = data.map(floatBytes);
  for (const part of parts) crc = crc32c(part, crc);
  metadata.data_crc32c = crc.toString(16).padStart(8, '0');
  // __metadata__ first, as safetensors' own writer does.
  const json = JSON.stringify({ __metadata__: metadata, ...header });
  const jsonBytes = Buffer.from(json, 'utf8');
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new RangeError(`the header would be ${padded} bytes, above the ${MAX_HEADER_BYTES}-byte limit readers accept`);
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(jsonBytes, 8);
  head.fill(0x20, 8 + jsonBytes.length);
  return [head, ...parts];
}

/** Serialises a model snapshot into the bytes of a model file. */
export function encodeModel(s: ModelSnapshot): Uint8Array {
  const parts = encodeModelParts(s);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let cursor = 0;
  for (const part of parts) {
    out.set(part, cursor);
    cursor += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Reading

function fail(message: string): never {
  throw new ModelFormatError(message);
}

function parseJson(text: string, what: string): JsonValue {
  const result = parseStrictJson(text);
  if ('error' in result) fail(`${what} is not valid JSON (${result.error})`);
  return result.value;
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
  for (const key of Object.keys(arch)) {
    if (key !== 'inputs' && key !== 'layers') fail(`metadata.architecture has an unknown field "${key}"`);
  }
  const inputs = checkInt(arch.inputs, 'architecture.inputs', 1, MAX_UNITS);
  if (!Array.isArray(arch.layers) || arch.layers.length < 1 || arch.layers.length > MAX_LAYERS) {
    fail(`architecture.layers must be an array of 1 to ${MAX_LAYERS} layers`);
  }
  const depth = arch.layers.length;
  const layers = arch.layers.map((raw: unknown, l: number): LayerSummary => {
    if (!isPlainObject(raw)) fail(`architecture.layers[${l}] must be an object`);
    for (const key of Object.keys(raw)) {
      if (key !== 'units' && key !== 'activation' && key !== 'leakySlope') fail(`architecture.layers[${l}] has an unknown field "${key}"`);
    }
    const units = checkInt(raw.units, `architecture.layers[${l}].units`, 1, MAX_UNITS);
    const activation = raw.activation;
    if (typeof activation !== 'string' || !(ACTIVATIONS as readonly string[]).includes(activation)) {
      fail(`architecture.layers[${l}].activation ${JSON.stringify(activation)} is unknown (known: ${ACTIVATIONS.join(', ')})`);
    }
    if (activation === 'softmax' && l !== depth - 1) fail(`architecture.layers[${l}]: softmax is only allowed on the output layer`);
    const layer: LayerSummary = { units, activation: activation as ActivationName };
    if (activation === 'leakyRelu') {
      const slope = raw.leakySlope;
      if (typeof slope !== 'number' || !(slope >= 0 && slope < 1)) {
        fail(`architecture.layers[${l}].leakySlope must be a number in [0, 1), got ${JSON.stringify(slope)}`);
      }
      layer.leakySlope = slope;
    } else if (raw.leakySlope !== undefined) {
      fail(`architecture.layers[${l}].leakySlope applies to leakyRelu layers only`);
    }
    return layer;
  });
  const count = paramCount(inputs, layers);
  if (count > MAX_PARAMS) fail(`the architecture has ${count} parameters, more than the ${MAX_PARAMS} a model may have`);
  return { inputs, layers };
}

interface ParsedTrainingState {
  epochsDone: number;
  rng: BigUint64Array;
  type: OptimizerName;
  step: number;
  slots: number;
  extra: { [key: string]: JsonValue };
}

function parseTrainingState(text: string): ParsedTrainingState {
  const t = parseJson(text, 'metadata.training_state');
  if (!isPlainObject(t)) fail('metadata.training_state must be a JSON object');
  const epochsDone = checkInt(t.epochsDone, 'training_state.epochsDone', 0, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(t.rng) || t.rng.length !== 4 || !t.rng.every((w) => typeof w === 'string' && /^[0-9a-f]{16}$/.test(w))) {
    fail('training_state.rng must be 4 words of 16 lowercase hex digits');
  }
  const rng = BigUint64Array.from((t.rng as string[]).map((w) => BigInt('0x' + w)));
  const o = t.optimizer;
  if (!isPlainObject(o)) fail('training_state.optimizer must be an object { type, step, slots }');
  for (const key of Object.keys(o)) {
    if (key !== 'type' && key !== 'step' && key !== 'slots') fail(`training_state.optimizer has an unknown field "${key}"`);
  }
  if (typeof o.type !== 'string' || !(OPTIMIZERS as readonly string[]).includes(o.type)) {
    fail(`training_state.optimizer.type ${JSON.stringify(o.type)} is unknown (known: ${OPTIMIZERS.join(', ')})`);
  }
  const step = checkInt(o.step, 'training_state.optimizer.step', 0, Number.MAX_SAFE_INTEGER);
  const slots = checkInt(o.slots, 'training_state.optimizer.slots', 0, MAX_OPTIMIZER_SLOTS);
  const extra: { [key: string]: JsonValue } = {};
  for (const [key, value] of Object.entries(t)) if (!CORE_STATE_KEYS.includes(key)) extra[key] = value;
  const problem = extraStateProblem(extra, 'training_state');
  if (problem) fail(problem);
  return { epochsDone, rng, type: o.type as OptimizerName, step, slots, extra };
}

/** The format version of a header, checked against what this mlpstream reads. */
function checkVersion(m: Record<string, string>): { major: number; minor: number } {
  if (m.format === undefined) fail('metadata has no "format" key: this is a safetensors file, but not an mlpstream model');
  if (m.format !== FORMAT_NAME) fail(`metadata.format is ${JSON.stringify(m.format)}, expected "${FORMAT_NAME}"`);
  const match = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/.exec(m.format_version ?? '');
  if (!match) fail(`metadata.format_version ${JSON.stringify(m.format_version)} is not MAJOR.MINOR`);
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const newest = Math.max(...READABLE_MAJORS);
  if (major > newest) {
    fail(`format version ${m.format_version} is newer than this mlpstream reads (${READABLE_MAJORS.map((v) => `${v}.x`).join(', ')}); upgrade mlpstream to load it`);
  }
  if (!READABLE_MAJORS.includes(major)) fail(`format version ${m.format_version} was never released; this mlpstream reads ${READABLE_MAJORS.map((v) => `${v}.x`).join(', ')}`);
  return { major, minor };
}

/** Parses and validates the bytes of a model file. Throws ModelFormatError on anything wrong. */
export function decodeModel(input: Uint8Array): ModelSnapshot {
  if (!(input instanceof Uint8Array)) throw new TypeError('a model must be given as a Buffer or Uint8Array');
  return decode(input, input.length, false)!;
}

/**
 * The header length a file starts with (from its first 8 bytes), or null when fewer than 8
 * bytes are given. For readers that fetch the header before the rest.
 */
export function headerLengthOf(prefix: Uint8Array): number | null {
  if (prefix.length < 8) return null;
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  return n > BigInt(MAX_HEADER_BYTES) ? Infinity : Number(n);
}

/**
 * Checks everything a file's header says against the file's length, without its data: `prefix`
 * holds the file's first 8 + N bytes (or all of it if shorter). loadModel calls this before
 * reading a file's data, so a damaged or hostile file is refused without reading it whole.
 */
export function checkModelHeader(prefix: Uint8Array, fileLength: number): void {
  decode(prefix, fileLength, true);
}

function decode(bytes: Uint8Array, fileLength: number, headerOnly: boolean): ModelSnapshot | null {
  if (fileLength < 8) fail(`file is ${fileLength} bytes, too short for the 8-byte header length (truncated?)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(headerLength);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  if (8 + n > fileLength) fail(`header length ${n} runs past the end of the ${fileLength}-byte file (truncated?)`);
  if (bytes[8] !== 0x7b) fail('header does not start with "{" (not a safetensors file)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  const header = parseJson(text, 'header');
  if (!isPlainObject(header)) fail('header must be a JSON object');
  const meta = header.__metadata__;
  if (!isPlainObject(meta)) fail('header has no __metadata__ object: this is not an mlpstream model file');
  for (const [key, value] of Object.entries(meta)) {
    if (typeof value !== 'string') fail(`metadata.${key} must be a string (safetensors rule), got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const m = meta as Record<string, string>;
  checkVersion(m);

  const { inputs, layers } = parseArchitecture(m.architecture);
  const outputs = layers[layers.length - 1]!.units;
  if (m.seed === undefined || !/^(0|[1-9]\d{0,15})$/.test(m.seed) || !Number.isSafeInteger(Number(m.seed))) {
    fail(`metadata.seed ${JSON.stringify(m.seed)} is not a non-negative integer`);
  }
  const seed = Number(m.seed);
  let loss: LossName | undefined;
  if (m.loss !== undefined) {
    if (!(LOSSES as readonly string[]).includes(m.loss)) fail(`metadata.loss ${JSON.stringify(m.loss)} is unknown (known: ${LOSSES.join(', ')})`);
    loss = m.loss as LossName;
  }
  let classes: string[] | undefined;
  if (m.classes !== undefined) {
    const value = parseJson(m.classes, 'metadata.classes');
    const problem = classesProblem(value, outputs);
    if (problem) fail(`metadata.${problem}`);
    classes = value as string[];
  }
  let features: string[] | undefined;
  if (m.features !== undefined) {
    const value = parseJson(m.features, 'metadata.features');
    const problem = featuresProblem(value, inputs);
    if (problem) fail(`metadata.${problem}`);
    features = value as string[];
  }
  let trainingSummary: TrainingSummary | undefined;
  if (m.training_summary !== undefined) {
    const value = parseJson(m.training_summary, 'metadata.training_summary');
    const problem = summaryProblem(value, 'training_summary');
    if (problem) fail(problem);
    trainingSummary = value as TrainingSummary;
  }
  const training = m.training_state === undefined ? undefined : parseTrainingState(m.training_state);
  if (m.data_crc32c === undefined) fail('metadata has no data_crc32c checksum');
  if (!/^[0-9a-f]{8}$/.test(m.data_crc32c)) fail(`metadata.data_crc32c ${JSON.stringify(m.data_crc32c)} is not 8 lowercase hex digits`);

  // The exact set of tensors this architecture needs, with their shapes.
  const hasNormalization = Object.hasOwn(header, 'normalization.mean') || Object.hasOwn(header, 'normalization.std');
  const canonical = expectedTensors(inputs, layers, hasNormalization, training?.slots ?? 0);
  const expected = new Map(canonical.map((t) => [t.name, t.shape]));
  const dataStart = 8 + n;
  const dataLength = fileLength - dataStart;
  const spans = new Map<string, { begin: number; end: number }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const shape = expected.get(name);
    if (!shape) {
      fail(
        /^optimizer\.slot\d+$/.test(name)
          ? `unexpected tensor "${name}": training_state declares ${training?.slots ?? 0} optimizer slots`
          : `unexpected tensor "${name}" for this architecture`,
      );
    }
    if (!isPlainObject(entry)) fail(`tensor "${name}" must be an object { dtype, shape, data_offsets }`);
    for (const key of Object.keys(entry)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`tensor "${name}" has an unknown field "${key}"`);
    }
    if (entry.dtype !== 'F32') fail(`tensor "${name}" has dtype ${JSON.stringify(entry.dtype)}; only F32 is supported`);
    if (!Array.isArray(entry.shape) || entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor "${name}" has shape ${JSON.stringify(entry.shape)}, the architecture needs [${shape.join(', ')}]`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor "${name}" data_offsets must be [begin, end]`);
    const begin = checkInt(offsets[0], `tensor "${name}" begin offset`, 0, Number.MAX_SAFE_INTEGER);
    const end = checkInt(offsets[1], `tensor "${name}" end offset`, 0, Number.MAX_SAFE_INTEGER);
    if (end < begin) fail(`tensor "${name}" ends (${end}) before it begins (${begin})`);
    const size = shape.reduce((a, b) => a * b, 4);
    if (end - begin !== size) fail(`tensor "${name}" spans ${end - begin} bytes, its shape needs ${size}`);
    spans.set(name, { begin, end });
  }
  for (const { name } of canonical) if (!spans.has(name)) fail(`tensor "${name}" is missing`);
  const needed = canonical.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 4), 0);
  if (needed > dataLength) {
    fail(`the tensors need ${needed} bytes of data but the file has ${dataLength} after the header (truncated?)`);
  }
  for (const [name, span] of spans) {
    if (span.end > dataLength) fail(`tensor "${name}" ends at byte ${span.end}, past the ${dataLength}-byte data section`);
  }
  const ordered = [...spans].sort((a, b) => a[1].begin - b[1].begin);
  let cursor = 0;
  for (const [name, span] of ordered) {
    if (span.begin < cursor) fail(`tensor "${name}" overlaps the tensor before it (begins at ${span.begin}, that one ends at ${cursor})`);
    if (span.begin > cursor) fail(`gap of ${span.begin - cursor} bytes before tensor "${name}" (safetensors forbids holes)`);
    cursor = span.end;
  }
  if (cursor !== dataLength) fail(`data section has ${dataLength - cursor} bytes after the last tensor`);
  if (headerOnly) return null;

  // The checksum covers the tensors' bytes in canonical order: the data section itself when
  // the file was written by mlpstream, and still the same if another tool reorders them.
  let crc = 0;
  for (const { name } of canonical) {
    const span = spans.get(name)!;
    crc = crc32c(bytes.subarray(dataStart + span.begin, dataStart + span.end), crc);
  }
  const actual = crc.toString(16).padStart(8, '0');
  if (m.data_crc32c !== actual) {
    fail(`data checksum mismatch: the file says ${m.data_crc32c}, the tensors hash to ${actual} (corrupted file?)`);
  }

  const tensor = (name: string): Float32Array => {
    const span = spans.get(name)!;
    return readFloats(bytes, dataStart + span.begin, dataStart + span.end);
  };
  const finite = (name: string, values: Float32Array): Float32Array => {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) fail(`tensor "${name}" holds ${values[i]} at index ${i}; values must be finite`);
    }
    return values;
  };
  const params = new Float32Array(paramCount(inputs, layers));
  let offset = 0;
  for (let l = 0; l < layers.length; l++) {
    for (const part of ['weight', 'bias']) {
      const name = `layers.${l}.${part}`;
      const span = spans.get(name)!;
      const values = readFloatsInto(bytes, dataStart + span.begin, dataStart + span.end, params, offset);
      finite(name, values);
      offset += values.length;
    }
  }
  const snapshot: ModelSnapshot = { inputs, layers, seed, params };
  if (loss) snapshot.loss = loss;
  if (hasNormalization) {
    const mean = finite('normalization.mean', tensor('normalization.mean'));
    const std = finite('normalization.std', tensor('normalization.std'));
    const bad = std.findIndex((v) => !(v > 0));
    if (bad >= 0) fail(`tensor "normalization.std" holds ${std[bad]} at index ${bad}; standard deviations must be positive`);
    snapshot.normalization = { mean, std };
  }
  if (classes) snapshot.classes = classes;
  if (features) snapshot.features = features;
  if (trainingSummary) snapshot.trainingSummary = trainingSummary;
  if (training) {
    const slots: Float32Array[] = [];
    for (let s = 0; s < training.slots; s++) slots.push(finite(`optimizer.slot${s}`, tensor(`optimizer.slot${s}`)));
    snapshot.trainingState = {
      epochsDone: training.epochsDone,
      rng: training.rng,
      optimizer: { type: training.type, step: training.step, slots },
    };
    if (Object.keys(training.extra).length > 0) snapshot.trainingState.extra = training.extra;
  }
  return snapshot;
}
