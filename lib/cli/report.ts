// The training report (`--report report.html`): one self-contained file, well-formed XHTML with
// inline SVG, that shows what a run did (loss, accuracy, per-layer gradient and weight norms,
// dead and saturated units) and, for two-input classifiers, what the model learnt (its decision
// regions beside those of its baselines). The SVG is written by hand: two kinds of picture (a
// line chart and a region map) are all it needs, and plotting libraries that render without a
// DOM are far larger than this file.
// The library's one build (the CLI bundle must not carry a second copy of its error classes).
import { predictedClasses, writeFileAtomic } from '../index.js';
import type { MLP } from '../model.js';
import type { EpochMetrics } from '../types.js';

export interface ReportData {
  /** Training rows, row-major, in raw (un-normalised) units. */
  x: Float32Array;
  inputs: number;
  /** Class index of each row. */
  labels: Int32Array;
  classNames: string[];
  featureNames: string[];
}

export interface ReportInput {
  title: string;
  /** Every epoch's metrics as streamed (with diagnostics on for the per-layer charts). */
  history: EpochMetrics[];
  /** The trained model. */
  model: MLP;
  /** Decision regions are drawn when the data has two inputs and the model is a classifier. */
  data?: ReportData;
  /** Other models drawn beside the model's decision regions (e.g. logistic regression). */
  baselines?: { name: string; model: MLP }[];
}

// ---------------------------------------------------------------------------------------------
// Text and numbers

// XML 1.0 forbids these characters even as references; a user's CSV may hold them.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Text safe in element content and in attributes (always double-quoted here). */
function esc(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"]/g, (c) => ENTITIES[c]!);
}

