// mlpstream demo (npm start): the lesson mlpstream comes from, in the terminal. A single neuron
// (logistic regression) draws one straight boundary, so it solves AND and OR but never XOR; one
// hidden tanh layer bends the boundary and solves it. Epochs stream in as they train, natively,
// off the main thread. --report also writes both models' decision regions as an HTML page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { loadModel, MLP, type EpochMetrics } from '../index.js';
import { parseCommand, required, type CommandSpec } from './args.js';
import { writeReport } from './report.js';
import { painter } from './text.js';

export const demoSpec: CommandSpec = {
  name: 'demo',
  summary:
    'The XOR lesson: logistic regression (one sigmoid neuron) against a 2-4-1 tanh network, trained\n' +
    'as you watch, with their decision regions drawn as character grids.',
  positionals: [],
  flags: { report: { type: 'string', value: '<file.html>', help: 'also write the HTML report (both decision regions)' } },
  examples: ['mlpstream demo --report xor.html'],
};

const X = [[0, 0], [0, 1], [1, 0], [1, 1]];
const XOR = [[0], [1], [1], [0]];
const { paint, bold, dim } = painter(process.stdout);

function pct(x: number | undefined): string {
  return `${((x ?? 0) * 100).toFixed(0).padStart(3)}%`;
}

/** Trains full-batch, printing a line every `every` epochs as the metrics stream in. */
async function train(model: MLP, epochs: number, every: number, y = XOR, history: EpochMetrics[] = []): Promise<EpochMetrics> {
  const stream = model.train(
    { x: X, y },
    { epochs, batchSize: 'full', loss: 'binaryCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.5 }, highWaterMark: 64 },
  );
  for await (const m of stream as AsyncIterable<EpochMetrics>) {
    history.push(m);
    if (every > 0 && (m.epoch === 1 || m.epoch % every === 0)) {
      const hidden = m.layers.length > 1 ? dim(`  hidden |grad| ${m.layers[0]!.gradNorm.toExponential(1)}`) : '';
      console.log(`  epoch ${String(m.epoch).padStart(5)}  loss ${m.loss.toFixed(4)}  accuracy ${pct(m.accuracy)}${hidden}`);
    }
  }
  return history[history.length - 1]!;
}

/**
 * The decision regions over the square [-0.5, 1.5]^2 as characters: '#' where the model says
 * 1, '.' where it says 0, and the four training points as their labels.
 */
function drawRegions(model: MLP): void {
  const cols = 41;
  const rows = 17;
  const lo = -0.5;
  const hi = 1.5;
  const grid = new Float32Array(cols * rows * 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      grid[(r * cols + c) * 2] = lo + ((hi - lo) * c) / (cols - 1);
      grid[(r * cols + c) * 2 + 1] = hi - ((hi - lo) * r) / (rows - 1);
    }
  }
  const p = model.predict(grid);
  const cell = (x: number, y: number) => [Math.round(((x - lo) / (hi - lo)) * (cols - 1)), Math.round(((hi - y) / (hi - lo)) * (rows - 1))];
  const points = new Map(X.map((pt, i) => [cell(pt[0]!, pt[1]!).join(','), String(XOR[i]![0])]));
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = '    ';
    for (let c = 0; c < cols; c++) {
      const label = points.get(`${c},${r}`);
      const one = p[r * cols + c]! >= 0.5;
      if (label !== undefined) line += bold(label === String(one ? 1 : 0) ? paint(32, label) : paint(31, label));
      else line += one ? paint(36, '#') : dim('.');
    }
    lines.push(line);
  }
  console.log(lines.join('\n'));
  const verdicts = X.map((pt, i) => {
    const predicted = model.predict([pt])[0]! >= 0.5 ? 1 : 0;
    return `(${pt}) -> ${predicted} ${predicted === XOR[i]![0] ? 'right' : paint(31, 'WRONG')}`;
  });
  console.log(`    ${verdicts.join('   ')}`);
  console.log(dim(`    '#' = predicts 1, '.' = predicts 0; the digits are the four XOR points (green: right, red: wrong)\n`));
}

export async function demo(argv: string[]): Promise<number> {
  const parsed = parseCommand(demoSpec, argv);
  if (!parsed) return 0;
  const report = parsed.values.report === undefined ? undefined : required(parsed.values, 'report', 'demo');

  console.log(bold('\nXOR: the output is 1 when exactly one input is 1.'));
  console.log('  x1 x2 | y\n' + X.map((x, i) => `   ${x[0]}  ${x[1]} | ${XOR[i]![0]}`).join('\n') + '\n');

  console.log(bold('1. Logistic regression: one sigmoid neuron, sigmoid(w.x + b). One straight boundary.'));
  for (const [gate, y] of [['AND', [[0], [0], [0], [1]]], ['OR', [[0], [1], [1], [1]]]] as const) {
    const neuron = new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], seed: 7 });
    const m = await train(neuron, 2000, 0, y.map((r) => [...r]));
    console.log(`  ${gate.padEnd(3)}: ${pct(m.accuracy)} accuracy after 2000 epochs (a line separates it)`);
  }
  console.log('  XOR:');
  const logistic = new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], seed: 7, features: ['x1', 'x2'], classes: ['0', '1'] });
  const lr = await train(logistic, 2000, 500);
  const p0 = logistic.predict(X);
  console.log(`  -> stalls: loss ${lr.loss.toFixed(4)} = log 2, accuracy never above 75%. No line separates XOR, so the`);
  console.log(`     best a single neuron can do is sit on the fence: p = ${Array.from(p0, (v) => v.toFixed(3)).join(', ')}\n`);
  drawRegions(logistic);

  console.log(bold('2. A multilayer perceptron: 2 inputs -> 4 tanh units -> 1 sigmoid output.'));
  const mlp = new MLP({
    inputs: 2,
    layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }],
    seed: 7,
    features: ['x1', 'x2'],
    classes: ['0', '1'],
  });
  const history: EpochMetrics[] = [];
  const t0 = performance.now();
  const done = await train(mlp, 3000, 500, XOR, history);
  const ms = performance.now() - t0;
  console.log(`  -> ${pct(done.accuracy)} accuracy, loss ${done.loss.toFixed(4)}: 3000 epochs in ${ms.toFixed(0)} ms, streamed as they ran\n`);
  drawRegions(mlp);

  console.log(bold('3. Save, load back, predict.'));
  const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-demo-'));
  try {
    const file = path.join(dir, 'xor.mlp');
    await mlp.save(file);
    const served = await loadModel(file);
    const p = served.predict(X);
    console.log(`  saved to ${file} and loaded back:`);
    X.forEach((x, i) => console.log(`    predict([${x}]) = ${p[i]!.toFixed(4)}  -> ${p[i]! >= 0.5 ? 1 : 0}  (want ${XOR[i]![0]})`));
    const same = p.every((v, i) => v === mlp.predict(X)[i]);
    console.log(`  identical to the trained model's predictions: ${same ? 'yes' : 'NO'}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (report !== undefined) {
    await writeReport(report, {
      title: 'XOR: logistic regression against a 2-4-1 tanh network',
      history,
      model: mlp,
      data: { x: Float32Array.from(X.flat()), inputs: 2, labels: Int32Array.from(XOR, (r) => r[0]!), classNames: ['0', '1'], featureNames: ['x1', 'x2'] },
      baselines: [{ name: 'logistic regression (one sigmoid neuron)', model: logistic }],
    });
    console.log(`report: ${report}`);
  }
  return 0;
}
