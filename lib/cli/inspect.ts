// mlpstream inspect: what a model file holds, for people.
import { parseCommand, type CommandSpec } from './args.js';
import { openModel } from './load.js';
import { duration, num, pct } from './text.js';

export const inspectSpec: CommandSpec = {
  name: 'inspect',
  summary:
    'Describes a model file: architecture and parameter count, loss, optimizer, training summary,\n' +
    'input statistics, and per-layer weight statistics.',
  positionals: ['model.mlp'],
  flags: {},
  examples: ['mlpstream inspect iris.mlp'],
};

function stats(a: Float32Array): string {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of a) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / a.length;
  let sq = 0;
  for (const v of a) sq += (v - mean) ** 2;
  return `min ${num(min)}  max ${num(max)}  mean ${num(mean)}  std ${num(Math.sqrt(sq / a.length))}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}

export async function inspect(argv: string[]): Promise<number> {
  const parsed = parseCommand(inspectSpec, argv);
  if (!parsed) return 0;
  const file = parsed.positionals[0]!;
  const model = await openModel(file);
  const lines: string[] = [`${file}`];
  const arch = [`${model.inputs} inputs`, ...model.layers.map((l) => `${l.units} ${l.activation}${l.leakySlope !== undefined ? `(${l.leakySlope})` : ''}`)];
  lines.push(`architecture: ${arch.join(' -> ')}`);
  lines.push(`parameters: ${model.parameterCount}`);
  lines.push(`loss: ${model.loss ?? 'not recorded'}`);
  const opt = model.optimizerState;
  const summary = model.trainingSummary;
  // The optimizer's state (to resume from) or, for a model whose weights were set after training
  // (e.g. a regression model with its target scale folded in), what its training summary says.
  const type = opt?.type ?? (typeof summary?.optimizer === 'string' ? summary.optimizer : undefined);
  const lr = typeof summary?.learningRate === 'number' ? `, learning rate ${summary.learningRate}` : '';
  const state = opt ? `, ${opt.step} updates (state saved: training can resume)` : ' (no optimizer state saved)';
  lines.push(`optimizer: ${type ? `${type}${lr}${state}` : 'not recorded (an untrained model)'}`);
  if (model.classes) lines.push(`classes: ${model.classes.map((c) => JSON.stringify(c)).join(', ')}`);
  if (summary) {
    lines.push('training:');
    const known: [string, string | undefined][] = [
      ['epochs', String(summary.epochs)],
      ['loss', summary.loss === undefined ? undefined : num(summary.loss)],
      ['accuracy', summary.accuracy === undefined ? undefined : pct(summary.accuracy)],
      ['rmse', summary.rmse === undefined ? undefined : num(summary.rmse)],
      ['r2', summary.r2 === undefined ? undefined : num(summary.r2)],
      ['date', summary.date],
      ['duration', summary.durationMs === undefined ? undefined : duration(summary.durationMs)],
    ];
    for (const [k, v] of known) if (v !== undefined) lines.push(`  ${k}: ${v}`);
    // Fields tools added (the command line adds target, rows, validation metrics...).
    const shown = new Set(['durationMs', 'learningRate', 'optimizer', ...known.map(([name]) => name)]);
    for (const [k, v] of Object.entries(summary)) {
      if (shown.has(k) || v === undefined) continue;
      const text = typeof v === 'number' ? (/Accuracy$/.test(k) ? pct(v) : num(v)) : typeof v === 'string' ? v : JSON.stringify(v);
      lines.push(`  ${k}: ${text}`);
    }
  }
  const norm = model.normalization;
  const names = model.features ?? Array.from({ length: model.inputs }, (_, i) => `input ${i}`);
  lines.push(norm ? 'inputs (standardised with these statistics):' : 'inputs (used as given, no standardisation):');
  const rows = [['feature', ...(norm ? ['mean', 'std'] : [])]];
  names.forEach((n, i) => rows.push([n, ...(norm ? [num(norm.mean[i]!), num(norm.std[i]!)] : [])]));
  lines.push(...table(rows));
  lines.push('weights:');
  model.getWeights().forEach((w, l) => {
    lines.push(`  layer ${l} [${w.shape[0]} x ${w.shape[1]}] ${model.layers[l]!.activation}`);
    lines.push(`    weights: ${stats(w.weights)}`);
    lines.push(`    biases:  ${stats(w.bias)}`);
  });
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
