// A progress bar that moves inside epochs: the stream's 'progress' event (throttled, computed
// from counters the training thread keeps in shared memory) drives a cli-progress bar, and
// each epoch's metrics come through for await as usual. Ctrl-C stops the run within a
// mini-batch through an AbortSignal; the model keeps the weights of its last completed epoch.
//
//   npm install            (cli-progress is a dependency: the mlpstream command draws its bar with it)
//   node examples/progress.mjs [--epochs 5] [--rows 20000]
import { parseArgs } from 'node:util';

import cliProgress from 'cli-progress';
import { MLP } from 'mlpstream';

const { values } = parseArgs({
  options: { epochs: { type: 'string', default: '5' }, rows: { type: 'string', default: '20000' } },
});
const epochs = Number(values.epochs);
const rows = Number(values.rows);
const inputs = 64;
const classes = 4;

// Synthetic data: four classes around random prototypes (seeded).
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const prototypes = Array.from({ length: classes }, () => Array.from({ length: inputs }, rand));
const x = new Float32Array(rows * inputs);
const y = new Int32Array(rows);
for (let r = 0; r < rows; r++) {
  y[r] = r % classes;
  for (let i = 0; i < inputs; i++) x[r * inputs + i] = prototypes[y[r]][i] + (rand() - 0.5);
}

const model = new MLP({
  inputs,
  layers: [{ units: 256, activation: 'relu' }, { units: 128, activation: 'relu' }, { units: classes, activation: 'softmax' }],
  seed: 1,
});

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

const bar = new cliProgress.SingleBar(
  {
    format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | {rate} samples/s | eta {eta_s} s | {last}',
    hideCursor: true,
  },
  cliProgress.Presets.shades_classic,
);
let started = false;
let last = '';

const stream = model.train({ x, y }, { epochs, batchSize: 32, optimizer: 'adam', signal: controller.signal, progressInterval: 100 });
stream.on('progress', (p) => {
  const payload = { epoch: p.epoch, epochs, rate: Math.round(p.samplesPerSecond), eta_s: (p.etaMs / 1000).toFixed(1), last };
  if (!started) {
    bar.start(p.batchesPerEpoch, p.batchesDone, payload);
    started = true;
  } else {
    bar.update(p.batchesDone, payload);
  }
});

try {
  for await (const m of stream) {
    last = `loss ${m.loss.toFixed(4)}, accuracy ${(100 * (m.accuracy ?? 0)).toFixed(1)}%`;
    if (started) bar.update(m.batches, { epoch: m.epoch, epochs, eta_s: '0.0', last });
  }
  bar.stop();
  console.log(`trained ${model.epochsTrained} epochs: ${last}`);
} catch (e) {
  bar.stop();
  if (e.name !== 'AbortError') throw e;
  console.log(`stopped: the model keeps epoch ${model.epochsTrained} (${last || 'no epoch completed'})`);
}
