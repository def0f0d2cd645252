// The HTML training report: well-formed XHTML with the expected series, built from real
// training runs (XOR with a logistic-regression baseline, iris, a small regression), and sane
// on hostile input (diverged runs, one epoch, names with markup in them).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { renderReport, writeReport, type ReportData, type ReportInput } from '../lib/cli/report.js';
import { MLP, ModelFileError } from '../lib/index.js';
import type { EpochMetrics, TrainOptions } from '../lib/types.js';
import { loadDataset } from './helpers/datasets.js';

// ---- reading the report back ----------------------------------------------------------------

interface Node {
  tag: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, trimValues: false });

function toNodes(raw: unknown[]): Node[] {
  const out: Node[] = [];
  for (const item of raw as Record<string, unknown>[]) {
    const tag = Object.keys(item).find((k) => k !== ':@')!;
    if (tag === '#text') {
      out.push({ tag, attrs: {}, children: [], text: String(item[tag]) });
      continue;
    }
    const children = toNodes(item[tag] as unknown[]);
    out.push({ tag, attrs: (item[':@'] ?? {}) as Record<string, string>, children, text: children.map((c) => c.text).join('') });
  }
  return out;
}

/** Validates the markup as XML and returns its root element. */
function parse(html: string): Node {
  expect(XMLValidator.validate(html)).toBe(true);
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  const roots = toNodes(parser.parse(html) as unknown[]).filter((n) => n.tag !== '#text');
  expect(roots.map((n) => n.tag)).toEqual(['html']);
  return roots[0]!;
}

function all(node: Node, test: (n: Node) => boolean): Node[] {
  const found = test(node) ? [node] : [];
  for (const c of node.children) found.push(...all(c, test));
  return found;
}

const byTag = (node: Node, tag: string) => all(node, (n) => n.tag === tag);

function figure(doc: Node, caption: string): Node | undefined {
  return byTag(doc, 'figure').find((f) => byTag(f, 'figcaption')[0]?.text === caption);
}

/** The points of each `data-series` path of a chart, by series name. */
function series(fig: Node): Map<string, { points: [number, number][]; moves: number }> {
  const out = new Map<string, { points: [number, number][]; moves: number }>();
  for (const p of all(fig, (n) => n.tag === 'path' && 'data-series' in n.attrs)) {
    const d = p.attrs.d ?? '';
    const points = [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
    out.set(p.attrs['data-series']!, { points, moves: (d.match(/M/g) ?? []).length });
  }
  return out;
}

/** No attribute anywhere holds NaN, Infinity or undefined. */
function expectCleanAttributes(doc: Node): void {
  for (const n of all(doc, () => true)) {
    for (const [k, v] of Object.entries(n.attrs)) expect(`${k}=${v}`).not.toMatch(/NaN|Infinity|undefined/);
  }
}

function expectSelfContained(html: string): void {
  const urls = [...html.matchAll(/https?:\/\/[^"'\s)]*/g)].map((m) => m[0]);
  expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/1999/xhtml', 'http://www.w3.org/2000/svg']));
  expect(html).not.toMatch(/<script|\ssrc=|\shref=|url\(|@import/i);
}

// ---- real training runs -----------------------------------------------------------------------

async function fit(model: MLP, x: Float32Array, y: Float32Array | Int32Array, options: TrainOptions): Promise<EpochMetrics[]> {
  const history: EpochMetrics[] = [];
  for await (const m of model.train({ x, y }, { highWaterMark: 256, ...options })) history.push(m);
  return history;
}

const XOR_X = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]);
const XOR_LABELS = new Int32Array([0, 1, 1, 0]);
const XOR_DATA: ReportData = { x: XOR_X, inputs: 2, labels: XOR_LABELS, classNames: ['0', '1'], featureNames: ['x1', 'x2'] };
const fullBatch = (epochs: number): TrainOptions => ({ epochs, batchSize: 'full', optimizer: { type: 'sgd', learningRate: 0.5 } });

async function xorModels(epochs: number) {
  const mlp = new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed: 7 });
  const history = await fit(mlp, XOR_X, Float32Array.from(XOR_LABELS), fullBatch(epochs));
  const logistic = new MLP({ inputs: 2, layers: [{ units: 1, activation: 'sigmoid' }], seed: 7 });
  await fit(logistic, XOR_X, Float32Array.from(XOR_LABELS), fullBatch(2000));
  return { mlp, logistic, history };
}

function predictedClasses(model: MLP, x: Float32Array): number[] {
  const out = model.predict(x);
  const rows = x.length / model.inputs;
  return Array.from({ length: rows }, (_, r) => {
    if (model.outputs === 1) return out[r]! >= 0.5 ? 1 : 0;
    const row = Array.from(out.subarray(r * model.outputs, (r + 1) * model.outputs));
    return row.indexOf(Math.max(...row));
  });
}

interface Cell {
  x: number;
  y: number;
  w: number;
  h: number;
  cls: number;
}

function cells(panel: Node): Cell[] {
  const out: Cell[] = [];
  for (const p of all(panel, (n) => n.tag === 'path' && 'data-class' in n.attrs)) {
    for (const m of p.attrs.d!.matchAll(/M(-?[\d.]+) (-?[\d.]+)h(-?[\d.]+)v(-?[\d.]+)h(-?[\d.]+)z/g)) {
      out.push({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]), cls: Number(p.attrs['data-class']) });
    }
  }
  return out;
}

