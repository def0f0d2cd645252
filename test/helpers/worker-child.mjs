// A separate process for test/53-workers.test.ts: worker threads and process exits must not
// crash or hang the process, so each scenario runs here and the test reads the exit code.
//   node worker-child.mjs DIST MODE
// Prints one line of JSON with what it saw; exits 0 when the scenario went as expected.
import { Worker } from 'node:worker_threads';

const [dist, mode] = process.argv.slice(2);
const { MLP } = await import(dist);
const here = new URL('./worker-train.mjs', import.meta.url);

const start = (workerData) => new Worker(here, { workerData: { dist, ...workerData } });
const firstMessage = (w, key) =>
  new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m) => m[key] !== undefined && resolve(m));
  });
const result = (w) =>
  new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m) => m.done && resolve(m.weights));
  });

function mainThreadData(rows, inputs) {
  const x = new Float32Array(rows * inputs);
  const y = new Int32Array(rows);
  return { x, y };
}

if (mode === 'parallel') {
  // The same training in three workers at once and in this thread: identical weights.
  const job = { seed: 7, rows: 1024, epochs: 3, batchSize: 16 };
  const workers = [0, 1, 2].map(() => start(job));
  const weights = await Promise.all(workers.map(result));
  const alone = await result(start(job));
  const same = weights.every((w) => w.every((layer, l) => Buffer.compare(Buffer.from(layer.buffer), Buffer.from(alone[l].buffer)) === 0));
  console.log(JSON.stringify({ workers: weights.length, same }));
  process.exit(same ? 0 : 1);
} else if (mode === 'terminate') {
  // Workers terminated mid-run (while the thread copies the data, or in the middle of an
  // epoch), three at a time, while this thread trains too.
  const model = new MLP({ inputs: 64, layers: [{ units: 32 }, { units: 4, activation: 'softmax' }] });
  const own = model.train(mainThreadData(4096, 64), { epochs: 1_000_000, batchSize: 8 });
  own.resume();
  const times = [];
  for (let round = 0; round < 6; round++) {
    const workers = [0, 1, 2].map((i) => start({ seed: i, rows: round === 0 ? 100_000 : 8192, epochs: 1000, units: 256 }));
    // Round 0: as soon as train() returned (the thread is copying 25 MB); then mid-epoch.
    await Promise.all(workers.map((w) => firstMessage(w, round === 0 ? 'started' : 'progress')));
    const t = performance.now();
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    times.push(Math.round(performance.now() - t));
    if (codes.some((c) => c !== 1)) throw new Error(`unexpected exit codes ${codes}`);
  }
  own.destroy();
  await new Promise((r) => own.once('close', r));
  console.log(JSON.stringify({ terminateMs: times, mainStillTrained: model.epochsTrained > 0 }));
} else if (mode === 'predict-terminate') {
  for (let round = 0; round < 5; round++) {
    const workers = [0, 1].map(() => start({ mode: 'predict', rows: 1024, units: 256 }));
    await Promise.all(workers.map((w) => firstMessage(w, 'ready')));
    await new Promise((r) => setTimeout(r, 10 + 9 * round));
    await Promise.all(workers.map((w) => w.terminate()));
  }
  console.log(JSON.stringify({ ok: true }));
} else if (mode === 'exit-worker') {
  // process.exit() inside a worker, from a progress report mid-epoch, ends that worker only.
  const w = start({ mode: 'exit', rows: 8192, epochs: 1000, units: 256 });
  const code = await new Promise((r) => w.on('exit', r));
  const after = await result(start({ seed: 1, rows: 256, epochs: 1 }));
  console.log(JSON.stringify({ code, trainedAfter: after.length }));
  process.exit(code === 3 ? 0 : 1);
} else if (mode === 'exit-main') {
  // process.exit() mid-training on the main thread, with workers training too.
  const workers = [0, 1].map((i) => start({ seed: i, rows: 8192, epochs: 1000, units: 256 }));
  await Promise.all(workers.map((w) => firstMessage(w, 'progress')));
  const model = new MLP({ inputs: 64, layers: [{ units: 256 }, { units: 4, activation: 'softmax' }] });
  const stream = model.train(mainThreadData(8192, 64), { epochs: 1000, batchSize: 8, progressInterval: 10 });
  stream.on('progress', () => {
    console.log(JSON.stringify({ exiting: true }));
    process.exit(0);
  });
} else if (mode === 'unread') {
  // A run nobody reads: it pauses at its high-water mark, the event loop empties and the
  // process ends by itself (the cleanup hook stops and joins the thread).
  const model = new MLP({ inputs: 64, layers: [{ units: 16 }, { units: 4, activation: 'softmax' }] });
  model.train(mainThreadData(256, 64), { epochs: 1_000_000, batchSize: 'full', highWaterMark: 2, onProgress: () => {} });
  process.on('exit', () => console.log(JSON.stringify({ exited: true, epochs: model.epochsTrained })));
} else if (mode === 'throw-in-data') {
  // An exception thrown by a 'data' listener is an uncaught exception, as with any stream.
  process.on('uncaughtException', (e) => {
    console.log(JSON.stringify({ uncaught: e.message }));
    process.exit(0);
  });
  const model = new MLP({ inputs: 64, layers: [{ units: 16 }, { units: 4, activation: 'softmax' }] });
  const stream = model.train(mainThreadData(256, 64), { epochs: 5, batchSize: 16 });
  stream.on('data', (m) => {
    throw new Error(`listener threw at epoch ${m.epoch}`);
  });
  setTimeout(() => process.exit(1), 20_000).unref();
} else {
  throw new Error(`unknown mode ${mode}`);
}
