// The mlpstream command, run as users run it: the BUILT dist/cli.cjs in a child process, in a
// temporary folder, on the real datasets of test/fixtures/data (and a synthetic regression).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import { freshCli, repoRoot } from './helpers/dist.js';
import { rng } from './helpers/reference.js';

let cli = '';
const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-cli-'));
const at = (name: string) => path.join(dir, name);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built command in the temporary folder (several at once where a test has many). */
function run(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (error && code === null) reject(error);
      else resolve({ code, stdout, stderr });
    });
  });
}

/** A refusal: non-zero exit, exactly one line on stderr (no stack trace), matching `message`. */
function expectRefusal(r: Result, message: RegExp, code?: number): void {
  expect(r.code, r.stderr).not.toBe(0);
  if (code !== undefined) expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mlpstream: /);
  expect(lines[0]).toMatch(message);
}

/** Several refusals, run at once. */
async function refusals(cases: [Promise<Result>, RegExp][]): Promise<void> {
  const results = await Promise.all(cases.map(([result]) => result));
  cases.forEach(([, message], i) => expectRefusal(results[i]!, message));
}

/** A CSV file's rows as objects (simple files: no quoted commas in what we read back). */
function readCsv(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const names = header!.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i]!, v])));
}

const SPECIES = ['setosa', 'versicolor', 'virginica'];

beforeAll(() => {
  cli = freshCli();
  // Iris with its class names as labels (what users have), written with a byte-order mark,
  // CRLF line ends and a quoted header field, as spreadsheet programs write CSV.
  const [header, ...rows] = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'data', 'iris.csv'), 'utf8').trim().split(/\r?\n/);
  const cols = header!.split(',');
  const named = rows.map((r) => r.split(',')).map((c) => [...c.slice(0, 4), SPECIES[Number(c[4])]!, c[5]!]);
  const head = [...cols.slice(0, 4).map((c) => `"${c}"`), 'species', 'split'].join(',');
  writeFileSync(at('iris-train.csv'), '\uFEFF' + [head, ...named.filter((c) => c[5] === 'train').map((c) => c.join(','))].join('\r\n') + '\r\n');
  // The test rows without their label, columns in another order, and an extra column.
  const test = named.filter((c) => c[5] === 'test');
  writeFileSync(at('iris-test.csv'), ['id,petal width (cm),petal length (cm),sepal width (cm),sepal length (cm)', ...test.map((c, i) => [i, c[3], c[2], c[1], c[0]].join(','))].join('\n') + '\n');
  writeFileSync(at('iris-test-labels.json'), JSON.stringify(test.map((c) => c[4])));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the build', () => {
  it('dist/cli.cjs is an executable script that uses dist/index.cjs, with no second copy of the library', async () => {
    const text = readFileSync(cli, 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).toContain('require("./index.cjs")');
    for (const copy of ['class MLP', 'class TrainingStream', 'NativeModel', 'class ModelFormatError', 'crc32c']) expect(text).not.toContain(copy);
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ mlpstream: 'dist/cli.cjs' });
    expect(pkg.scripts.start).toBe('node dist/cli.cjs demo');
  });
});