/**
 * Checks a decision-region panel against the model itself: the cells tile the plot, each cell's
 * class is the model's prediction at that cell's centre (mapped back to input units through the
 * positions of the data points), and exactly the mispredicted rows are ringed.
 */
function checkPanel(panel: Node, model: MLP, data: ReportData): void {
  const circles = byTag(panel, 'circle');
  expect(circles).toHaveLength(data.labels.length);
  const predicted = predictedClasses(model, data.x);
  circles.forEach((c, i) => {
    expect(Number(c.attrs['data-class'])).toBe(data.labels[i]);
    expect(c.attrs.class).toBe(predicted[i] === data.labels[i] ? 'right' : 'wrong');
  });
  // Pixel = a + b * value on each axis, from the two rows farthest apart.
  const axis = (k: 0 | 1, attr: 'cx' | 'cy') => {
    const values = Array.from({ length: data.labels.length }, (_, i) => data.x[i * 2 + k]!);
    const lo = values.indexOf(Math.min(...values));
    const hi = values.indexOf(Math.max(...values));
    const b = (Number(circles[hi]!.attrs[attr]) - Number(circles[lo]!.attrs[attr])) / (values[hi]! - values[lo]!);
    const a = Number(circles[lo]!.attrs[attr]) - b * values[lo]!;
    return (pixel: number) => (pixel - a) / b;
  };
  const toX = axis(0, 'cx');
  const toY = axis(1, 'cy');
  const list = cells(panel);
  expect(list.reduce((s, c) => s + c.w * c.h, 0)).toBeCloseTo(300 * 300, 6);
  const centres: number[] = [];
  const expected: number[] = [];
  for (const c of list) {
    for (let x = c.x; x < c.x + c.w; x += c.h) {
      centres.push(toX(x + c.h / 2), toY(c.y + c.h / 2));
      expected.push(c.cls);
    }
  }
  expect(expected).toHaveLength(60 * 60);
  const got = predictedClasses(model, Float32Array.from(centres));
  const agree = got.filter((k, i) => k === expected[i]).length;
  // Cells on the boundary may flip with the 0.1-pixel rounding of the point positions.
  expect(agree / expected.length).toBeGreaterThan(0.98);
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the XOR report: an MLP beside logistic regression', async () => {
  const { mlp, logistic, history } = await xorModels(400);
  const input: ReportInput = {
    title: 'XOR',
    history,
    model: mlp,
    data: XOR_DATA,
    baselines: [{ name: 'logistic regression', model: logistic }],
  };
  const predictMlp = vi.spyOn(mlp, 'predict');
  const predictLogistic = vi.spyOn(logistic, 'predict');
  const html = renderReport(input);
  const calls = [predictMlp.mock.calls.length, predictLogistic.mock.calls.length];
  predictMlp.mockRestore();
  predictLogistic.mockRestore();
  const doc = parse(html);

  it('is well-formed, self-contained and small', () => {
    expectSelfContained(html);
    expectCleanAttributes(doc);
    expect(byTag(doc, 'title')[0]!.text).toBe('XOR');
    expect(Buffer.byteLength(html)).toBeLessThan(80_000);
  });

  it('draws loss and accuracy with one point per epoch', () => {
    expect(history.at(-1)!.accuracy).toBe(1);
    for (const [caption, name] of [['Loss', 'training loss'], ['Accuracy', 'training accuracy']]) {
      const s = series(figure(doc, caption!)!);
      expect([...s.keys()]).toEqual([name]); // no validation data, no validation series
      expect(s.get(name!)!.points).toHaveLength(400);
      expect(s.get(name!)!.moves).toBe(1);
    }
    // The loss falls: its last point is lower on the page (a larger y) than its first.
    const loss = series(figure(doc, 'Loss')!).get('training loss')!.points;
    expect(loss.at(-1)![1]).toBeGreaterThan(loss[0]![1]);
  });

  it('draws gradient and weight norms per layer, the gradients on a log scale', () => {
    const gradients = figure(doc, 'Gradient norm per layer')!;
    expect([...series(gradients).keys()]).toEqual(['layer 1: 4 tanh', 'layer 2: 1 sigmoid (output)']);
    for (const s of series(gradients).values()) expect(s.points).toHaveLength(400);
    expect(byTag(gradients, 'text').some((t) => t.text === 'gradient L2 norm (log scale)')).toBe(true);
    expect(series(figure(doc, 'Weight norm per layer')!).size).toBe(2);
  });

  it('says there are no ReLU layers and draws the saturated tanh/sigmoid units', () => {
    const dead = figure(doc, 'Dead ReLU units per layer')!;
    expect(dead.text).toContain('No ReLU layers');
    expect(series(dead).size).toBe(0);
    expect(series(figure(doc, 'Saturated sigmoid/tanh units per layer')!).size).toBe(2);
  });

  it('draws the decision regions of the model and of the baseline, one predict call each', () => {
    expect(calls).toEqual([1, 1]);
    const panels = all(doc, (n) => n.tag === 'figure' && n.attrs.class === 'regions');
    expect(panels.map((p) => p.attrs['data-model'])).toEqual(['model: 2 inputs \u2192 4 tanh \u2192 1 sigmoid', 'logistic regression']);
    checkPanel(panels[0]!, mlp, XOR_DATA);
    checkPanel(panels[1]!, logistic, XOR_DATA);
    // The MLP bends its boundary round all four points; no straight line can.
    expect(byTag(panels[0]!, 'circle').filter((c) => c.attrs.class === 'wrong')).toHaveLength(0);
    expect(new Set(cells(panels[0]!).map((c) => c.cls))).toEqual(new Set([0, 1]));
    expect(byTag(panels[1]!, 'circle').filter((c) => c.attrs.class === 'wrong').length).toBeGreaterThan(0);
    // Logistic regression ends at p = 0.5 everywhere on XOR; the panel must say so.
    expect(panels[1]!.text).toContain('undecided everywhere');
  });

  it('thins a long run to each slice\u2019s extremes, keeping a spike', async () => {
    const long = await xorModels(3000);
    const spiked = long.history.map((m) => ({ ...m }));
    spiked[1233]!.loss = 50;
    const s = series(figure(parse(renderReport({ ...input, history: spiked, model: long.mlp })), 'Loss')!).get('training loss')!;
    expect(s.points.length).toBeLessThanOrEqual(450);
    expect(s.points.length).toBeGreaterThan(100);
    const top = s.points.reduce((a, b) => (b[1] < a[1] ? b : a));
    const [first, last] = [s.points[0]![0], s.points.at(-1)![0]];
    expect((top[0] - first) / (last - first)).toBeCloseTo(1233 / 2999, 2);
  });

  it('writes the file atomically and refuses a directory that does not exist', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-report-'));
    dirs.push(dir);
    const file = path.join(dir, 'report.html');
    await writeReport(file, input);
    expect(readFileSync(file, 'utf8')).toBe(renderReport(input));
    const missing = path.join(dir, 'no-such-dir', 'report.html');
    await expect(writeReport(missing, input)).rejects.toThrow(ModelFileError);
    await expect(writeReport(missing, input)).rejects.toThrow(/cannot save the report to .*no-such-dir/);
    expect(readdirSync(dir)).toEqual(['report.html']);
  });
});

