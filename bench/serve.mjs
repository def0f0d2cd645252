// bench/serve: serving figures of workload W4 (shared/bench-ref/README.md): the 784-256-128-10
// network (ReLU hidden, 10 logits), one-sample latency (median and p99) and batch-1024
// throughput of mlpstream's predict, next to onnxruntime-node running the same weights exported
// with toONNX(), and numpy (bench/peers/w4_infer.py) when it is installed: one machine, one run.
//
//   npm run build && node bench/serve.mjs [--quick]
//
// Prints a markdown table (paste it into bench/README.md with the date). Latency is timed per
// call after 300 warm-up calls, in 5 repetitions of 2000 calls: the median of the per-repetition
// medians, and the p99 of all calls. Throughput: 5 repetitions of 20 batches of 1024 (fewer,
// at least 2, when a repetition passes a second); median.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ort from 'onnxruntime-node';

import * as mlpstream from '../dist/index.js';

const { kernelName, MLP } = mlpstream;
// setThreads/getThreads come with the GEMM thread pool; without them, batches run on whatever
// the build has (reported as "default").
const setThreads = typeof mlpstream.setThreads === 'function' ? mlpstream.setThreads : undefined;
const getThreads = typeof mlpstream.getThreads === 'function' ? mlpstream.getThreads : undefined;

const here = path.dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const REPS = quick ? 2 : 5;
const CALLS = quick ? 500 : 2000;
const BATCHES = quick ? 3 : 20;

// Same data as w4_infer.py's shape: inputs U[0, 1).
let seed = 1;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const x1 = Float32Array.from({ length: 784 }, random);
const xb = Float32Array.from({ length: 1024 * 784 }, random);

const model = new MLP({
  inputs: 784,
  layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: 10, activation: 'linear' }],
  seed: 0,
});

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const percentile = (a, q) => [...a].sort((p, r) => p - r)[Math.min(a.length - 1, Math.floor(a.length * q))];

async function latency(call) {
  for (let i = 0; i < 300; i++) await call();
  const medians = [];
  const all = [];
  for (let rep = 0; rep < REPS; rep++) {
    const times = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = process.hrtime.bigint();
      await call();
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    medians.push(median(times));
    all.push(...times);
  }
  return { median: median(medians), p99: percentile(all, 0.99) };
}

function latencySync(call) {
  for (let i = 0; i < 300; i++) call();
  const medians = [];
  const all = [];
  for (let rep = 0; rep < REPS; rep++) {
    const times = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = process.hrtime.bigint();
      call();
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    medians.push(median(times));
    all.push(...times);
  }
  return { median: median(medians), p99: percentile(all, 0.99) };
}

// Each repetition runs BATCHES batches, or fewer (at least 2) once it has taken a second, so
// that a slow system does not take minutes.
async function throughput(call) {
  for (let i = 0; i < 3; i++) await call();
  const rates = [];
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = performance.now();
    let n = 0;
    while (n < BATCHES && (n < 2 || performance.now() - t0 < 1000)) {
      await call();
      n++;
    }
    rates.push((n * 1024 * 1000) / (performance.now() - t0));
  }
  return median(rates);
}

const rows = [];
const fmt = (v, digits = 1) => (v === undefined ? '' : v.toFixed(digits));

// mlpstream
const into = new Float32Array(10);
const oursSync = latencySync(() => model.predict(x1, { into }));
const oursAlloc = latencySync(() => model.predict(x1));
const oursAsync = await latency(() => model.predictAsync(x1));
rows.push(['mlpstream predict(x, { into }) (sync)', oursSync, undefined]);
rows.push(['mlpstream predict(x) (sync, new array)', oursAlloc, undefined]);
rows.push(['mlpstream predictAsync(x)', oursAsync, undefined]);
const defaultThreads = getThreads?.();
for (const t of setThreads ? [1, 2] : ['default']) {
  if (setThreads) setThreads(t);
  const sync = await throughput(() => model.predict(xb));
  const async = await throughput(() => model.predictAsync(xb));
  const label = t === 'default' ? 'default threads' : `${t} thread${t > 1 ? 's' : ''}`;
  rows.push([`mlpstream predict(batch), ${label}`, undefined, sync]);
  rows.push([`mlpstream predictAsync(batch), ${label}`, undefined, async]);
}
if (setThreads && defaultThreads !== undefined) setThreads(defaultThreads);

// onnxruntime-node on the exported model, 1 and 2 intra-op threads.
const onnx = model.toONNX();
const check = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
const got = (await check.run({ input: new ort.Tensor('float32', x1, [1, 784]) })).output.data;
const want = model.predict(x1);
const worst = Math.max(...Array.from(want, (v, i) => Math.abs(v - got[i])));
await check.release();
for (const t of [1, 2]) {
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: t, interOpNumThreads: 1 });
  const t1 = new ort.Tensor('float32', x1, [1, 784]);
  const tb = new ort.Tensor('float32', xb, [1024, 784]);
  const lat = await latency(() => session.run({ input: t1 }));
  const thr = await throughput(() => session.run({ input: tb }));
  rows.push([`onnxruntime-node ${ort.env.versions?.node ?? ''} session.run, ${t} thread${t > 1 ? 's' : ''}`, lat, thr]);
  await session.release();
}

// numpy (the peer script), if present.
let numpy = '';
try {
  numpy = execFileSync('python3', [path.join(here, 'peers', 'w4_infer.py'), '--system', 'numpy', '--threads', '1', '--reps', String(REPS), '--calls', String(CALLS)], {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OPENBLAS_CORETYPE' && k !== 'OPENBLAS_L2_SIZE')),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  numpy = '';
}
if (numpy) {
  const [name, , threadsN, latMedian, , , thr] = numpy.split(',');
  rows.push([`${name} (bench/peers/w4_infer.py), ${threadsN} thread`, { median: Number(latMedian), p99: undefined }, Number(thr)]);
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`## Serving (W4: 784-256-128-10, ReLU, logits), ${new Date().toISOString().slice(0, 10)}`);
console.log('');
console.log(`${cpu}, ${os.cpus().length} cores, Node ${process.version}; mlpstream one-sample kernel ${model.native.predictKernel()}, batch kernels ${kernelName()}; onnxruntime output matches predict to ${worst.toExponential(1)}.${quick ? ' (--quick run)' : ''}`);
console.log('');
console.log('| system | 1 sample: median us | 1 sample: p99 us | batch 1024: samples/s |');
console.log('|---|---:|---:|---:|');
for (const [name, lat, thr] of rows) {
  console.log(`| ${name} | ${fmt(lat?.median)} | ${fmt(lat?.p99)} | ${thr === undefined ? '' : Math.round(thr).toLocaleString('en-US')} |`);
}