describe('help and arguments', () => {
  it('--help on every command: usage, options and an example', async () => {
    const commands = ['train', 'predict', 'inspect', 'serve', 'export-onnx', 'demo'];
    const results = await Promise.all(commands.map((command) => run(command, '--help')));
    for (const [i, command] of commands.entries()) {
      const r = results[i]!;
      expect(r.code, command).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: mlpstream ${command} `));
      expect(r.stdout).toMatch(/\n {2}--help +this help\n/);
      expect(r.stdout).toMatch(new RegExp(`examples?:\\n {2}mlpstream ${command} `));
    }
    const top = await run('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/train .*\n {2}predict .*\n {2}inspect .*\n {2}serve .*\n {2}export-onnx .*\n {2}demo /);
    expect((await run()).code).toBe(2);
    expectRefusal(await run('frobnicate'), /unknown command "frobnicate"/, 2);
  });

  it('an unknown flag, a missing value or a bad value: one line naming the flag, exit 2, no output file', async () => {
    const base = ['train', 'iris-train.csv', '--target', 'species', '--out', 'bad-flag.mlp'];
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown flag --bogus/],
      [['--epochs'], /flag --epochs needs a value/],
      [['--epochs', '0'], /--epochs must be an integer from 1 .* got "0"/],
      [['--epochs', '1e3'], /--epochs must be an integer/],
      [['--lr', 'fast'], /--lr must be a number in \(0, 10\], got "fast"/],
      [['--validation-split', '1'], /--validation-split must be a fraction in \[0, 1\)/],
      [['--layers', '16,x'], /--layers must be an integer .* got "x"/],
      [['--activation', 'swish'], /--activation must be one of relu, leakyRelu, tanh, sigmoid, linear, got "swish"/],
      [['--batch-size', '-3'], /flag --batch-size needs a value \(write --batch-size=-1 for one starting with '-'\)/],
      [['--batch-size=-3'], /--batch-size must be an integer from 1 to \d+, got "-3"/],
      [['--batch-size', '0'], /--batch-size must be an integer from 1 to \d+, got "0"/],
      [['--help=yes'], /flag --help takes no value/],
      [['--loss', 'hinge'], /--loss must be one of auto, crossEntropy, binaryCrossEntropy, mse/],
      [['--proba'], /unknown flag --proba/],
    ];
    const results = await Promise.all(cases.map(([extra]) => run(...base, ...extra)));
    cases.forEach(([, message], i) => expectRefusal(results[i]!, message, 2));
    expectRefusal(await run('train', 'iris-train.csv', '--out', 'bad-flag.mlp'), /--target is required/, 2);
    expectRefusal(await run('predict', 'only-one-argument.mlp'), /predict takes model\.mlp, data\.csv/, 2);
    expectRefusal(await run('serve', 'x.mlp', '--port', '70000'), /--port must be an integer from 0 to 65535/, 2);
    expect(existsSync(at('bad-flag.mlp'))).toBe(false);
  });
});

describe('train, predict, inspect, export-onnx on iris (class names as labels)', () => {
  let trained: Result;
  beforeAll(async () => {
    trained = await run(
      'train', 'iris-train.csv', '--target', 'species', '--ignore', 'split', '--layers', '16', '--epochs', '150',
      '--lr', '0.01', '--seed', '3', '--out', 'iris.mlp', '--report', 'iris.html',
    );
  });

  it('trains: one plain line per epoch off a terminal, and says which epoch it saved', async () => {
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/^112 rows, 4 features -> "species": 3 classes \(crossEntropy, softmax output\)/);
    const epochs = trained.stdout.split('\n').filter((l) => /^epoch \d+\/150 /.test(l));
    expect(epochs).toHaveLength(150);
    expect(epochs[0]).toMatch(/loss [\d.e-]+ {2}accuracy [\d.]+% {2}val loss [\d.e-]+ {2}val accuracy [\d.]+% {2}\d+ samples\/s {2}.* left$/);
    // The saved epoch is the one with the lowest validation loss among those printed.
    const valLosses = epochs.map((l) => Number(/val loss ([\d.e-]+)/.exec(l)![1]));
    const bestEpoch = valLosses.indexOf(Math.min(...valLosses)) + 1;
    expect(trained.stdout).toContain(`saved iris.mlp: epoch ${bestEpoch} of 150, the lowest validation loss`);
    expect(readFileSync(at('iris.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  it('predict matches columns by name, gives the original labels, and is >= 90% accurate on the held-out rows', async () => {
    const r = await run('predict', 'iris.mlp', 'iris-test.csv', '--out', 'iris-pred.csv');
    expect(r.code, r.stderr).toBe(0);
    const want = JSON.parse(readFileSync(at('iris-test-labels.json'), 'utf8')) as string[];
    const got = readCsv(at('iris-pred.csv')).map((row) => row.prediction!);
    expect(got).toHaveLength(38);
    expect(new Set(got).size).toBeGreaterThan(1);
    for (const label of got) expect(SPECIES).toContain(label);
    const accuracy = got.filter((g, i) => g === want[i]).length / got.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it('--proba adds one probability column per class (rows sum to 1); --json gives the same as objects', async () => {
    const csv = await run('predict', 'iris.mlp', 'iris-test.csv', '--proba');
    expect(csv.code).toBe(0);
    const rows = readCsvText(csv.stdout);
    expect(Object.keys(rows[0]!)).toEqual(['prediction', 'p(setosa)', 'p(versicolor)', 'p(virginica)']);
    for (const row of rows) {
      const p = SPECIES.map((s) => Number(row[`p(${s})`]));
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row.prediction).toBe(SPECIES[p.indexOf(Math.max(...p))]);
    }
    const json = await run('predict', 'iris.mlp', 'iris-test.csv', '--proba', '--json');
    const items = JSON.parse(json.stdout) as { prediction: string; probabilities: Record<string, number> }[];
    expect(items.map((i) => i.prediction)).toEqual(rows.map((r) => r.prediction));
    expect(Object.keys(items[0]!.probabilities)).toEqual(SPECIES);
  });

  it('inspect: architecture, parameter count, loss, optimizer, summary, input statistics, weight statistics', async () => {
    const r = await run('inspect', 'iris.mlp');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('architecture: 4 inputs -> 16 relu -> 3 softmax');
    expect(r.stdout).toContain('parameters: 131');
    expect(r.stdout).toContain('loss: crossEntropy');
    expect(r.stdout).toMatch(/optimizer: adam, learning rate 0\.01, \d+ updates/);
    expect(r.stdout).toContain('classes: "setosa", "versicolor", "virginica"');
    expect(r.stdout).toMatch(/target: species/);
    expect(r.stdout).toMatch(/\n {2}petal width \(cm\) +[\d.]+ +[\d.]+\n/);
    expect(r.stdout).toMatch(/layer 0 \[4 x 16\] relu\n {4}weights: min -?[\d.]+ {2}max [\d.]+ {2}mean -?[\d.e-]+ {2}std [\d.]+\n {4}biases: /);
    expect(r.stdout).toContain('layer 1 [16 x 3] softmax');
    // The file holds the feature names (format 1.1), used to match the columns.
    const model = MLP.fromBuffer(readFileSync(at('iris.mlp')));
    expect(model.features).toEqual(['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']);
    expect(model.classes).toEqual(SPECIES);
  });

  it('export-onnx writes an ONNX file', async () => {
    const r = await run('export-onnx', 'iris.mlp', 'iris.onnx');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(at('iris.onnx')).length).toBeGreaterThan(500);
    expectRefusal(await run('export-onnx', 'iris.mlp', path.join('no-such-dir', 'x.onnx')), /cannot save .*no-such-dir.*the directory does not exist/);
  });
});

function readCsvText(text: string): Record<string, string>[] {
  const file = at('parsed.csv');
  writeFileSync(file, text);
  return readCsv(file);
}

describe('other targets', () => {
  it('wine: an integer target is a class label; predictions come back as those labels', async () => {
    const r = await run('train', path.join(repoRoot, 'test', 'fixtures', 'data', 'wine.csv'), '--target', 'target', '--ignore', 'split', '--layers', '32', '--epochs', '60', '--lr', '0.01', '--out', 'wine.mlp');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/178 rows, 13 features -> "target": 3 classes/);
    const p = await run('predict', 'wine.mlp', path.join(repoRoot, 'test', 'fixtures', 'data', 'wine.csv'), '--json');
    const labels = (JSON.parse(p.stdout) as { prediction: string }[]).map((i) => i.prediction);
    const want = readCsv(path.join(repoRoot, 'test', 'fixtures', 'data', 'wine.csv')).map((row) => row.target);
    expect(new Set(labels)).toEqual(new Set(['0', '1', '2']));
    expect(labels.filter((l, i) => l === want[i]).length / labels.length).toBeGreaterThanOrEqual(0.9);
  });

  it('two classes: one sigmoid output with binary cross-entropy, labels decoded', async () => {
    const rows = readFileSync(at('iris-train.csv'), 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
    writeFileSync(at('binary.csv'), [rows[0], ...rows.slice(1).filter((l) => !l.includes('setosa'))].join('\n'));
    const r = await run('train', 'binary.csv', '--target', 'species', '--ignore', 'split', '--layers', '8', '--epochs', '80', '--lr', '0.01', '--out', 'binary.mlp');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 classes (binaryCrossEntropy, sigmoid output)');
    expect((await run('inspect', 'binary.mlp')).stdout).toContain('architecture: 4 inputs -> 8 relu -> 1 sigmoid');
    const p = await run('predict', 'binary.mlp', 'binary.csv', '--proba');
    const out = readCsvText(p.stdout);
    expect(Object.keys(out[0]!)).toEqual(['prediction', 'p(versicolor)', 'p(virginica)']);
    const truth = readCsv(at('binary.csv')).map((row) => row.species);
    expect(out.filter((o, i) => o.prediction === truth[i]).length / out.length).toBeGreaterThanOrEqual(0.85);
  });

  it('regression: a real-valued target; predictions in its units (r2 >= 0.9 on held-out rows)', async () => {
    const random = rng(5);
    const rowsOf = (n: number) =>
      Array.from({ length: n }, () => {
        const a = random() * 4 - 2;
        const b = random() * 4 - 2;
        return [a, b, 100 + 30 * a - 20 * b * b + (random() - 0.5)];
      });
    const write = (file: string, rows: number[][]) => writeFileSync(at(file), ['a,b,price', ...rows.map((r) => r.map((v) => v.toFixed(4)).join(','))].join('\n'));
    const test = rowsOf(100);
    write('reg-train.csv', rowsOf(400));
    write('reg-test.csv', test);
    const r = await run('train', 'reg-train.csv', '--target', 'price', '--layers', '32', '--epochs', '80', '--lr', '0.01', '--out', 'reg.mlp');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-> "price": regression \(mse, linear output; target standardised/);
    const p = await run('predict', 'reg.mlp', 'reg-test.csv');
    const got = readCsvText(p.stdout).map((row) => Number(row.prediction));
    const truth = test.map((row) => row[2]!);
    const mean = truth.reduce((a, b) => a + b, 0) / truth.length;
    const ssRes = truth.reduce((s, t, i) => s + (t - got[i]!) ** 2, 0);
    const ssTot = truth.reduce((s, t) => s + (t - mean) ** 2, 0);
    expect(1 - ssRes / ssTot).toBeGreaterThanOrEqual(0.9);
    expect((await run('inspect', 'reg.mlp')).stdout).toContain('architecture: 2 inputs -> 32 relu -> 1 linear');
  });
});

describe('bad input: one line on stderr naming the problem, a non-zero exit, no output file', () => {
  const train = (file: string, content: string, target = 'y') => {
    writeFileSync(at(file), content);
    return run('train', file, '--target', target, '--epochs', '2', '--out', 'never.mlp', '--report', 'never.html');
  };
  afterAll(() => {
    expect(existsSync(at('never.mlp'))).toBe(false);
    expect(existsSync(at('never.html'))).toBe(false);
  });

  it('ragged rows, non-numbers (with line and column), a missing target column, empty files', async () => {
    await refusals([
      [train('ragged.csv', 'a,b,y\n1,2,x\n3,4\n5,6,y\n'), /ragged\.csv line 3: 2 fields, but the header has 3 \(ragged row\)/],
      [train('text.csv', 'a,b,y\n1,2,x\n3,oops,y\n4,5,x\n6,7,y\n'), /text\.csv line 3, column "b" has "oops": feature columns must hold numbers/],
      [train('blank.csv', 'a,b,y\n1,2,x\n3,,y\n4,5,x\n6,7,y\n'), /blank\.csv line 3, column "b" is empty/],
      [train('notarget.csv', 'a,b,c\n1,2,3\n'), /notarget\.csv has no target column "y" \(columns: "a", "b", "c"\)/],
      [train('empty.csv', ''), /empty\.csv is empty/],
      [train('header.csv', 'a,b,y\n'), /header\.csv has a header but no rows/],
      [train('quote.csv', 'a,b,y\n1,2,"x\n'), /quote\.csv is not valid CSV/],
      [run('train', 'missing.csv', '--target', 'y', '--out', 'never.mlp'), /cannot read missing\.csv: no such file/],
    ]);
  });

  it('a class with one sample, a single class, a text target for regression, a run that diverges', async () => {
    writeFileSync(at('reg-text.csv'), 'a,y\n1,2.5\n2,abc\n');
    writeFileSync(at('diverge.csv'), ['a,y', ...Array.from({ length: 200 }, (_, i) => `${i % 17},${(i % 17) * 3.3 + 0.1}`)].join('\n'));
    await refusals([
      [train('lonely.csv', 'a,y\n1,x\n2,x\n3,y\n4,y\n5,z\n'), /class "z" of column "y" has one sample \(lonely\.csv line 6\); each class needs at least 2/],
      [train('one.csv', 'a,y\n1,x\n2,x\n'), /column "y" has a single class/],
      [run('train', 'reg-text.csv', '--target', 'y', '--task', 'regression', '--out', 'never.mlp'), /reg-text\.csv line 3, column "y" has "abc": a regression target must be numeric/],
      [
        run('train', 'diverge.csv', '--target', 'y', '--optimizer', 'sgd', '--lr', '10', '--layers', '64', '--epochs', '5', '--out', 'never.mlp'),
        /training diverged in epoch 1 \(the (loss|weights) became NaN or infinite\): nothing saved; try a smaller --lr/,
      ],
    ]);
  });

  it("a model file that is not one; data that lacks the model's columns; an unwritable --out", async () => {
    writeFileSync(at('fake.mlp'), 'this is not a model at all');
    writeFileSync(at('partial.csv'), 'sepal length (cm),petal width (cm)\n1,2\n');
    await refusals([
      [run('inspect', 'fake.mlp'), /fake\.mlp is not a valid mlpstream model file: /],
      [run('predict', 'fake.mlp', 'iris-test.csv', '--out', 'never.csv'), /fake\.mlp is not a valid mlpstream model file/],
      [run('serve', 'fake.mlp', '--port', '0'), /fake\.mlp is not a valid mlpstream model file/],
      [run('inspect', 'nothing-here.mlp'), /cannot read the model file .*nothing-here\.mlp/],
      [run('predict', 'iris.mlp', 'partial.csv', '--out', 'never.csv'), /partial\.csv lacks the model's feature columns "sepal width \(cm\)", "petal length \(cm\)"/],
      [run('predict', 'iris.mlp', 'iris-test.csv', '--out', path.join('no-dir', 'p.csv')), /cannot save the predictions to .*no-dir/],
    ]);
    expect(existsSync(at('never.csv'))).toBe(false);
  });
});

describe('serve and signals', () => {
  it('serve: port 0 prints the bound address; /health and /predict answer; SIGTERM stops it with exit 0', async () => {
    const child = spawn(process.execPath, [cli, 'serve', 'iris.mlp', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        const match = /^listening on (http:\/\/127\.0\.0\.1:\d+) \(model: 4 inputs, 3 outputs\)$/.exec(line);
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { labels: string[] }).labels).toEqual(['setosa', 'virginica']);
    const bad = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [1, 2]}' });
    expect(bad.status).toBe(422);
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('SIGINT during training stops it, saves the best epoch so far to --out and says so (exit 130)', async () => {
    // Enough rows that an epoch takes a while; far more epochs than will run.
    const random = rng(9);
    const lines = ['f0,f1,f2,f3,f4,f5,f6,f7,label'];
    for (let r = 0; r < 20000; r++) {
      const c = r % 3;
      lines.push([...Array.from({ length: 8 }, () => (c * 0.4 + random() * 2).toFixed(3)), ['a', 'b', 'c'][c]].join(','));
    }
    writeFileSync(at('long.csv'), lines.join('\n'));
    const child = spawn(process.execPath, [cli, 'train', 'long.csv', '--target', 'label', '--layers', '128,64', '--epochs', '100000', '--out', 'long.mlp'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/^epoch 3\/100000 /m.test(stdout)) resolve();
      });
      child.on('exit', () => reject(new Error(`train ended before epoch 3: ${stderr}`)));
    });
    child.kill('SIGINT');
    expect(await exit, stderr).toBe(130);
    expect(stderr).toBe('');
    const epochs = stdout.split('\n').filter((l) => /^epoch \d+\/100000 /.test(l));
    const valLosses = epochs.map((l) => Number(/val loss ([\d.e-]+)/.exec(l)![1]));
    const best = valLosses.indexOf(Math.min(...valLosses)) + 1;
    expect(stdout).toMatch(new RegExp(`\\ninterrupted: saved long\\.mlp: epoch ${best} of ${epochs.length}, the lowest validation loss`));
    expect(epochs.length).toBeLessThan(1000);
    const model = MLP.fromBuffer(readFileSync(at('long.mlp')));
    expect(model.epochsTrained).toBe(best);
    expect(model.trainingSummary?.epochs).toBe(best);
    expect(model.trainingSummary?.valLoss).toBeCloseTo(valLosses[best - 1]!, 3);
  });

  it('demo: the XOR lesson, and --report writes both decision regions', async () => {
    const r = await run('demo', '--report', 'xor.html');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-> stalls: loss 0\.69\d+ = log 2/);
    expect(r.stdout).toMatch(/-> 100% accuracy, loss 0\.0\d+: 3000 epochs/);
    expect(r.stdout).toContain("identical to the trained model's predictions: yes");
    const html = readFileSync(at('xor.html'), 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('logistic regression');
  });
});