/** Shortens a label for a chart (the full text stays in the HTML legend or a tooltip). */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}\u2026`;
}

/** A pixel coordinate: a tenth of a pixel is finer than any screen needs. */
function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** A tick label: short, without float noise (0.30000000000000004). */
function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** A metric in the summary table (text, where NaN may be said). */
function metricText(v: number | undefined, percent = false): string {
  if (v === undefined) return '\u2013';
  if (!Number.isFinite(v)) return String(v);
  return percent ? `${(v * 100).toFixed(1)}%` : Number(v.toPrecision(4)).toString();
}

/** Categorical colours (Tableau 10), then golden-angle hues for more series or classes. */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];
function color(i: number): string {
  return i < PALETTE.length ? PALETTE[i]! : `hsl(${Math.round((i * 137.508) % 360)},55%,50%)`;
}

// ---------------------------------------------------------------------------------------------
// Axes

/** A round step (1, 2 or 5 times a power of ten) near `span / count`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * power;
}

interface Scale {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
}

/** `nice`: widen the domain to whole steps, so the axis ends on labelled ticks. */
function linearScale(lo: number, hi: number, count = 5, integer = false, nice = false): Scale {
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const step = Math.max(niceStep(hi - lo, count), integer ? 1 : 0);
  if (nice) [lo, hi] = [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo, hi, log: false, ticks };
}

function logScale(lo: number, hi: number): Scale {
  const a = Math.floor(Math.log10(lo));
  const b = Math.max(Math.ceil(Math.log10(hi)), a + 1);
  const every = Math.ceil((b - a) / 8);
  const ticks: number[] = [];
  for (let d = a; d <= b; d++) {
    if ((d - a) % every === 0) ticks.push(10 ** d);
    // Few decades: 2 and 5 between them, so the curve can be read.
    if (b - a <= 2 && d < b) ticks.push(2 * 10 ** d, 5 * 10 ** d);
  }
  return { lo: 10 ** a, hi: 10 ** b, log: true, ticks };
}

/** Position of `v` along [0, 1] of the axis (may fall outside for values beyond it). */
function fraction(s: Scale, v: number): number {
  return s.log ? (Math.log10(v) - Math.log10(s.lo)) / (Math.log10(s.hi) - Math.log10(s.lo)) : (v - s.lo) / (s.hi - s.lo);
}

// ---------------------------------------------------------------------------------------------
// Line charts over the epochs

interface Series {
  name: string;
  values: (number | undefined)[];
  color: string;
  dashed?: boolean;
}

interface LineChart {
  title: string;
  yLabel: string;
  epochs: number[];
  series: Series[];
  /** 'auto': logarithmic when the positive values span more than two decades. */
  scale: 'linear' | 'log' | 'auto' | 'fraction';
  /** Start a linear axis at zero (losses, errors). */
  zero?: boolean;
  note?: string;
}

const CHART = { width: 560, height: 250, left: 58, right: 14, top: 12, bottom: 38 };
/** More epochs than this are thinned to each slice's extremes (and first gap), which keeps spikes. */
const MAX_POINTS = 450;

function isValue(v: number | undefined): v is number {
  return v !== undefined && !Number.isNaN(v);
}

/** Indices of the points drawn: all of them, or per slice the lowest, the highest and the first gap. */
function pointIndices(values: (number | undefined)[]): number[] {
  const n = values.length;
  if (n <= MAX_POINTS) return values.map((_, i) => i);
  const slices = MAX_POINTS / 3;
  const out: number[] = [];
  for (let s = 0; s < slices; s++) {
    let low = -1;
    let high = -1;
    let gap = -1;
    for (let i = Math.floor((s * n) / slices); i < Math.floor(((s + 1) * n) / slices); i++) {
      const v = values[i];
      if (!isValue(v)) {
        if (gap < 0) gap = i;
      } else {
        if (low < 0 || v < values[low]!) low = i;
        if (high < 0 || v > values[high]!) high = i;
      }
    }
    out.push(...[...new Set([low, high, gap])].filter((i) => i >= 0).sort((a, b) => a - b));
  }
  return out;
}

function chartScale(chart: LineChart): Scale | null {
  // A little room beyond 0 and 1, so a curve that sits on either is not hidden by the frame.
  if (chart.scale === 'fraction') return { ...linearScale(0, 1, 5), lo: -0.03, hi: 1.03 };
  // Loops, not Math.min(...values): a long run has more values than a call takes arguments.
  let [min, max, minPositive, maxPositive] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of chart.series) {
    for (const v of s.values) {
      if (v === undefined || !Number.isFinite(v)) continue;
      [min, max] = [Math.min(min, v), Math.max(max, v)];
      if (v > 0) [minPositive, maxPositive] = [Math.min(minPositive, v), Math.max(maxPositive, v)];
    }
  }
  if (min > max) return null;
  // Log where asked (or, for 'auto', where all is positive over two decades), if anything is positive.
  const log = minPositive <= maxPositive && (chart.scale === 'log' || (chart.scale === 'auto' && min > 0 && max / min > 100));
  if (log) return logScale(minPositive, maxPositive);
  return linearScale(chart.zero && min >= 0 ? 0 : min, max, 5, false, true);
}

function lineChart(chart: LineChart): string {
  const { width, height, left, right, top, bottom } = CHART;
  const w = width - left - right;
  const h = height - top - bottom;
  const y = chartScale(chart);
  const first = chart.epochs[0];
  const last = chart.epochs[chart.epochs.length - 1];
  const parts: string[] = [];
  let clipped = 0;
  let zeros = 0;
  let missing = 0;
  if (y && first !== undefined && last !== undefined) {
    const x = linearScale(Math.min(first, last), Math.max(first, last), 6, true);
    const X = (e: number): number => left + fraction(x, e) * w;
    // Values beyond the axis (Infinity, 0 on a log axis, a spike) are drawn on its edge.
    const Y = (v: number): number => {
      let f = y.log && v <= 0 ? -Infinity : fraction(y, v);
      if (!(f >= 0 && f <= 1)) {
        if (y.log && v === 0) zeros++;
        else clipped++;
        f = f > 1 ? 1 : 0;
      }
      return top + (1 - f) * h;
    };
    for (const t of y.ticks) {
      const ty = top + (1 - fraction(y, t)) * h;
      parts.push(`<line class="grid" x1="${left}" x2="${left + w}" y1="${px(ty)}" y2="${px(ty)}"/>`);
      parts.push(`<text class="tick" x="${left - 5}" y="${px(ty + 3.5)}" text-anchor="end">${tickLabel(t)}</text>`);
    }
    for (const t of x.ticks) {
      const tx = X(t);
      parts.push(`<line class="axis" x1="${px(tx)}" x2="${px(tx)}" y1="${top + h}" y2="${top + h + 4}"/>`);
      parts.push(`<text class="tick" x="${px(tx)}" y="${top + h + 15}" text-anchor="middle">${tickLabel(t)}</text>`);
    }
    for (const s of chart.series) {
      let d = '';
      let run = 0;
      const dots: string[] = [];
      let lastPoint = '';
      const endRun = (): void => {
        if (run === 1) dots.push(lastPoint);
        run = 0;
      };
      for (const i of pointIndices(s.values)) {
        const v = s.values[i];
        const e = chart.epochs[i]!;
        if (!isValue(v)) {
          missing++;
          endRun();
          continue;
        }
        lastPoint = `${px(X(e))} ${px(Y(v))}`;
        d += `${run === 0 ? 'M' : 'L'}${lastPoint}`;
        run++;
      }
      endRun();
      parts.push(seriesPath(s, d));
      // A point without neighbours (a one-epoch run, a value between gaps) is a dot.
      for (const p of dots) {
        const [cx, cy] = p.split(' ');
        parts.push(`<circle class="dot" cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
      }
    }
  } else {
    parts.push(...chart.series.map((s) => seriesPath(s, '')));
  }
  const notes = [chart.note];
  if (first === undefined) notes.push('no epochs recorded');
  else if (!y) notes.push('no finite values to draw');
  if (missing > 0) notes.push(`${missing} missing or NaN value${missing === 1 ? '' : 's'} left as gaps`);
  if (zeros > 0) notes.push(`${zeros} zero${zeros === 1 ? '' : 's'} (no place on a log axis) drawn on the bottom edge`);
  if (clipped > 0) notes.push(`${clipped} value${clipped === 1 ? '' : 's'} beyond the axis drawn on its edge`);
  const yTitle = `${chart.yLabel}${y?.log ? ' (log scale)' : ''}`;
  return (
    `<figure class="chart"><figcaption>${esc(chart.title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<rect class="frame" x="${left}" y="${top}" width="${w}" height="${h}"/>` +
    `<g class="lines">${parts.join('')}</g>` +
    `<text class="label" x="${left + w / 2}" y="${height - 4}" text-anchor="middle">epoch</text>` +
    `<text class="label" transform="translate(13 ${top + h / 2}) rotate(-90)" text-anchor="middle">${esc(yTitle)}</text>` +
    `</svg>${legend(chart.series)}${noteText(notes)}</figure>`
  );
}