describe('iris', async () => {
  const iris = loadDataset('iris');
  const featureNames = ['sepal length', 'sepal width', 'petal length', 'petal width'];
  const classNames = ['setosa', 'versicolor', 'virginica'];

  it('four inputs: validation series, one dead-ReLU series per ReLU layer, no decision regions', async () => {
    const model = new MLP({
      inputs: 4,
      layers: [{ units: 16, activation: 'relu' }, { units: 8, activation: 'leakyRelu' }, { units: 3, activation: 'softmax' }],
      seed: 1,
    });
    const history = await fit(model, iris.train.x, iris.train.y, { epochs: 40, batchSize: 16, optimizer: 'adam', normalize: true, validationSplit: 0.2 });
    const data: ReportData = { x: iris.train.x, inputs: 4, labels: iris.train.y, classNames, featureNames };
    const html = renderReport({ title: 'iris', history, model, data });
    const doc = parse(html);
    expectSelfContained(html);
    expectCleanAttributes(doc);
    const loss = series(figure(doc, 'Loss')!);
    expect([...loss.keys()]).toEqual(['training loss', 'validation loss']);
    const accuracy = series(figure(doc, 'Accuracy')!);
    expect([...accuracy.keys()]).toEqual(['training accuracy', 'validation accuracy']);
    for (const s of [...loss.values(), ...accuracy.values()]) expect(s.points).toHaveLength(40);
    const dead = series(figure(doc, 'Dead ReLU units per layer')!);
    expect([...dead.keys()]).toEqual(['layer 1: 16 relu', 'layer 2: 8 leakyRelu']);
    for (const s of dead.values()) expect(s.points).toHaveLength(40);
    expect(figure(doc, 'Saturated sigmoid/tanh units per layer')).toBeUndefined();
    expect(all(doc, (n) => n.attrs.class === 'regions')).toHaveLength(0);
    expect(html).toContain('Not drawn: the data has 4 inputs');
    console.log(`iris report (4 inputs, 40 epochs): ${Buffer.byteLength(html)} bytes`);
  });

  it('two inputs, three classes, names full of markup: regions for the model and a softmax regression', async () => {
    const x = new Float32Array(iris.train.rows * 2);
    for (let r = 0; r < iris.train.rows; r++) x.set(iris.train.x.subarray(r * 4 + 2, r * 4 + 4), r * 2);
    const hostile = ['<setosa> & "friends" \u0001 \u2014 a class name long enough to wrap over several lines of the legend', 'versicolor</li>', "virginica's"];
    const data: ReportData = { x, inputs: 2, labels: iris.train.y, classNames: hostile, featureNames: ['petal <length>', 'petal "width" & more'] };
    const model = new MLP({ inputs: 2, layers: [{ units: 16, activation: 'relu' }, { units: 3, activation: 'softmax' }], seed: 1 });
    const history = await fit(model, x, iris.train.y, { epochs: 60, batchSize: 16, optimizer: 'adam', normalize: true });
    const softmax = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'softmax' }], seed: 1 });
    await fit(softmax, x, iris.train.y, { epochs: 60, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.05 }, normalize: true });
    const title = 'iris </title><script>alert(1)</script> & co';
    const html = renderReport({ title, history, model, data, baselines: [{ name: 'softmax "regression" <baseline>', model: softmax }] });
    const doc = parse(html);
    expectSelfContained(html);
    expectCleanAttributes(doc);
    expect(byTag(doc, 'title')[0]!.text).toBe(title);
    expect(byTag(doc, 'h1')[0]!.text).toBe(title);
    const legend = byTag(all(doc, (n) => n.tag === 'section' && n.text.includes('Decision regions'))[0]!, 'li').map((li) => li.text);
    // The control character is not allowed in XML: it is replaced, the rest kept as written.
    expect(legend).toEqual([hostile[0]!.replace('\u0001', '\ufffd'), hostile[1], hostile[2]]);
    const panels = all(doc, (n) => n.tag === 'figure' && n.attrs.class === 'regions');
    expect(panels.map((p) => p.attrs['data-model'])).toEqual(['model: 2 inputs \u2192 16 relu \u2192 3 softmax', 'softmax "regression" <baseline>']);
    for (const [panel, m] of [[panels[0]!, model], [panels[1]!, softmax]] as const) {
      checkPanel(panel, m, data);
      expect(new Set(cells(panel).map((c) => c.cls))).toEqual(new Set([0, 1, 2]));
      expect(byTag(panel, 'text').some((t) => t.text === 'petal <length>')).toBe(true);
    }
    console.log(`iris report (2 inputs, 60 epochs, with a baseline): ${Buffer.byteLength(html)} bytes`);
  });
});

