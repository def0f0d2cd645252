// W3 (bench/peers/README.md): XOR, 2-4-1, tanh hidden, sigmoid output + BCE, full-batch GD
// lr 0.5; 10,000 timed epochs end to end through the metrics stream (`for await` over every
// epoch's metrics), after 100 warm-up epochs, a fresh model each repetition. Then the peers in
// the same run: numpy and PyTorch (bench/peers/w3_xor.py), brain.js and TensorFlow.js
// (bench/peers/*.mjs, installed by `npm --prefix bench/peers install`). Medians and ratios.
//
//   node bench/xor.mjs [--reps 9] [--hwm 16,64] [--no-peers]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { kernelName, MLP } from '../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '9' },
    hwm: { type: 'string', default: '16' },
    'no-peers': { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const EPOCHS = 10000;
const x = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]);
const y = new Float32Array([0, 1, 1, 0]);
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

async function once(seed, highWaterMark) {
  const model = new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed });
  const options = { batchSize: 'full', loss: 'binaryCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.5 }, highWaterMark };
  for await (const _ of model.train({ x, y }, { ...options, epochs: 100 })) void _;
  const t0 = performance.now();
  let last;
  for await (const m of model.train({ x, y }, { ...options, epochs: EPOCHS })) last = m;
  return { ms: performance.now() - t0, loss: last.loss };
}

const rows = [];
for (const hwm of values.hwm.split(',').map(Number)) {
  await once(1, hwm); // JIT warm-up of the stream path
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await once(r + 1, hwm));
  const times = runs.map((r) => r.ms);
  rows.push({
    system: `mlpstream (${kernelName()}), for await, highWaterMark ${hwm}`,
    median: median(times),
    min: Math.min(...times),
    max: Math.max(...times),
    loss: runs[0].loss,
  });
}

function peer(command, args, label) {
  const res = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000, cwd: here });
  if (res.status !== 0) return { system: label, error: (res.stderr || res.error?.message || 'failed').trim().split('\n').pop() };
  const f = res.stdout.trim().split('\n').pop().split(',');
  return { system: label, median: Number(f[3]), min: Number(f[4]), max: Number(f[5]), loss: Number(f[7]) };
}
if (!values['no-peers']) {
  const py = (python, system, label) =>
    spawnSync(python, ['-c', `import ${system}`]).status === 0
      ? rows.push(peer('env', ['-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE', python, join(here, 'peers', 'w3_xor.py'), '--system', system, '--reps', '3'], label))
      : console.log(`# ${label} skipped: ${python} cannot import ${system}`);
  py('python3', 'numpy', 'numpy (float32, hand-written)');
  py('/usr/bin/python3', 'torch', 'PyTorch (CPU, 1 thread)');
  const js = (script, module, label) =>
    existsSync(join(here, 'peers', 'node_modules', module))
      ? rows.push(peer(process.execPath, [join(here, 'peers', script), '--reps', '3'], label))
      : console.log(`# ${label} skipped: run npm --prefix bench/peers install`);
  js('w3_brain.mjs', 'brain.js', 'brain.js (plain JS, no stream)');
  js('w3_tfjs.mjs', '@tensorflow/tfjs', 'TensorFlow.js (cpu backend)');
}

const ours = rows[0];
console.log(`# W3: 10,000 full-batch epochs of the 2-4-1 XOR network; ${new Date().toISOString()}; ${os.cpus()[0]?.model} x${os.cpus().length}, load ${os.loadavg()[0].toFixed(2)}`);
console.log('| system | median ms | min | max | us/epoch | final loss | time vs mlpstream |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.error) {
    console.log(`| ${r.system} | failed: ${r.error} | | | | | |`);
    continue;
  }
  console.log(
    `| ${r.system} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${r.max.toFixed(1)} | ${((r.median * 1000) / EPOCHS).toFixed(2)} | ${Number(r.loss).toPrecision(3)} | ${(r.median / ours.median).toFixed(1)}x |`,
  );
}
