// Argument checks and conversions. Everything that reaches the native code passes through
// here first, so a wrong argument is a TypeError or RangeError that names it, never a crash.

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + '...' : value)}`;
  return typeof value;
}

export function assertObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

export function assertInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export interface NumberBounds {
  min?: number;
  max?: number;
  /** min itself is not allowed */
  minExclusive?: boolean;
  /** max itself is not allowed */
  maxExclusive?: boolean;
}

export function assertNumber(value: unknown, name: string, bounds: NumberBounds = {}): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
  const { min, max, minExclusive = false, maxExclusive = false } = bounds;
  if (min !== undefined && (value < min || (minExclusive && value === min))) {
    throw new RangeError(`${name} must be ${minExclusive ? 'greater than' : 'at least'} ${min}, got ${value}`);
  }
  if (max !== undefined && (value > max || (maxExclusive && value === max))) {
    throw new RangeError(`${name} must be ${maxExclusive ? 'less than' : 'at most'} ${max}, got ${value}`);
  }
  return value;
}

export function assertBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function assertOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const ErrorClass = typeof value === 'string' ? RangeError : TypeError;
    throw new ErrorClass(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** Rejects option keys the callee does not know (a typo would otherwise be silently ignored). */
export function assertKnownKeys(value: Record<string, unknown>, name: string, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${name} has an unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

export interface MatrixData {
  data: Float32Array;
  rows: number;
}

function checkFinite(data: ArrayLike<number>, cols: number, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new RangeError(
        `${name}[${Math.floor(i / cols)}][${i % cols}] is ${v}; data must be finite (no NaN or Infinity)`,
      );
    }
  }
}

/**
 * Float32Arrays of more elements than this may leave their NaN check to the native side, which
 * makes it on the training thread while it copies them (native/core/nn/dataset_load.h copies
 * arrays of this size and less on the JS thread, checking them too).
 */
export const DEFERRED_CHECK_ELEMENTS = 1 << 18;

/**
 * A matrix of `cols` columns from rows (number[][]) or a flat row-major Float32Array (or
 * Float64Array, converted). Always returns a fresh or validated Float32Array and the row count.
 * With `deferFiniteCheck`, a big Float32Array is returned unchecked for NaN and Infinity: the
 * caller hands it to native code that checks it.
 */
export function toMatrix(value: unknown, cols: number, name: string, what = 'values', deferFiniteCheck = false): MatrixData {
  if (value instanceof Float32Array || value instanceof Float64Array) {
    if (value.length % cols !== 0) {
      throw new RangeError(
        `${name} has ${value.length} elements, not a multiple of ${cols} (${what} per row); ` +
          `a flat ${value.constructor.name} holds rows one after another`,
      );
    }
    if (!(deferFiniteCheck && value instanceof Float32Array && value.length > DEFERRED_CHECK_ELEMENTS)) {
      checkFinite(value, cols, name);
    }
    const data = value instanceof Float32Array ? value : Float32Array.from(value);
    return { data, rows: value.length / cols };
  }
  if (!Array.isArray(value)) {
    throw new TypeError(`${name} must be an array of rows (number[][]) or a flat Float32Array, got ${describe(value)}`);
  }
  const rows = value.length;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row: unknown = value[r];
    if (!Array.isArray(row) && !(row instanceof Float32Array) && !(row instanceof Float64Array)) {
      throw new TypeError(`${name}[${r}] must be an array of ${cols} numbers, got ${describe(row)}`);
    }
    const cells = row as ArrayLike<unknown>;
    if (cells.length !== cols) {
      throw new RangeError(`${name}[${r}] has ${cells.length} ${what}, expected ${cols}`);
    }
    for (let c = 0; c < cols; c++) {
      const v = cells[c];
      if (typeof v !== 'number') throw new TypeError(`${name}[${r}][${c}] must be a number, got ${describe(v)}`);
      if (!Number.isFinite(v)) {
        throw new RangeError(`${name}[${r}][${c}] is ${v}; data must be finite (no NaN or Infinity)`);
      }
      data[r * cols + c] = v;
    }
  }
  return { data, rows };
}

/** True when `value` looks like integer class labels rather than rows of targets. */
export function isLabelVector(value: unknown): boolean {
  if (value instanceof Int32Array) return true;
  return Array.isArray(value) && (value.length === 0 || typeof value[0] === 'number');
}

/** Class indices in [0, classes) from number[] or Int32Array. */
export function toLabels(value: unknown, classes: number, name: string): Int32Array {
  if (!(value instanceof Int32Array) && !Array.isArray(value)) {
    throw new TypeError(`${name} must be integer class labels (number[] or Int32Array), got ${describe(value)}`);
  }
  const labels = new Int32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new TypeError(`${name}[${i}] must be an integer class label, got ${describe(v)}`);
    }
    if (v < 0 || v >= classes) {
      throw new RangeError(`${name}[${i}] is ${v}, outside the ${classes} classes 0..${classes - 1}`);
    }
    labels[i] = v;
  }
  return labels;
}