/** A series' line; without a point to draw it stays in the chart, empty. */
function seriesPath(s: Series, d: string): string {
  const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
  return `<path data-series="${esc(s.name)}"${d ? ` d="${d}"` : ''} stroke="${s.color}"${dash}/>`;
}

function legend(series: Series[]): string {
  const items = series.map(
    (s) => `<li><span class="key${s.dashed ? ' dashed' : ''}" style="border-color:${s.color}"></span>${esc(s.name)}</li>`,
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}

function noteText(notes: (string | undefined)[]): string {
  const text = notes.filter(Boolean).join('; ');
  return text ? `<p class="note">${esc(text)}.</p>` : '';
}

// ---------------------------------------------------------------------------------------------
// Decision regions

const GRID = 60;
const CELL = 5;
/** Shades of a class's colour by the model's confidence: faint near the boundary. */
const OPACITY = [0.16, 0.28, 0.4, 0.55];
const MAX_DRAWN_POINTS = 2000;
const PANEL = { left: 46, right: 10, top: 10, bottom: 38 };

/** Classes a model's output layer gives: sigmoid with one output is two; softmax its outputs. */
function classCount(model: MLP): number | null {
  const out = model.layers[model.layers.length - 1]!;
  if (out.activation === 'sigmoid' && model.outputs === 1) return 2;
  if (out.activation === 'softmax') return model.outputs;
  return null;
}

interface Bounds {
  x: Scale;
  y: Scale;
}

/** The data's bounding box with a margin, in raw input units. */
function bounds(data: ReportData): Bounds {
  const axis = (k: number): Scale => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = k; i < data.x.length; i += 2) [lo, hi] = [Math.min(lo, data.x[i]!), Math.max(hi, data.x[i]!)];
    if (lo > hi) [lo, hi] = [-1, 1]; // no rows
    const margin = hi > lo ? (hi - lo) * 0.12 : Math.abs(lo) * 0.5 || 1;
    const s = linearScale(lo - margin, hi + margin, 5);
    return { ...s, ticks: s.ticks.filter((t) => t >= s.lo && t <= s.hi) };
  };
  return { x: axis(0), y: axis(1) };
}

