// Reading a CSV file (with a header) into a feature matrix and a column of target strings, with
// one clear error naming the line and column of the first problem. Writing CSV output.
import { createReadStream } from 'node:fs';

import { parse } from 'csv-parse';

import { CliError, DECIMAL } from './args.js';

export interface Table {
  /** Every column of the header, in file order. */
  header: string[];
  /** The feature columns, in the order of x's columns. */
  features: string[];
  /** Rows x features, row-major. */
  x: Float32Array;
  rows: number;
  /** The target column's values (trimmed) when a target was asked for. */
  target?: string[];
  /** The file line each row starts on (for messages about a row). */
  lines: Uint32Array;
}

export interface TableRequest {
  /** The target column (train). */
  target?: string;
  /** Columns to leave out (train); each must exist. */
  ignore?: string[];
  /**
   * The feature columns by name, in this order (predict: the model's features). Without it,
   * every column but the target and the ignored ones is a feature.
   */
  features?: readonly string[];
}

/** Reads `file`; throws a CliError naming the file, line and column of the first problem. */
export async function readTable(file: string, request: TableRequest): Promise<Table> {
  const parser = parse({ bom: true, trim: true, relax_column_count: true, skip_empty_lines: true, info: true });
  // pipe() does not forward the file's errors (a missing file...): end the parse with them.
  createReadStream(file)
    .on('error', (error) => parser.destroy(error))
    .pipe(parser);
  let header: string[] | undefined;
  let featureIndex: number[] = [];
  let targetIndex = -1;
  let x = new Float32Array(1024);
  let lines = new Uint32Array(64);
  let rows = 0;
  const target: string[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      if (!header) {
        header = record;
        ({ featureIndex, targetIndex } = pickColumns(file, header, request));
        x = new Float32Array(Math.max(1024, featureIndex.length * 256));
        continue;
      }
      if (record.length !== header.length) {
        throw new CliError(
          `${file} line ${line}: ${record.length} field${record.length === 1 ? '' : 's'}, but the header has ${header.length} (ragged row)`,
        );
      }
      const width = featureIndex.length;
      if ((rows + 1) * width > x.length) x = grow(x, new Float32Array(Math.max((rows + 1) * width, x.length * 2)));
      if (rows + 1 > lines.length) lines = grow(lines, new Uint32Array(lines.length * 2));
      lines[rows] = line;
      for (let j = 0; j < width; j++) {
        const c = featureIndex[j]!;
        const cell = record[c]!;
        const v = Number(cell);
        if (!DECIMAL.test(cell) || !Number.isFinite(v) || Math.abs(v) > 3.4e38) {
          const what = cell === '' ? 'is empty' : `has ${JSON.stringify(cell)}`;
          throw new CliError(`${file} line ${line}, column "${header[c]}" ${what}: feature columns must hold numbers`);
        }
        x[rows * width + j] = v;
      }
      if (targetIndex >= 0) {
        const value = record[targetIndex]!;
        if (value === '') throw new CliError(`${file} line ${line}, column "${header[targetIndex]}": the target is empty`);
        target.push(value);
      }
      rows++;
    }
  } catch (error) {
    throw asCliError(error, file);
  }
  if (!header) throw new CliError(`${file} is empty: expected a header line, then rows`);
  if (rows === 0) throw new CliError(`${file} has a header but no rows`);
  const table: Table = {
    header,
    features: featureIndex.map((c) => header![c]!),
    x: x.slice(0, rows * featureIndex.length),
    rows,
    lines: lines.slice(0, rows),
  };
  if (targetIndex >= 0) table.target = target;
  return table;
}

function pickColumns(file: string, header: string[], request: TableRequest): { featureIndex: number[]; targetIndex: number } {
  const seen = new Map<string, number>();
  header.forEach((name, c) => {
    if (name === '') throw new CliError(`${file} line 1: column ${c + 1} has no name`);
    if (seen.has(name)) throw new CliError(`${file} line 1: column "${name}" appears twice`);
    seen.set(name, c);
  });
  const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
  let targetIndex = -1;
  if (request.target !== undefined) {
    targetIndex = seen.get(request.target) ?? -1;
    if (targetIndex < 0) throw new CliError(`${file} has no target column "${request.target}" (columns: ${quoted(header)})`);
  }
  if (request.features) {
    const missing = request.features.filter((n) => !seen.has(n));
    if (missing.length > 0) {
      throw new CliError(`${file} lacks the model's feature column${missing.length === 1 ? '' : 's'} ${quoted(missing)}`);
    }
    return { featureIndex: request.features.map((n) => seen.get(n)!), targetIndex };
  }
  const ignore = new Set(request.ignore ?? []);
  const unknown = [...ignore].filter((n) => !seen.has(n));
  if (unknown.length > 0) throw new CliError(`--ignore names ${quoted(unknown)}, not a column of ${file}`);
  if (request.target !== undefined && ignore.has(request.target)) throw new CliError(`--ignore lists the target column "${request.target}"`);
  const featureIndex = header.map((_, c) => c).filter((c) => c !== targetIndex && !ignore.has(header[c]!));
  if (featureIndex.length === 0) throw new CliError(`${file} has no feature columns left (only the target and ignored ones)`);
  return { featureIndex, targetIndex };
}

function grow<T extends Float32Array | Uint32Array>(a: T, bigger: T): T {
  bigger.set(a);
  return bigger;
}

function asCliError(error: unknown, file: string): Error {
  if (error instanceof CliError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new CliError(`cannot read ${file}: no such file`);
  if (e.code === 'EISDIR') return new CliError(`cannot read ${file}: it is a directory`);
  if (e.code === 'EACCES') return new CliError(`cannot read ${file}: permission denied`);
  // csv-parse's own errors (an unclosed quote, a quote inside an unquoted field...).
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) return new CliError(`${file} is not valid CSV: ${e.message}`);
  return error as Error;
}

/** One CSV field, quoted when it must be (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}
