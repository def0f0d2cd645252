// The seeded train/validation split: stratified by class for classification, so both parts
// keep the class proportions (what scikit-learn's train_test_split(stratify=y) does).

/** mulberry32: a small seeded generator; the split needs reproducibility, not quality. */
function generator(seed: number): () => number {
  let a = (seed ^ 0x5bd1e995) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Row indices of the validation part (sorted) for a fraction of `rows`. `classOf(row)` gives a
 * row's class for stratification, or null to split at random.
 */
export function validationRows(rows: number, fraction: number, seed: number, classOf: ((row: number) => number) | null): Uint32Array {
  const random = generator(seed);
  const groups = new Map<number, number[]>();
  for (let r = 0; r < rows; r++) {
    const key = classOf ? classOf(r) : 0;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(r);
  }
  const chosen: number[] = [];
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const group = groups.get(key)!;
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
    chosen.push(...group.slice(0, Math.round(group.length * fraction)));
  }
  return Uint32Array.from(chosen.sort((a, b) => a - b));
}

/** Splits rows of a row-major matrix into the rows not in `picked` and those in it. */
export function splitRows<T extends Float32Array | Int32Array>(data: T, width: number, picked: Uint32Array): [T, T] {
  const Ctor = data.constructor as new (n: number) => T;
  const rows = data.length / width;
  const validation = new Ctor(picked.length * width);
  const training = new Ctor((rows - picked.length) * width);
  let p = 0;
  let t = 0;
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * width, (r + 1) * width);
    if (p < picked.length && picked[p] === r) validation.set(row, width * p++);
    else training.set(row, width * t++);
  }
  return [training, validation];
}
