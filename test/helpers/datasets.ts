// The small real datasets in test/fixtures/data (see README.md there), with their fixed split.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Split {
  x: Float32Array;
  y: Int32Array;
  rows: number;
}

export function loadDataset(name: 'iris' | 'wine'): { features: number; classes: number; train: Split; test: Split } {
  const text = readFileSync(path.join(here, '..', 'fixtures', 'data', `${name}.csv`), 'utf8').trim();
  const [header, ...lines] = text.split('\n');
  const columns = header!.split(',');
  const features = columns.length - 2;
  const parts: Record<string, { x: number[]; y: number[] }> = { train: { x: [], y: [] }, test: { x: [], y: [] } };
  for (const line of lines) {
    const cells = line.split(',');
    const part = parts[cells[features + 1]!.trim()]!;
    part.x.push(...cells.slice(0, features).map(Number));
    part.y.push(Number(cells[features]));
  }
  const toSplit = (p: { x: number[]; y: number[] }): Split => ({
    x: Float32Array.from(p.x),
    y: Int32Array.from(p.y),
    rows: p.y.length,
  });
  const train = toSplit(parts.train!);
  return { features, classes: Math.max(...train.y) + 1, train, test: toSplit(parts.test!) };
}
