#!/usr/bin/env node
// W2 training throughput (bench-ref README): 784-256-128-10, ReLU hidden, softmax cross-entropy
// on logits, SGD lr 0.01 (or --opt adam), batch 128 in order, 60,000 rows U[0,1), labels U{0..9}.
// One warm-up epoch, then --reps timed epochs (the native epoch time reported with each epoch's
// metrics); samples/s = 60000 / epoch time. Runs on 1 and 2 threads, then the numpy (OpenBLAS)
// and PyTorch peers in the same run when python3 can import them.
//
//   node bench/train.mjs [--reps 5] [--threads 1,2] [--opt sgd|adam] [--no-peers] [--json FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createRequire } from 'node:module';

import { MLP, kernelName, setThreads, getThreads } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const reps = Number(opt('reps', '5'));
const threadList = opt('threads', '1,2').split(',').map(Number);
const optimizer = opt('opt', 'sgd');
const peers = !args.includes('--no-peers');
const N = 60000;
const IN = 784;

function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
const r = lcg(1);
const x = new Float32Array(N * IN);
for (let i = 0; i < x.length; i++) x[i] = r();
const labels = new Int32Array(N);
for (let i = 0; i < N; i++) labels[i] = Math.floor(r() * 10);

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function ours(threads, diagnostics = false) {
  setThreads(threads);
  const model = new MLP({
    inputs: IN,
    layers: [
      { units: 256, activation: 'relu' },
      { units: 128, activation: 'relu' },
      { units: 10, activation: 'softmax' },
    ],
    seed: 1,
  });
  const stream = model.train(
    { x, y: labels },
    {
      epochs: reps + 1,
      batchSize: 128,
      shuffle: false,
      diagnostics,
      loss: 'crossEntropy',
      optimizer: optimizer === 'adam' ? { type: 'adam', learningRate: 1e-3 } : { type: 'sgd', learningRate: 0.01 },
    },
  );
  const sps = [];
  let loss = NaN;
  let cpu0 = null;
  let wall0 = 0;
  let cpuShare = NaN;
  for await (const m of stream) {
    if (m.epoch > 1) sps.push(N / (m.epochMs / 1000));
    loss = m.loss;
    if (m.epoch === 1) {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    }
  }
  if (cpu0) {
    const used = process.cpuUsage(cpu0);
    cpuShare = (used.user + used.system) / 1000 / (performance.now() - wall0);
  }
  return { median: median(sps), min: Math.min(...sps), max: Math.max(...sps), loss, cpuShare };
}