interface Decisions {
  cls: Int32Array;
  /** The predicted class's probability. */
  p: Float64Array;
  /** How sure: 0 at a tie (p = 0.5, or 1/classes), 1 when certain; NaN where an output is not finite. */
  conf: Float64Array;
}

function decide(out: Float32Array, outputs: number, classes: number): Decisions {
  const rows = out.length / outputs;
  const cls = predictedClasses(out, rows, outputs);
  const p = new Float64Array(rows);
  const conf = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = out.subarray(r * outputs, (r + 1) * outputs);
    p[r] = outputs === 1 ? Math.max(row[0]!, 1 - row[0]!) : row[cls[r]!]!;
    conf[r] = row.every(Number.isFinite) ? (p[r]! - 1 / classes) / (1 - 1 / classes) : NaN;
  }
  return { cls, p, conf };
}

/**
 * The grid's cells as one path per (class, shade): runs of equal cells along each row become
 * one rectangle each, which keeps a 60x60 map to a few kilobytes.
 */
function regionShapes({ cls, conf }: Decisions): string[] {
  const keys = new Int32Array(GRID * GRID);
  for (let i = 0; i < keys.length; i++) {
    keys[i] = Number.isNaN(conf[i]) ? -1 : cls[i]! * OPACITY.length + Math.min(OPACITY.length - 1, Math.floor(conf[i]! * OPACITY.length));
  }
  const shapes = new Map<number, string>();
  for (let r = 0; r < GRID; r++) {
    for (let c = 0, end = 1; c < GRID; c = end, end = c + 1) {
      const key = keys[r * GRID + c]!;
      while (end < GRID && keys[r * GRID + end] === key) end++;
      if (key < 0) continue; // NaN predictions: left blank
      const w = (end - c) * CELL;
      shapes.set(key, `${shapes.get(key) ?? ''}M${PANEL.left + c * CELL} ${PANEL.top + r * CELL}h${w}v${CELL}h${-w}z`);
    }
  }
  return [...shapes]
    .sort(([a], [b]) => a - b)
    .map(([key, d]) => {
      const cls = Math.floor(key / OPACITY.length);
      return `<path data-class="${cls}" d="${d}" fill="${color(cls)}" fill-opacity="${OPACITY[key % OPACITY.length]}"/>`;
    });
}

