// mlpstream predict: a model and a CSV file in, one prediction per row out (CSV or JSON).
import { predictedClasses, writeFileAtomic, type MLP } from '../index.js';
import { CliError, parseCommand, type CommandSpec } from './args.js';
import { csvLine, readTable } from './csv.js';
import { openModel } from './load.js';

export const predictSpec: CommandSpec = {
  name: 'predict',
  summary:
    "Predicts every row of a CSV file. Columns are matched by name to the model's features (others are\n" +
    'ignored); a classifier answers with its class labels. Output: CSV (a "prediction" column, and one\n' +
    'probability column per class with --proba) or JSON, on stdout or into --out.',
  positionals: ['model.mlp', 'data.csv'],
  flags: {
    out: { type: 'string', value: '<file>', help: 'write the predictions there (atomically) instead of stdout' },
    proba: { type: 'boolean', help: 'add each class probability' },
    json: { type: 'boolean', help: 'JSON (an array of {"prediction", "probabilities"?}) instead of CSV' },
  },
  examples: ['mlpstream predict iris.mlp new-flowers.csv --proba --out predictions.csv'],
};

/** Rows of [label or value, per-class probabilities]. */
interface Predictions {
  names: string[];
  prediction: (string | number)[];
  probabilities?: number[][];
}

function decode(model: MLP, y: Float32Array, rows: number, proba: boolean): Predictions {
  const k = model.outputs;
  const classifier = model.loss === 'crossEntropy' || model.loss === 'binaryCrossEntropy' || model.classes !== undefined;
  if (!classifier) {
    // Regression: the value(s) themselves.
    const prediction: number[] = [];
    if (k === 1) for (let r = 0; r < rows; r++) prediction.push(y[r]!);
    const out: Predictions = { names: [], prediction };
    if (k > 1) {
      out.names = Array.from({ length: k }, (_, j) => `prediction_${j}`);
      out.probabilities = Array.from({ length: rows }, (_, r) => Array.from(y.subarray(r * k, (r + 1) * k)));
    }
    return out;
  }
  const names = model.classes ? [...model.classes] : Array.from({ length: k === 1 ? 2 : k }, (_, j) => String(j));
  const classes = predictedClasses(y, rows, k);
  const out: Predictions = { names, prediction: Array.from(classes, (c) => names[c]!) };
  if (proba) {
    out.probabilities = Array.from({ length: rows }, (_, r) => (k === 1 ? [1 - y[r]!, y[r]!] : Array.from(y.subarray(r * k, (r + 1) * k))));
  }
  return out;
}

function render(p: Predictions, json: boolean): string {
  const rows = p.prediction.length || p.probabilities!.length;
  const multiValue = p.prediction.length === 0;
  if (json) {
    const items = Array.from({ length: rows }, (_, r) => {
      if (multiValue) return { prediction: p.probabilities![r] };
      const item: Record<string, unknown> = { prediction: p.prediction[r] };
      if (p.probabilities) item.probabilities = Object.fromEntries(p.names.map((n, j) => [n, p.probabilities![r]![j]]));
      return item;
    });
    return JSON.stringify(items) + '\n';
  }
  const header = multiValue ? p.names : ['prediction', ...(p.probabilities ? p.names.map((n) => `p(${n})`) : [])];
  let text = csvLine(header);
  for (let r = 0; r < rows; r++) {
    const fields = multiValue ? [] : [String(p.prediction[r])];
    if (p.probabilities) fields.push(...p.probabilities[r]!.map(String));
    text += csvLine(fields);
  }
  return text;
}

export async function predict(argv: string[]): Promise<number> {
  const parsed = parseCommand(predictSpec, argv);
  if (!parsed) return 0;
  const [modelFile, dataFile] = parsed.positionals as [string, string];
  const { out, proba, json } = parsed.values;
  if (out === '') throw new CliError('--out needs a file name');
  const model = await openModel(modelFile);
  // A model saved without feature names takes the CSV's columns in order.
  const table = await readTable(dataFile, model.features ? { features: model.features } : {});
  if (table.features.length !== model.inputs) {
    throw new CliError(`${dataFile} has ${table.features.length} columns, the model takes ${model.inputs} inputs (and has no feature names to pick them by)`);
  }
  const y = await model.predictAsync(table.x);
  const text = render(decode(model, y, table.rows, proba === true), json === true);
  if (typeof out === 'string') {
    await writeFileAtomic(out, Buffer.from(text, 'utf8'), 'the predictions');
    console.error(`${table.rows} predictions written to ${out}`);
  } else {
    process.stdout.write(text);
  }
  return 0;
}