function peer(script, threads, python) {
  const res = spawnSync(
    'env',
    ['-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE', python, join(here, 'peers', script), '--threads', String(threads), '--opt', optimizer, '--reps', String(reps)],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (res.status !== 0) return { error: (res.stderr || res.error?.message || 'failed').trim().split('\n').pop() };
  const line = res.stdout.trim().split('\n').pop().split(',');
  return { median: Number(line[4]), min: Number(line[5]), max: Number(line[6]) };
}

const canImport = (python, mod) => spawnSync(python, ['-c', `import ${mod}`]).status === 0;

const before = getThreads();
const rows = [];
for (const t of threadList) rows.push({ system: `mlpstream (${kernelName()})`, threads: t, ...(await ours(t)) });
// The per-layer diagnostics (gradient/weight norms, dead and saturated units) are on by
// default in MLP.train; their cost is the difference between these rows and the ones above.
for (const t of threadList) {
  rows.push({ system: `mlpstream (${kernelName()}), diagnostics on`, threads: t, ...(await ours(t, true)) });
}
setThreads(before);
if (peers) {
  if (canImport('python3', 'numpy')) {
    for (const t of threadList) rows.push({ system: 'numpy + OpenBLAS', threads: t, ...peer('w2_numpy.py', t, 'python3') });
  } else {
    console.log('# numpy peer skipped: python3 cannot import numpy');
  }
  if (canImport('/usr/bin/python3', 'torch')) {
    for (const t of threadList) rows.push({ system: 'PyTorch', threads: t, ...peer('w2_torch.py', t, '/usr/bin/python3') });
  } else {
    console.log('# PyTorch peer skipped: /usr/bin/python3 cannot import torch');
  }
}

const numpyAt = (t) => rows.find((row) => row.system.startsWith('numpy') && row.threads === t && row.median);
const load = (await import('node:os')).loadavg()[0];
console.log(`# load average before the tables: ${load.toFixed(2)} on ${(await import('node:os')).cpus().length} CPUs`);
console.log(`# W2 training, 784-256-128-10, batch 128, ${optimizer}, ${N} samples/epoch, median of ${reps} epochs after 1 warm-up`);
// cores busy: CPU time this process got per wall second while timed (a spinning pool worker
// counts as busy). Well under `threads` means other processes had the cores.
console.log('| system | threads | samples/s (median) | min | max | vs numpy (same threads) | cores busy |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  if (row.error) {
    console.log(`| ${row.system} | ${row.threads} | failed: ${row.error} | | | |`);
    continue;
  }
  const np = numpyAt(row.threads);
  const ratio = np ? `${(row.median / np.median).toFixed(2)}x` : '';
  const share = row.cpuShare === undefined || Number.isNaN(row.cpuShare) ? '' : row.cpuShare.toFixed(2);
  console.log(`| ${row.system} | ${row.threads} | ${Math.round(row.median).toLocaleString('en-US')} | ${Math.round(row.min).toLocaleString('en-US')} | ${Math.round(row.max).toLocaleString('en-US')} | ${ratio} | ${share} |`);
}
// Where a step's time goes: the same step in native code (testing.profileStep: the trainer's
// Network, kernels and pool, batches in order from 60,000 random rows), medians per phase.
const require = createRequire(import.meta.url);
const root = join(here, '..');
const addon = process.env.MLPSTREAM_ADDON_PATH
  ? require(process.env.MLPSTREAM_ADDON_PATH)
  : require('pkg-prebuilds')(root, require(join(root, 'binding-options.cjs')));
const fwdFlop = 2 * 128 * (784 * 256 + 256 * 128 + 128 * 10);
const bwdFlop = fwdFlop + 2 * 128 * (256 * 128 + 128 * 10);
const profiles = [];
console.log('\n# One training step (batch 128), native profile: median microseconds per phase');
console.log('| threads | forward (3 GEMM, fused bias+ReLU) | loss + softmax grad | backward (5 GEMM, fused ReLU\' + column sums) | SGD update on the calling thread | SGD update split over the pool | step, update on 1 thread | samples/s | step, update over the pool (as training runs) | samples/s | fastest 10% of those steps, samples/s | GEMM GFLOP/s fwd / bwd | allocations in steps |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const sps = (us) => Math.round((128 / us) * 1e6).toLocaleString('en-US');
for (const t of threadList) {
  const p = addon.testing.profileStep(addon.kernelName(), t, 1000, 128);
  profiles.push({ threads: t, ...p });
  console.log(`| ${t} | ${p.forwardUs.toFixed(0)} | ${p.lossUs.toFixed(1)} | ${p.backwardUs.toFixed(0)} | ${p.optimizerStepUs.toFixed(0)} | ${p.optimizerKernelUs.toFixed(0)} | ${p.stepUs.toFixed(0)} | ${sps(p.stepUs)} | ${p.stepUsTableKernel.toFixed(0)} | ${sps(p.stepUsTableKernel)} | ${sps(p.stepUsTableKernelP10)} | ${(fwdFlop / p.forwardUs / 1e3).toFixed(0)} / ${(bwdFlop / p.backwardUs / 1e3).toFixed(0)} | ${p.workspaceAllocationsDuringSteps} |`);
}

const json = opt('json', undefined);
if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), optimizer, reps, rows, profiles }, null, 2));
