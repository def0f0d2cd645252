// A worker thread for test/53-workers.test.ts (through worker-child.mjs): trains a model with
// the built package and reports to its parent.
//   workerData: { seed, rows, epochs, batchSize, units, mode }
//   mode 'train'   posts { started } once train() returned, { progress } reports, { epoch } per epoch, then { done, weights }
//   mode 'exit'    calls process.exit(3) from inside the first progress report
//   mode 'predict' runs predictAsync and sgemmAsync again and again
import { parentPort, workerData } from 'node:worker_threads';

const { MLP, sgemmAsync } = await import(workerData.dist);
const { seed = 1, rows = 2048, epochs = 3, batchSize = 16, units = 64, mode = 'train' } = workerData;
const inputs = 64;
const x = new Float32Array(rows * inputs);
let s = 12345;
for (let i = 0; i < x.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  x[i] = s / 2 ** 32;
}
const y = new Int32Array(rows);
for (let r = 0; r < rows; r++) y[r] = r % 4;
const model = new MLP({ inputs, layers: [{ units, activation: 'relu' }, { units: 4, activation: 'softmax' }], seed });

if (mode === 'predict') {
  // Two promise-returning native calls at once, again and again (predictAsync, sgemmAsync).
  const n = 256;
  const a = new Float32Array(n * n).fill(0.5);
  const c = new Float32Array(n * n);
  parentPort.postMessage({ ready: true });
  for (;;) await Promise.all([model.predictAsync(x), sgemmAsync(n, n, n, a, a, c)]);
}

const stream = model.train({ x, y }, { epochs, batchSize, progressInterval: 10, optimizer: { type: 'adam', learningRate: 0.001 } });
parentPort.postMessage({ started: true });
stream.on('progress', (p) => {
  if (mode === 'exit') process.exit(3);
  parentPort.postMessage({ progress: p.batchesDone });
});
for await (const m of stream) parentPort.postMessage({ epoch: m.epoch });
parentPort.postMessage({ done: true, weights: model.getWeights().map((l) => l.weights) });
