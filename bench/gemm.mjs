#!/usr/bin/env node
// W1 SGEMM (bench-ref README): GFLOP/s = 2mnk / t, float32 row-major, alpha 1, beta 0.
// Square n = 64 .. 2048 for NN, TN (A^T B) and NT (A B^T), and the three layers of the
// 784-256-128-10 network at batch 128: fwd = X W (NN), bwdW = X^T dY (TN), bwdX = dY W^T (NT).
// On 1 and 2 threads, next to
//   (a) the FMA peak, measured by a loop of independent FMAs in this run, and
//   (b) OpenBLAS through numpy (bench/peers/w1_sgemm_numpy.py) in this run, when python3 can
//       import numpy; the machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE safety overrides are
//       unset for that command only (they force slower kernels).
// Our products are timed in native code (testing.benchGemm): the training loop calls the
// kernels from C++, so no per-call JS overhead is counted; numpy's per-call overhead is counted.
//
//   node bench/gemm.mjs [--threads 1,2] [--reps 7] [--isa avx512] [--no-peers] [--json FILE]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
// The addon as lib/binding.ts loads it: MLPSTREAM_ADDON_PATH, else build/Release, else prebuilds/.
const root = join(here, '..');
const addon = process.env.MLPSTREAM_ADDON_PATH
  ? require(process.env.MLPSTREAM_ADDON_PATH)
  : require('pkg-prebuilds')(root, require(join(root, 'binding-options.cjs')));
const t = addon.testing;
const isa = opt('isa', addon.kernelName());
const threadList = opt('threads', '1,2').split(',').map(Number);
const reps = Number(opt('reps', '7'));
const peers = !args.includes('--no-peers');

const cases = [];
for (const n of [64, 128, 256, 512, 1024, 2048]) for (const op of ['NN', 'TN', 'NT']) cases.push({ name: `sq${n}`, op, m: n, n, k: n });
for (const [b, i, o] of [[128, 784, 256], [128, 256, 128], [128, 128, 10]]) {
  cases.push({ name: `mlp${b}x${i}x${o}_fwd`, op: 'NN', m: b, n: o, k: i });
  cases.push({ name: `mlp${b}x${i}x${o}_bwdW`, op: 'TN', m: i, n: o, k: b });
  cases.push({ name: `mlp${b}x${i}x${o}_bwdX`, op: 'NT', m: b, n: i, k: o });
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// A peak is a capability: the best of 7 short runs (a median would fold the machine's
// interruptions into it and inflate the "% of peak" column).
function peak(threads) {
  const res = [];
  for (let r = 0; r < 7; r++) {
    const p = t.fmaPeak(isa, threads, 10_000_000);
    res.push(p.flops / p.seconds / 1e9);
  }
  return Math.max(...res);
}

function ours(c, threads, epilogue = 0) {
  const flop = 2 * c.m * c.n * c.k;
  // About 50 ms per round, as the numpy script does.
  let calls = 1;
  for (;;) {
    const [s] = t.benchGemm(isa, threads, c.op[0] === 'T', c.op[1] === 'T', c.m, c.n, c.k, calls, 1, 0, epilogue);
    if (s > 0.05) break;
    calls *= s < 0.005 ? 10 : 2;
  }
  const secs = t.benchGemm(isa, threads, c.op[0] === 'T', c.op[1] === 'T', c.m, c.n, c.k, calls, reps, 0, epilogue);
  return median(Array.from(secs, (s) => (flop * calls) / s / 1e9));
}

function numpy(threads, script = 'w1_sgemm_numpy.py') {
  if (spawnSync('python3', ['-c', 'import numpy']).status !== 0) return { skipped: 'python3 cannot import numpy' };
  const res = spawnSync(
    'env',
    ['-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE', 'python3', join(here, 'peers', script), '--threads', String(threads), '--reps', String(reps)],
    { encoding: 'utf8', timeout: 900_000 },
  );
  if (res.status !== 0) return { skipped: `numpy run failed: ${(res.stderr || '').trim().split('\n').pop()}` };
  const out = new Map();
  for (const line of res.stdout.trim().split('\n').slice(1)) {
    const f = line.split(',');
    out.set(`${f[2]}:${f[3]}`, Number(f[7]));
  }
  const info = (res.stderr || '').split('\n').filter((l) => l.includes('core=')).join(' ');
  return { out, info };
}

const results = [];
for (const threads of threadList) {
  const pk = peak(threads);
  const np = peers ? numpy(threads) : { skipped: '--no-peers' };
  const rows = cases.map((c) => ({ ...c, ours: ours(c, threads), openblas: np.out?.get(`${c.name}:${c.op}`) }));
  results.push({ threads, peak: pk, numpy: np.skipped ?? np.info, rows });
  console.log(`\n## ${threads} thread${threads > 1 ? 's' : ''}: kernels ${isa}; FMA peak ${pk.toFixed(0)} GFLOP/s (measured now)`);
  if (np.skipped) console.log(`# OpenBLAS column skipped: ${np.skipped}`);
  else console.log(`# OpenBLAS: ${np.info.trim().replace(/^# /, '')}`);
  console.log('| case | op | m x n x k | mlpstream GFLOP/s | % of peak | OpenBLAS GFLOP/s | ratio |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ob = r.openblas === undefined ? '' : r.openblas.toFixed(1);
    const ratio = r.openblas === undefined ? '' : `${(r.ours / r.openblas).toFixed(2)}x`;
    console.log(`| ${r.name} | ${r.op} | ${r.m}x${r.n}x${r.k} | ${r.ours.toFixed(1)} | ${((100 * r.ours) / pk).toFixed(0)}% | ${ob} | ${ratio} |`);
  }
}
// The training step's products with what follows them: ours with the bias + ReLU (forward) or
// ReLU' (backward deltas) fused into the store; numpy as w2_numpy.py runs them (product, then
// the element-wise passes). GFLOP/s counts 2mnk only.
const fusedCases = cases.filter((c) => c.name.endsWith('_fwd') || c.name.endsWith('_bwdX'));
for (const threads of threadList) {
  const np = peers ? numpy(threads, 'w1_fused_numpy.py') : { skipped: '--no-peers' };
  const rows = fusedCases.map((c) => ({
    ...c,
    ours: ours(c, threads, c.name.endsWith('_fwd') ? 1 : 2),
    numpy: np.out?.get(`${c.name}:${c.op}`),
  }));
  const entry = results.find((r) => r.threads === threads);
  if (entry) entry.fused = rows;
  console.log(`\n## ${threads} thread${threads > 1 ? 's' : ''}: training products with their element-wise work (fwd: + bias, ReLU; bwdX: * ReLU')`);
  if (np.skipped) console.log(`# numpy column skipped: ${np.skipped}`);
  console.log('| case | op | m x n x k | mlpstream fused GFLOP/s | numpy: matmul then element-wise, GFLOP/s | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const nb = r.numpy === undefined ? '' : r.numpy.toFixed(1);
    const ratio = r.numpy === undefined ? '' : `${(r.ours / r.numpy).toFixed(2)}x`;
    console.log(`| ${r.name} | ${r.op} | ${r.m}x${r.n}x${r.k} | ${r.ours.toFixed(1)} | ${nb} | ${ratio} |`);
  }
}

const json = opt('json', undefined);
if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), isa, reps, results }, null, 2));