function regionPanel(name: string, model: MLP, data: ReportData, box: Bounds): string {
  const classes = classCount(model)!;
  const rows = data.labels.length;
  const size = GRID * CELL;
  const { left, top } = PANEL;
  // One batched predict: the grid's cell centres, then the training rows.
  const input = new Float32Array((GRID * GRID + rows) * 2);
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      input[(r * GRID + c) * 2] = box.x.lo + ((c + 0.5) / GRID) * (box.x.hi - box.x.lo);
      input[(r * GRID + c) * 2 + 1] = box.y.hi - ((r + 0.5) / GRID) * (box.y.hi - box.y.lo);
    }
  }
  input.set(data.x, GRID * GRID * 2);
  const out = model.predict(input);
  const decisions = decide(out, model.outputs, classes);
  const regions = regionShapes(decisions);

  const X = (v: number): number => left + fraction(box.x, v) * size;
  const Y = (v: number): number => top + (1 - fraction(box.y, v)) * size;
  const axes: string[] = [];
  for (const t of box.x.ticks) {
    axes.push(`<line class="axis" x1="${px(X(t))}" x2="${px(X(t))}" y1="${top + size}" y2="${top + size + 4}"/>`);
    axes.push(`<text class="tick" x="${px(X(t))}" y="${top + size + 15}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of box.y.ticks) {
    axes.push(`<line class="axis" x1="${left - 4}" x2="${left}" y1="${px(Y(t))}" y2="${px(Y(t))}"/>`);
    axes.push(`<text class="tick" x="${left - 6}" y="${px(Y(t) + 3.5)}" text-anchor="end">${tickLabel(t)}</text>`);
  }

  // How sure the model is anywhere in the area: a model that learnt nothing sits near 0.5 (or
  // 1/classes) everywhere, and its colours alone would hide how little it decides.
  let [low, high, sure] = [Infinity, -Infinity, 0];
  for (let i = 0; i < GRID * GRID; i++) {
    if (Number.isNaN(decisions.conf[i])) continue;
    const p = model.outputs === 1 ? out[i]! : decisions.p[i]!;
    [low, high, sure] = [Math.min(low, p), Math.max(high, p), Math.max(sure, decisions.conf[i]!)];
  }
  const which = model.outputs === 1 ? `p(${clip(data.classNames[1]!, 30)})` : 'the top class\u2019s probability';
  const flat = high - low < 0.02 ? (sure < 0.02 ? ' (undecided everywhere)' : ' (the same everywhere)') : '';
  const range = low <= high ? `; ${which} here: ${low.toFixed(3)} to ${high.toFixed(3)}${flat}` : '';

  // The rows on top, in their true class's colour; the ones the model gets wrong ringed.
  const right = data.labels.map((label, i) => (decisions.cls[GRID * GRID + i] === label && !Number.isNaN(decisions.conf[GRID * GRID + i]) ? 1 : 0));
  const correct = right.reduce((a, b) => a + b, 0);
  const stride = Math.ceil(rows / MAX_DRAWN_POINTS);
  const radius = rows > 300 ? 2.5 : rows > 50 ? 4 : 6;
  const points: string[] = [];
  for (let i = 0; i < rows; i += stride) {
    const [cls, cx, cy] = [data.labels[i]!, px(X(data.x[i * 2]!)), px(Y(data.x[i * 2 + 1]!))];
    points.push(`<circle class="${right[i] ? 'right' : 'wrong'}" data-class="${cls}" cx="${cx}" cy="${cy}" r="${radius}" fill="${color(cls)}"/>`);
  }
  const width = left + size + PANEL.right;
  const height = top + size + PANEL.bottom;
  const [fx, fy] = data.featureNames;
  const shown = stride > 1 ? `; ${points.length} of ${rows} rows drawn` : '';
  return (
    `<figure class="regions" data-model="${esc(name)}"><figcaption>${esc(name)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<g class="cells">${regions.join('')}</g><rect class="frame" x="${left}" y="${top}" width="${size}" height="${size}"/>` +
    `${axes.join('')}<g class="points">${points.join('')}</g>` +
    `<text class="label" x="${left + size / 2}" y="${height - 4}" text-anchor="middle">${esc(clip(fx!, 50))}</text>` +
    `<text class="label" transform="translate(12 ${top + size / 2}) rotate(-90)" text-anchor="middle">${esc(clip(fy!, 50))}</text>` +
    `</svg><p class="note">${correct} of ${rows} rows right (${((100 * correct) / Math.max(1, rows)).toFixed(1)}%)${shown}${range}.</p></figure>`
  );
}

function regionsSection(input: ReportInput): string {
  const { data, model } = input;
  if (!data) return '';
  // The full architecture where it fits on the panel's caption line, else its sizes alone.
  const short = model.layers.length <= 3 ? architecture(model) : [model.inputs, ...model.layers.map((l) => l.units)].join('-');
  const models = [{ name: `model: ${short}`, model }, ...(input.baselines ?? [])];
  let why = '';
  if (data.inputs !== 2) why = `the data has ${data.inputs} inputs; decision regions are drawn for two`;
  else if (models.some((m) => classCount(m.model) === null)) why = 'decision regions are drawn for classifiers (a sigmoid or softmax output)';
  if (why) return `<section><h2>Decision regions</h2><p class="note">Not drawn: ${esc(why)}.</p></section>`;
  const box = bounds(data);
  const panels = models.map((m) => regionPanel(m.name, m.model, data, box));
  const classes = data.classNames.map(
    (c, k) => `<li><span class="key swatch" style="background:${color(k)}"></span>${esc(c)}</li>`,
  );
  return (
    `<section><h2>Decision regions</h2>` +
    `<p class="note">Each model's prediction over the data's range: the class's colour, deeper where the model is surer. ` +
    `Dots are the training rows in their true class's colour; a black ring marks a row the model gets wrong.</p>` +
    `<ul class="legend">${classes.join('')}</ul><div class="panels">${panels.join('')}</div></section>`
  );
}

// ---------------------------------------------------------------------------------------------
// The page

function architecture(model: MLP): string {
  return [`${model.inputs} inputs`, ...model.layers.map((l) => `${l.units} ${l.activation}`)].join(' \u2192 ');
}

function layerName(model: MLP, l: number): string {
  const layer = model.layers[l]!;
  return `layer ${l + 1}: ${layer.units} ${layer.activation}${l === model.layers.length - 1 ? ' (output)' : ''}`;
}

function metricCharts(input: ReportInput): string {
  const { history, model } = input;
  const epochs = history.map((m) => m.epoch);
  const pick = (f: (m: EpochMetrics) => number | undefined): (number | undefined)[] => history.map(f);
  const has = (f: (m: EpochMetrics) => number | undefined): boolean => history.some((m) => f(m) !== undefined);
  const trainVal = (a: (m: EpochMetrics) => number | undefined, b: (m: EpochMetrics) => number | undefined, name: string): Series[] => [
    { name: `training ${name}`, values: pick(a), color: color(0) },
    ...(has(b) ? [{ name: `validation ${name}`, values: pick(b), color: color(1), dashed: true }] : []),
  ];
  const charts: string[] = [];
  charts.push(lineChart({ title: 'Loss', yLabel: model.loss ?? 'loss', epochs, scale: 'auto', zero: true, series: trainVal((m) => m.loss, (m) => m.valLoss, 'loss') }));
  if (has((m) => m.accuracy)) {
    charts.push(lineChart({ title: 'Accuracy', yLabel: 'accuracy', epochs, scale: 'fraction', series: trainVal((m) => m.accuracy, (m) => m.valAccuracy, 'accuracy') }));
  } else if (has((m) => m.rmse)) {
    charts.push(lineChart({ title: 'Root-mean-square error', yLabel: 'RMSE', epochs, scale: 'auto', zero: true, series: trainVal((m) => m.rmse, (m) => m.valRmse, 'RMSE') }));
  }

  const layers = model.layers.map((_, l) => l);
  const perLayer = (f: (d: EpochMetrics['layers'][number]) => number | undefined, only: number[] = layers): Series[] =>
    only.map((l) => ({ name: layerName(model, l), values: history.map((m) => (m.layers?.[l] ? f(m.layers[l]!) : undefined)), color: color(l) }));
  const diagnostics = history.some((m) => (m.layers?.length ?? 0) > 0);
  if (!diagnostics) {
    charts.push(`<figure class="chart"><figcaption>Per-layer diagnostics</figcaption><p class="note">None in this history: the run had diagnostics off.</p></figure>`);
  } else {
    charts.push(
      lineChart({
        title: 'Gradient norm per layer',
        yLabel: 'gradient L2 norm',
        epochs,
        scale: 'log',
        series: perLayer((d) => d.gradNorm),
        note: 'Falling by decades towards the input: vanishing gradients; growing without bound: exploding ones',
      }),
    );
    charts.push(lineChart({ title: 'Weight norm per layer', yLabel: 'weight L2 norm', epochs, scale: 'auto', series: perLayer((d) => d.weightNorm) }));
    const relu = layers.filter((l) => ['relu', 'leakyRelu'].includes(model.layers[l]!.activation));
    charts.push(
      relu.length === 0
        ? `<figure class="chart"><figcaption>Dead ReLU units per layer</figcaption><p class="note">No ReLU layers in this model.</p></figure>`
        : lineChart({
            title: 'Dead ReLU units per layer',
            yLabel: 'fraction dead',
            epochs,
            scale: 'fraction',
            series: perLayer((d) => d.deadFraction, relu),
            note: 'A unit is dead when it was at or below zero for every sample of the epoch',
          }),
    );
    const squashing = layers.filter((l) => ['sigmoid', 'tanh'].includes(model.layers[l]!.activation));
    if (squashing.length > 0) {
      charts.push(
        lineChart({
          title: 'Saturated sigmoid/tanh units per layer',
          yLabel: 'fraction saturated',
          epochs,
          scale: 'fraction',
          series: perLayer((d) => d.saturatedFraction, squashing),
          note: 'Outputs within 1% of an asymptote pass almost no gradient (in an output layer, they are confident predictions)',
        }),
      );
    }
  }
  const rates = pick((m) => m.learningRate);
  if (rates.some((r) => r !== rates[0])) {
    charts.push(lineChart({ title: 'Learning rate', yLabel: 'learning rate', epochs, scale: 'auto', series: [{ name: 'learning rate', values: rates, color: color(0) }] }));
  }
  return `<section><h2>Training</h2><div class="charts">${charts.join('')}</div></section>`;
}

/**
 * Wall time of the history's runs. elapsedMs counts from the start of each train() call, so a
 * history made of several calls (the command line trains one epoch per call) restarts it.
 */
function trainingTime(history: EpochMetrics[]): number {
  let total = 0;
  history.forEach((m, i) => {
    const next = history[i + 1];
    if (Number.isFinite(m.elapsedMs) && (next === undefined || !(next.elapsedMs >= m.elapsedMs))) total += m.elapsedMs;
  });
  return total;
}

function summary(input: ReportInput): string {
  const { history, model } = input;
  const last = history[history.length - 1];
  const rows: [string, string][] = [
    ['Architecture', architecture(model)],
    ['Parameters', model.parameterCount.toLocaleString('en-US')],
    ['Loss function', model.loss ?? '\u2013'],
    ['Epochs', history.length === 0 ? 'none recorded' : `${history[0]!.epoch}\u2013${last!.epoch} (${history.length})`],
  ];
  if (last) {
    rows.push(['Final loss', `${metricText(last.loss)}${last.valLoss !== undefined ? ` (validation ${metricText(last.valLoss)})` : ''}`]);
    if (last.accuracy !== undefined) {
      rows.push(['Final accuracy', `${metricText(last.accuracy, true)}${last.valAccuracy !== undefined ? ` (validation ${metricText(last.valAccuracy, true)})` : ''}`]);
    }
    if (last.rmse !== undefined) rows.push(['Final RMSE', `${metricText(last.rmse)}${last.valRmse !== undefined ? ` (validation ${metricText(last.valRmse)})` : ''}`]);
    if (last.bestEpoch !== undefined) rows.push(['Best epoch', `${last.bestEpoch}${last.stoppedEarly ? ' (stopped early)' : ''}`]);
    const ms = trainingTime(history);
    rows.push(['Training time', ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`]);
  }
  const diverged = history.find((m) => !Number.isFinite(m.loss) || (m.valLoss !== undefined && !Number.isFinite(m.valLoss)));
  const warning = diverged
    ? `<p class="warning">The loss is not finite from epoch ${diverged.epoch} on: the run diverged. Try a smaller learning rate or gradient clipping.</p>`
    : '';
  const table = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  return `${warning}<table class="summary">${table}</table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table.summary{border-collapse:collapse}table.summary th{text-align:left;font-weight:600;padding:2px 16px 2px 0;color:#555}
.charts,.panels{display:flex;flex-wrap:wrap;gap:20px}
figure{margin:0;max-width:100%}figcaption{font-weight:600;margin-bottom:4px}
figure.chart{width:560px}figure.regions{width:356px}
svg{max-width:100%;height:auto;display:block;font-size:11px}
svg .frame{fill:none;stroke:#888;stroke-width:1}svg .grid{stroke:#e4e4e4;stroke-width:1}svg .axis{stroke:#888}
svg .tick{fill:#555}svg .label{fill:#333;font-size:12px}
svg .lines path{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg circle.right{stroke:#fff;stroke-width:1}svg circle.wrong{stroke:#000;stroke-width:2.2}
.legend{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 16px;overflow-wrap:anywhere}
.key{display:inline-block;width:22px;margin-right:6px;vertical-align:middle;border-top:2.5px solid}
.key.dashed{border-top-style:dashed}.key.swatch{width:12px;height:12px;border:0}
.note{color:#666;font-size:12.5px;margin:4px 0}.warning{background:#fff1f0;border:1px solid #e15759;padding:8px 12px}
`;

/** The whole report: a self-contained XHTML page (no scripts, no network, no external files). */
export function renderReport(input: ReportInput): string {
  checkInput(input);
  return (
    `<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><meta charset="utf-8"/>` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"/>` +
    `<meta name="generator" content="mlpstream"/><title>${esc(input.title)}</title><style>${STYLE}</style></head>` +
    `<body><h1>${esc(input.title)}</h1>${summary(input)}${metricCharts(input)}${regionsSection(input)}</body></html>\n`
  );
}

/** Renders the report and writes it atomically: the old file or the whole new one, never a part. */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  const html = renderReport(input);
  await writeFileAtomic(path, Buffer.from(html, 'utf8'), 'the report');
}

function checkInput(input: ReportInput): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('report input must be an object');
  if (typeof input.title !== 'string') throw new TypeError('report title must be a string');
  if (!Array.isArray(input.history)) throw new TypeError('report history must be an array of epoch metrics');
  input.history.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || !Number.isFinite(m.epoch)) {
      throw new TypeError(`report history[${i}] must be epoch metrics with a finite epoch number`);
    }
  });
  const isModel = (m: unknown): m is MLP => typeof (m as MLP)?.predict === 'function' && Array.isArray((m as MLP).layers);
  if (!isModel(input.model)) throw new TypeError('report model must be an MLP');
  (input.baselines ?? []).forEach((b, i) => {
    if (typeof b?.name !== 'string' || !isModel(b.model)) throw new TypeError(`report baselines[${i}] must be { name: string, model: MLP }`);
  });
  const data = input.data;
  if (data === undefined) return;
  if (!(data.x instanceof Float32Array)) throw new TypeError('report data.x must be a Float32Array');
  if (!(data.labels instanceof Int32Array)) throw new TypeError('report data.labels must be an Int32Array');
  if (!Number.isInteger(data.inputs) || data.inputs < 1) throw new RangeError('report data.inputs must be a positive integer');
  if (data.x.length !== data.labels.length * data.inputs) {
    throw new RangeError(`report data.x has ${data.x.length} numbers; ${data.labels.length} rows of ${data.inputs} inputs need ${data.labels.length * data.inputs}`);
  }
  if (!Array.isArray(data.featureNames) || data.featureNames.length !== data.inputs || data.featureNames.some((f) => typeof f !== 'string')) {
    throw new TypeError(`report data.featureNames must be ${data.inputs} strings`);
  }
  if (!Array.isArray(data.classNames) || data.classNames.some((c) => typeof c !== 'string')) throw new TypeError('report data.classNames must be strings');
  const notFinite = data.x.findIndex((v) => !Number.isFinite(v));
  if (notFinite >= 0) throw new RangeError(`report data.x[${notFinite}] is ${data.x[notFinite]}; inputs must be finite`);
  const bad = data.labels.findIndex((k) => k < 0 || k >= data.classNames.length);
  if (bad >= 0) throw new RangeError(`report data.labels[${bad}] is ${data.labels[bad]}; there are ${data.classNames.length} class names`);
  for (const m of [{ name: 'the model', model: input.model }, ...(input.baselines ?? [])]) {
    if (m.model.inputs !== data.inputs) throw new RangeError(`report: ${m.name} takes ${m.model.inputs} inputs but the data has ${data.inputs}`);
    const classes = classCount(m.model);
    if (classes !== null && classes !== data.classNames.length) {
      throw new RangeError(`report: ${m.name} predicts ${classes} classes but the data has ${data.classNames.length} class names`);
    }
  }
}
