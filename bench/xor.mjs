// W3 (../shared/bench-ref): XOR, 2-4-1, tanh hidden, sigmoid output + BCE, full-batch GD
// lr 0.5; 10,000 timed epochs end to end through the metrics stream (for await), after
// 100 warm-up epochs on a fresh model each repetition. Prints median and spread.
import { parseArgs } from 'node:util';

import { MLP } from 'mlpstream';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    epochs: { type: 'string', default: '10000' },
    hwm: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const epochs = Number(values.epochs);
const x = [[0, 0], [0, 1], [1, 0], [1, 1]];
const y = [[0], [1], [1], [0]];

async function once(seed, highWaterMark) {
  const model = new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed });
  const options = { batchSize: 'full', loss: 'binaryCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.5 }, shuffle: false };
  if (highWaterMark) options.highWaterMark = highWaterMark;
  for await (const _ of model.train({ x, y }, { ...options, epochs: 100 })) void _;
  const t0 = performance.now();
  let last;
  for await (const m of model.train({ x, y }, { ...options, epochs })) last = m;
  const ms = performance.now() - t0;
  return { ms, loss: last.loss, accuracy: last.accuracy };
}

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const marks = values.hwm ? values.hwm.split(',').map(Number) : [0];
for (const hwm of marks) {
  await once(1, hwm); // JIT warm-up of the stream path
  const runs = [];
  for (let r = 0; r < reps; r++) runs.push(await once(r + 1, hwm));
  const times = runs.map((r) => r.ms);
  const line = {
    system: 'mlpstream',
    workload: 'W3 xor 10k epochs',
    highWaterMark: hwm || 'default (16)',
    medianMs: +median(times).toFixed(2),
    minMs: +Math.min(...times).toFixed(2),
    maxMs: +Math.max(...times).toFixed(2),
    usPerEpoch: +((median(times) * 1000) / epochs).toFixed(3),
    finalLoss: +runs[0].loss.toFixed(5),
  };
  console.log(values.json ? JSON.stringify(line) : Object.values(line).join(','));
}
