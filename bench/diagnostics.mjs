// The cost of the per-layer diagnostics (gradient/weight norms, dead and saturated units) on
// W2 (784-256-128-10, batch 128, SGD, 60,000 rows): epochs with diagnostics on and off,
// interleaved on one model so both see the same machine conditions; medians and the ratio.
//
//   node bench/diagnostics.mjs [--pairs 6] [--threads 1,2]
import os from 'node:os';
import { parseArgs } from 'node:util';

import { getThreads, kernelName, MLP, setThreads } from '../dist/index.js';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '6' }, threads: { type: 'string', default: '1,2' } } });
const N = 60000;
const IN = 784;
let seed = 1;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
const x = Float32Array.from({ length: N * IN }, random);
const y = Int32Array.from({ length: N }, () => Math.floor(random() * 10));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const before = getThreads();
console.log(`# diagnostics cost, W2, ${kernelName()}, ${new Date().toISOString()}, load ${os.loadavg()[0].toFixed(2)}`);
console.log('| threads | epoch ms, diagnostics off (median) | on (median) | cost |');
console.log('|---|---|---|---|');
for (const threads of values.threads.split(',').map(Number)) {
  setThreads(threads);
  const model = new MLP({ inputs: IN, layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: 10, activation: 'softmax' }], seed: 1 });
  const run = async (diagnostics) => {
    let ms = NaN;
    for await (const m of model.train({ x, y }, { epochs: 1, batchSize: 128, shuffle: false, diagnostics, optimizer: { type: 'sgd', learningRate: 0.01 } })) ms = m.epochMs;
    return ms;
  };
  await run(false); // warm-up
  const off = [];
  const on = [];
  for (let p = 0; p < Number(values.pairs); p++) {
    off.push(await run(false));
    on.push(await run(true));
  }
  const [a, b] = [median(off), median(on)];
  console.log(`| ${threads} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(((b - a) / a) * 100).toFixed(1)}% |`);
}
setThreads(before);