describe('what the diagnostics charts are for', () => {
  /** Pixels per decade of a log chart, from its y-axis tick labels. */
  function decade(fig: Node): number {
    const ticks = byTag(fig, 'text').filter((t) => t.attrs.class === 'tick' && t.attrs['text-anchor'] === 'end');
    const [a, b] = [ticks[0]!, ticks.at(-1)!];
    return (Number(a.attrs.y) - Number(b.attrs.y)) / Math.log10(Number(b.text) / Number(a.text));
  }

  it('vanishing gradients: a deep sigmoid stack puts its first layer decades below its output', async () => {
    const layers = [...Array.from({ length: 8 }, () => ({ units: 8, activation: 'sigmoid' as const })), { units: 1, activation: 'sigmoid' as const }];
    const model = new MLP({ inputs: 2, layers, seed: 1 });
    const history = await fit(model, XOR_X, Float32Array.from(XOR_LABELS), fullBatch(5));
    const fig = figure(parse(renderReport({ title: 'deep', history, model })), 'Gradient norm per layer')!;
    expect(byTag(fig, 'text').some((t) => t.text === 'gradient L2 norm (log scale)')).toBe(true);
    const lines = series(fig);
    const first = lines.get('layer 1: 8 sigmoid')!.points[0]!;
    const output = lines.get('layer 9: 1 sigmoid (output)')!.points[0]!;
    const decades = Math.log10(history[0]!.layers[8]!.gradNorm / history[0]!.layers[0]!.gradNorm);
    expect(decades).toBeGreaterThan(3);
    expect((first[1] - output[1]) / decade(fig)).toBeCloseTo(decades, 1);
  });

  it('exploding steps kill ReLU units: the dead fraction reaches 1 and zero gradients sit on the axis', async () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 8, activation: 'relu' }, { units: 1, activation: 'sigmoid' }], seed: 1 });
    const history = await fit(model, XOR_X, Float32Array.from(XOR_LABELS), { ...fullBatch(10), optimizer: { type: 'sgd', learningRate: 200 } });
    expect(history.at(-1)!.layers[0]!.deadFraction).toBe(1);
    const doc = parse(renderReport({ title: 'dead', history, model, data: XOR_DATA }));
    expectCleanAttributes(doc);
    const dead = figure(doc, 'Dead ReLU units per layer')!;
    const line = series(dead).get('layer 1: 8 relu')!.points;
    expect(line).toHaveLength(10);
    const one = byTag(dead, 'text').find((t) => t.attrs.class === 'tick' && t.text === '1')!;
    expect(line.at(-1)![1]).toBeCloseTo(Number(one.attrs.y) - 3.5, 0);
    const zeros = history.filter((m) => m.layers[0]!.gradNorm === 0).length;
    expect(zeros).toBeGreaterThan(0);
    expect(figure(doc, 'Gradient norm per layer')!.text).toContain(`${zeros} zeros (no place on a log axis) drawn on the bottom edge`);
    // Every cell says class 1 with certainty: the same everywhere, not undecided.
    expect(all(doc, (n) => n.attrs.class === 'regions')[0]!.text).toContain('1.000 to 1.000 (the same everywhere)');
  });
});

