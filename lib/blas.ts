// The public mini-BLAS: single-precision GEMM on Float32Arrays.
import { native } from './binding.js';
import { assertBoolean, assertInteger, assertNumber, assertObject, assertKnownKeys } from './validate.js';

export interface SgemmOptions {
  /** Use op(A) = A^T. Default false. */
  transA?: boolean;
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0: C is then never read. */
  beta?: number;
  /** Leading dimensions (elements between row starts). Default: the row width of each matrix. */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Element offsets into a, b and c. Default 0. */
  offsetA?: number;
  offsetB?: number;
  offsetC?: number;
}

function overlaps(x: Float32Array, xFrom: number, xLen: number, y: Float32Array, yFrom: number, yLen: number): boolean {
  if (x.buffer !== y.buffer || xLen === 0 || yLen === 0) return false;
  const a0 = x.byteOffset + xFrom * 4;
  const b0 = y.byteOffset + yFrom * 4;
  return a0 < b0 + yLen * 4 && b0 < a0 + xLen * 4;
}

type SgemmArgs = [
  boolean, boolean, number, number, number, number,
  Float32Array, number, number, Float32Array, number, number,
  number, Float32Array, number, number,
];

/** Validates one sgemm call and returns the native argument list. */
function prepare(
  fn: string,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: SgemmOptions,
): SgemmArgs {
  assertInteger(m, 'm', 0, 2 ** 31 - 1);
  assertInteger(n, 'n', 0, 2 ** 31 - 1);
  assertInteger(k, 'k', 0, 2 ** 31 - 1);
  for (const [name, v] of [['a', a], ['b', b], ['c', c]] as const) {
    if (!(v instanceof Float32Array)) throw new TypeError(`${fn}: ${name} must be a Float32Array`);
  }
  assertObject(options, 'options');
  assertKnownKeys(options as Record<string, unknown>, 'options', [
    'transA', 'transB', 'alpha', 'beta', 'lda', 'ldb', 'ldc', 'offsetA', 'offsetB', 'offsetC',
  ]);
  const transA = options.transA === undefined ? false : assertBoolean(options.transA, 'options.transA');
  const transB = options.transB === undefined ? false : assertBoolean(options.transB, 'options.transB');
  const alpha = options.alpha === undefined ? 1 : assertNumber(options.alpha, 'options.alpha');
  const beta = options.beta === undefined ? 0 : assertNumber(options.beta, 'options.beta');
  const [aRows, aCols] = transA ? [k, m] : [m, k];
  const [bRows, bCols] = transB ? [n, k] : [k, n];
  const ld = (v: unknown, name: string, width: number) =>
    v === undefined ? Math.max(width, 1) : assertInteger(v, `options.${name}`, Math.max(width, 1), 2 ** 31 - 1);
  const lda = ld(options.lda, 'lda', aCols);
  const ldb = ld(options.ldb, 'ldb', bCols);
  const ldc = ld(options.ldc, 'ldc', n);
  const off = (v: unknown, name: string) => (v === undefined ? 0 : assertInteger(v, `options.${name}`, 0));
  const offA = off(options.offsetA, 'offsetA');
  const offB = off(options.offsetB, 'offsetB');
  const offC = off(options.offsetC, 'offsetC');
  const span = (rows: number, cols: number, ldx: number) => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ldx + cols);
  const need = [
    ['a', a, offA, span(aRows, aCols, lda), `${aRows} x ${aCols}${transA ? ' (transposed)' : ''} with lda ${lda}`],
    ['b', b, offB, span(bRows, bCols, ldb), `${bRows} x ${bCols}${transB ? ' (transposed)' : ''} with ldb ${ldb}`],
    ['c', c, offC, span(m, n, ldc), `${m} x ${n} with ldc ${ldc}`],
  ] as const;
  for (const [name, array, offset, elements, shape] of need) {
    if (offset + elements > array.length) {
      throw new RangeError(
        `${fn}: ${name} has ${array.length} elements; ${shape} from offset ${offset} needs ${offset + elements}`,
      );
    }
  }
  const cSpan = span(m, n, ldc);
  if (overlaps(c, offC, cSpan, a, offA, span(aRows, aCols, lda)) || overlaps(c, offC, cSpan, b, offB, span(bRows, bCols, ldb))) {
    throw new RangeError(`${fn}: c overlaps a or b; the output must be a separate array`);
  }
  return [transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc];
}

/**
 * C = alpha * op(A) * op(B) + beta * C, row-major float32, where op(A) is m x k and op(B) is
 * k x n. Validates every size against the arrays; C must not overlap A or B. Runs on the
 * calling thread with this process's compute threads (see setThreads) and returns c.
 */
export function sgemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: SgemmOptions = {},
): Float32Array {
  native.sgemm(...prepare('sgemm', m, n, k, a, b, c, options));
  return c;
}

/**
 * sgemm off the main thread: validates like sgemm, copies the parts of a, b and c it reads,
 * computes on a background thread and writes the result into c before resolving with it.
 * The arrays may be changed (or transferred) meanwhile without harm; if c was detached by
 * then, the promise rejects. Worth it for large products; small ones are cheaper synchronous.
 */
export function sgemmAsync(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  options: SgemmOptions = {},
): Promise<Float32Array> {
  try {
    return native.sgemmAsync(...prepare('sgemmAsync', m, n, k, a, b, c, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Number of threads the native code computes with (training, prediction, sgemm): defaults to
 * the physical cores. Results are bit-identical for any setting: work is split over output
 * tiles only.
 */
export function setThreads(threads: number): void {
  native.setThreads(assertInteger(threads, 'threads', 1, 256));
}

export function getThreads(): number {
  return native.getThreads();
}

/** Name of the kernel set in use: 'avx512', 'avx2' or 'portable'. */
export function kernelName(): string {
  return native.kernelName();
}
