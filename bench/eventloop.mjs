// The event loop while a large model trains: 784-512-512-10 (ReLU, softmax) on 60,000
// synthetic rows, mini-batches of 32, read with for await and a 'progress' listener.
//
// Measures, on the main thread:
// - the event-loop delay (perf_hooks.monitorEventLoopDelay, 2 ms resolution; the delay is the
//   interval between its timer's callbacks minus the resolution) while the run trains;
// - a 10 ms setTimeout re-armed all along: how late each one fires;
// - how long the train() call itself blocks (Float32Array input; --input array for number[][]);
// - the time from destroy() to 'close' when the run is stopped at the end;
// and the same delay figures for a few idle seconds first (what the machine gives anyway).
//
// node bench/eventloop.mjs [--epochs 2] [--max-seconds 120] [--rows 60000] [--input f32|array] [--threads N] [--json]
// The run stops after --epochs epochs or --max-seconds of training, whichever comes first.
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { MLP, getThreads, kernelName, setThreads } from 'mlpstream';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '2' },
    'max-seconds': { type: 'string', default: '120' },
    'idle-seconds': { type: 'string', default: '3' },
    rows: { type: 'string', default: '60000' },
    batch: { type: 'string', default: '32' },
    input: { type: 'string', default: 'f32' },
    threads: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const epochs = Number(values.epochs);
if (values.threads) setThreads(Number(values.threads));
const maxMs = Number(values['max-seconds']) * 1000;
const rows = Number(values.rows);
const inputs = 784;
const RESOLUTION_MS = 2;

// Synthetic MNIST-shaped data: 10 classes around random prototypes (seeded).
function makeData() {
  let s = 12345;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prototypes = Array.from({ length: 10 }, () => Float32Array.from({ length: inputs }, rand));
  const x = new Float32Array(rows * inputs);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % 10;
    y[r] = c;
    const p = prototypes[c];
    for (let i = 0; i < inputs; i++) x[r * inputs + i] = p[i] + 0.3 * (rand() - 0.5);
  }
  return { x, y };
}

const ms = (ns) => ns / 1e6;
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Starts the two probes; stop() returns their figures. */
function probes() {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const late = [];
  const outliers = [];
  const probeStart = performance.now();
  let timer;
  let due;
  const arm = () => {
    due = performance.now() + 10;
    timer = setTimeout(() => {
      const l = performance.now() - due;
      late.push(l);
      if (l > 5) outliers.push({ atMs: Math.round(performance.now() - probeStart), lateMs: Math.round(l) });
      arm();
    }, 10);
  };
  arm();
  return () => {
    histogram.disable();
    clearTimeout(timer);
    late.sort((a, b) => a - b);
    return {
      delay: {
        p50: ms(histogram.percentile(50)) - RESOLUTION_MS,
        p99: ms(histogram.percentile(99)) - RESOLUTION_MS,
        max: ms(histogram.max) - RESOLUTION_MS,
        samples: histogram.count,
      },
      timer10: { p50: quantile(late, 0.5), p99: quantile(late, 0.99), max: late[late.length - 1], count: late.length, outliers },
    };
  };
}

const { x, y } = makeData();
const data = values.input === 'array'
  ? { x: Array.from({ length: rows }, (_, r) => Array.from(x.subarray(r * inputs, (r + 1) * inputs))), y: Array.from(y) }
  : { x, y };
if (globalThis.gc) globalThis.gc();

// Idle: what this machine's load does to the loop anyway.
let stop = probes();
await sleep(Number(values['idle-seconds']) * 1000);
const idle = stop();

const model = new MLP({
  inputs,
  layers: [{ units: 512, activation: 'relu' }, { units: 512, activation: 'relu' }, { units: 10, activation: 'softmax' }],
  seed: 1,
});
stop = probes();
const t0 = performance.now();
const stream = model.train(data, { epochs: 1000, batchSize: Number(values.batch), optimizer: { type: 'sgd', learningRate: 0.05 }, highWaterMark: 2 });
const trainCallMs = performance.now() - t0;
let progressEvents = 0;
let lastProgress;
stream.on('progress', (p) => {
  progressEvents++;
  lastProgress = p;
});
const history = [];
let stopAt = 0;
const closed = new Promise((resolve) => stream.once('close', () => resolve(performance.now())));
const deadline = setTimeout(() => {
  stopAt = performance.now();
  stream.destroy();
}, maxMs);
try {
  for await (const m of stream) {
    history.push({ epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, epochMs: m.epochMs, samplesPerSecond: m.samplesPerSecond });
    if (history.length >= epochs) {
      stopAt = performance.now();
      break;
    }
  }
} catch (e) {
  if (e.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e; // the deadline's destroy()
}
clearTimeout(deadline);
const stopMs = (await closed) - stopAt;
const trainingMs = performance.now() - t0;
const during = stop();

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cpus: os.cpus().length,
  load: os.loadavg().map((v) => v.toFixed(2)).join(' '),
  kernel: kernelName(),
  threads: getThreads(),
  input: values.input,
  rows,
  trainCallMs,
  trainingMs,
  epochsCompleted: history.length,
  batchesIntoNextEpoch: lastProgress && lastProgress.epoch > history.length ? lastProgress.batchesDone : 0,
  samplesPerSecond: lastProgress?.samplesPerSecond,
  progressEvents,
  stopMs,
  idle,
  during,
  history,
};
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (v) => (v === undefined ? '-' : v.toFixed(2));
  console.log(`${result.date}  ${result.cpu} (${result.cpus} CPUs), Node ${result.node}, kernels ${result.kernel} x ${result.threads} threads, load ${result.load}`);
  console.log(`input ${values.input}: train() call ${f(trainCallMs)} ms; trained ${(trainingMs / 1000).toFixed(1)} s: ` +
    `${history.length} epoch(s) + ${result.batchesIntoNextEpoch} batches, ~${Math.round(result.samplesPerSecond ?? 0)} samples/s, ` +
    `${progressEvents} progress events; destroy() -> close ${f(stopMs)} ms`);
  console.log('                      | loop delay p50 | p99    | max     | 10 ms timer late p50 | p99   | max');
  for (const [name, r] of [['idle (no training)', idle], ['while training', during]]) {
    console.log(`${name.padEnd(22)}| ${f(r.delay.p50).padStart(14)} | ${f(r.delay.p99).padStart(6)} | ${f(r.delay.max).padStart(7)} | ` +
      `${f(r.timer10.p50).padStart(20)} | ${f(r.timer10.p99).padStart(5)} | ${f(r.timer10.max)}`);
  }
  for (const [name, r] of [['idle', idle], ['training', during]]) {
    if (r.timer10.outliers.length) {
      console.log(`10 ms timer fired later than 15 ms (${name}): ` + r.timer10.outliers.map((o) => `${o.lateMs} ms at ${o.atMs} ms`).join(', '));
    }
  }
}