describe('unusual histories', async () => {
  const { mlp, history } = await xorModels(40);
  const base: ReportInput = { title: 'xor', history, model: mlp, data: XOR_DATA };

  it('a diverged run: NaN and Infinity become gaps or edge points, never attribute values', () => {
    const broken = history.map((m) => ({ ...m, layers: m.layers.map((l) => ({ ...l })) }));
    broken[20]!.loss = NaN;
    broken[21]!.loss = NaN;
    broken[30]!.loss = Infinity;
    broken[25]!.accuracy = NaN;
    broken[22]!.layers[0]!.gradNorm = Infinity;
    broken[23]!.layers[0]!.gradNorm = 0; // nothing on a log axis: drawn on its bottom edge
    broken[24]!.layers[1]!.gradNorm = NaN;
    broken[26]!.layers[0]!.weightNorm = -Infinity;
    const html = renderReport({ ...base, history: broken });
    const doc = parse(html);
    expectCleanAttributes(doc);
    const loss = series(figure(doc, 'Loss')!).get('training loss')!;
    expect(loss.points).toHaveLength(38);
    expect(loss.moves).toBe(2);
    const gradients = series(figure(doc, 'Gradient norm per layer')!);
    expect(gradients.get('layer 1: 4 tanh')!.points).toHaveLength(40);
    expect(gradients.get('layer 2: 1 sigmoid (output)')!.points).toHaveLength(39);
    expect(doc.text).toContain('The loss is not finite from epoch 21 on');
    expect(figure(doc, 'Gradient norm per layer')!.text).toContain('1 zero (no place on a log axis) drawn on the bottom edge; 1 value beyond the axis drawn on its edge');
  });

  it('one epoch: a dot per series, valid axes', async () => {
    const model = new MLP({ inputs: 2, layers: [{ units: 3, activation: 'relu' }, { units: 1, activation: 'sigmoid' }], seed: 3 });
    const one = await fit(model, XOR_X, Float32Array.from(XOR_LABELS), fullBatch(1));
    expect(one).toHaveLength(1);
    const doc = parse(renderReport({ title: 'one', history: one, model, data: XOR_DATA }));
    expectCleanAttributes(doc);
    for (const caption of ['Loss', 'Accuracy', 'Gradient norm per layer', 'Dead ReLU units per layer']) {
      const fig = figure(doc, caption)!;
      for (const s of series(fig).values()) expect(s.points).toHaveLength(1);
      expect(byTag(fig, 'circle')).toHaveLength(series(fig).size);
    }
    expect(byTag(figure(doc, 'Loss')!, 'text').some((t) => t.text === '1')).toBe(true); // the epoch tick
  });

  it('adds up the training time of a history made of several runs', () => {
    const runs = [...history.slice(0, 20), ...history.slice(0, 20)].map((m, i) => ({ ...m, epoch: i + 1 }));
    const time = (h: EpochMetrics[]) => /<th>Training time<\/th><td>([\d.]+) ms<\/td>/.exec(renderReport({ ...base, history: h }))?.[1];
    const one = history[19]!.elapsedMs;
    expect(Number(time(history.slice(0, 20)))).toBeCloseTo(one, 1);
    expect(Number(time(runs))).toBeCloseTo(2 * one, 1);
  });

  it('a very long history (200,000 epochs): quick and bounded in size', () => {
    const long = Array.from({ length: 200_000 }, (_, i) => ({ ...history[i % history.length]!, epoch: i + 1 }));
    const started = performance.now();
    const html = renderReport({ ...base, history: long });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(Buffer.byteLength(html)).toBeLessThan(150_000);
    const doc = parse(html);
    expectCleanAttributes(doc);
    for (const caption of ['Loss', 'Accuracy', 'Gradient norm per layer']) {
      for (const s of series(figure(doc, caption)!).values()) expect(s.points.length).toBeLessThanOrEqual(450);
    }
  });

  it('gradients that are all zero: a linear axis instead of an empty log one', () => {
    const flat = history.map((m) => ({ ...m, layers: m.layers.map((l) => ({ ...l, gradNorm: 0 })) }));
    const fig = figure(parse(renderReport({ ...base, history: flat })), 'Gradient norm per layer')!;
    expect(byTag(fig, 'text').some((t) => t.text === 'gradient L2 norm')).toBe(true);
    for (const s of series(fig).values()) expect(new Set(s.points.map((p) => p[1])).size).toBe(1);
    expect(series(fig).get('layer 1: 4 tanh')!.points).toHaveLength(40);
  });

  it('no epochs, and a run without diagnostics', () => {
    const empty = parse(renderReport({ ...base, history: [] }));
    expect(empty.text).toContain('none recorded');
    expect(series(figure(empty, 'Loss')!).get('training loss')!.points).toHaveLength(0);
    const bare = history.map((m) => ({ ...m, layers: [] }));
    const doc = parse(renderReport({ ...base, history: bare }));
    expect(figure(doc, 'Gradient norm per layer')).toBeUndefined();
    expect(figure(doc, 'Per-layer diagnostics')!.text).toContain('diagnostics off');
  });

  it('regression: an RMSE chart, no accuracy, no decision regions', async () => {
    const rows = 64;
    const x = new Float32Array(rows * 2);
    const y = new Float32Array(rows);
    for (let i = 0; i < rows; i++) {
      x[i * 2] = (i % 8) / 7;
      x[i * 2 + 1] = Math.floor(i / 8) / 7;
      y[i] = x[i * 2]! - 2 * x[i * 2 + 1]!;
    }
    const model = new MLP({ inputs: 2, layers: [{ units: 8, activation: 'tanh' }, { units: 1, activation: 'linear' }], seed: 2 });
    const regression = await fit(model, x, y, { epochs: 30, batchSize: 16, optimizer: 'adam' });
    const data: ReportData = { x, inputs: 2, labels: new Int32Array(rows), classNames: ['all'], featureNames: ['a', 'b'] };
    const doc = parse(renderReport({ title: 'regression', history: regression, model, data }));
    expect(figure(doc, 'Accuracy')).toBeUndefined();
    expect(series(figure(doc, 'Root-mean-square error')!).get('training RMSE')!.points).toHaveLength(30);
    expect(all(doc, (n) => n.attrs.class === 'regions')).toHaveLength(0);
    expect(doc.text).toContain('Not drawn: decision regions are drawn for classifiers');
  });

  it('refuses inconsistent input with a message that says what', () => {
    const bad = (change: Partial<ReportInput>) => () => renderReport({ ...base, ...change });
    expect(bad({ title: 3 as unknown as string })).toThrow(TypeError);
    expect(bad({ model: {} as MLP })).toThrow(/model must be an MLP/);
    expect(bad({ history: [{ epoch: NaN } as EpochMetrics] })).toThrow(/history\[0\]/);
    expect(bad({ data: { ...XOR_DATA, x: XOR_X.subarray(1) } })).toThrow(/data\.x has 7 numbers; 4 rows of 2 inputs need 8/);
    expect(bad({ data: { ...XOR_DATA, labels: new Int32Array([0, 1, 2, 0]) } })).toThrow(/labels\[2\] is 2; there are 2 class names/);
    expect(bad({ data: { ...XOR_DATA, featureNames: ['x1'] } })).toThrow(/featureNames must be 2 strings/);
    expect(bad({ data: { ...XOR_DATA, x: Float32Array.of(0, 0, 0, 1, NaN, 0, 1, 1) } })).toThrow(/data\.x\[4\] is NaN/);
    expect(bad({ data: { ...XOR_DATA, classNames: ['a', 'b', 'c'], labels: XOR_LABELS } })).toThrow(/predicts 2 classes but the data has 3/);
    const three = new MLP({ inputs: 3, layers: [{ units: 1, activation: 'sigmoid' }] });
    expect(bad({ baselines: [{ name: 'wide', model: three }] })).toThrow(/wide takes 3 inputs but the data has 2/);
  });

  it('writes nothing when the input is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-report-'));
    dirs.push(dir);
    const file = path.join(dir, 'report.html');
    await expect(writeReport(file, { ...base, data: { ...XOR_DATA, featureNames: [] } })).rejects.toThrow(TypeError);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
