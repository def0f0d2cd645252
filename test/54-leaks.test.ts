// Nothing leaks: hundreds of runs started and stopped every way there is (destroy while the
// thread copies the data, break, abort mid-epoch, completion, bad data found on the thread)
// leave memory and the process's thread count where they were.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics } from '../lib/types.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function threads(): number | null {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  } catch {
    return null;
  }
}

async function settle(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

const MB = 1024 * 1024;
const inputs = 64;
// Above the size that is copied on the training thread (1.2 MB of inputs).
const bigRows = 5000;
const big = { x: new Float32Array(bigRows * inputs).fill(0.5), y: new Int32Array(bigRows) };
const bad = { x: big.x.slice(), y: big.y };
bad.x[bad.x.length - 7] = NaN;
const small = { x: new Float32Array(256 * inputs).fill(0.25), y: new Int32Array(256) };

async function cycle(model: MLP, i: number): Promise<void> {
  const opts = { batchSize: 16, optimizer: 'adam' as const };
  switch (i % 5) {
    case 0: {
      // Destroyed at once: the thread is (or is about to be) copying the big arrays.
      const stream = model.train(big, { ...opts, epochs: 100 });
      stream.destroy();
      await new Promise((r) => stream.once('close', r));
      return;
    }
    case 1: {
      for await (const _ of model.train(small, { ...opts, epochs: 1000 })) break;
      return;
    }
    case 2: {
      // Aborted from a progress report, mid-epoch.
      const controller = new AbortController();
      const stream = model.train(big, { ...opts, epochs: 100, signal: controller.signal, progressInterval: 10, onProgress: () => controller.abort() });
      try {
        for await (const _ of stream) void _;
      } catch (e) {
        if ((e as Error).name !== 'AbortError') throw e;
      }
      return;
    }
    case 3: {
      const seen: EpochMetrics[] = [];
      for await (const m of model.train(small, { ...opts, epochs: 2, batchSize: 'full' })) seen.push(m);
      if (seen.length !== 2) throw new Error('run did not complete');
      return;
    }
    default: {
      // NaN found by the thread while copying: the stream errors with a RangeError.
      try {
        for await (const _ of model.train(bad, { ...opts, epochs: 1 })) void _;
        throw new Error('expected a RangeError');
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
  }
}

describe('start and cancel, hundreds of times', () => {
  it('memory and threads stay flat', async () => {
    const model = new MLP({ inputs, layers: [{ units: 32, activation: 'relu' }, { units: 4, activation: 'softmax' }], seed: 1 });
    for (let i = 0; i < 50; i++) await cycle(model, i);
    const before = await settle();
    const threadsBefore = threads();
    const cycles = 400;
    const t0 = performance.now();
    for (let i = 0; i < cycles; i++) await cycle(model, i);
    const ms = performance.now() - t0;
    const after = await settle();
    const threadsAfter = threads();
    const growth = {
      rss: (after.rss - before.rss) / MB,
      heapUsed: (after.heapUsed - before.heapUsed) / MB,
      external: (after.external - before.external) / MB,
      arrayBuffers: (after.arrayBuffers - before.arrayBuffers) / MB,
    };
    console.log(
      `${cycles} start/stop cycles in ${(ms / 1000).toFixed(1)} s; growth (MB): ` +
        Object.entries(growth).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') +
        `; rss ${(before.rss / MB).toFixed(0)} -> ${(after.rss / MB).toFixed(0)} MB; threads ${threadsBefore} -> ${threadsAfter}`,
    );
    expect(model.isTraining).toBe(false);
    // A leak of the data (1.2 MB a cycle on 240 of them) or of a session's buffers would show
    // as hundreds of MB; allow for allocator and GC noise.
    expect(growth.rss).toBeLessThan(48);
    expect(growth.external).toBeLessThan(8);
    expect(growth.arrayBuffers).toBeLessThan(8);
    expect(growth.heapUsed).toBeLessThan(16);
    if (threadsBefore !== null) expect(threadsAfter).toBeLessThanOrEqual(threadsBefore);
  });

  it('the training arrays are let go once the thread has copied them', async () => {
    // A run holds its big input arrays only until its thread has copied them: afterwards the
    // arrays can be collected while the run goes on.
    const model = new MLP({ inputs, layers: [{ units: 8, activation: 'relu' }, { units: 4, activation: 'softmax' }], seed: 1 });
    let x: Float32Array | null = new Float32Array(bigRows * inputs).fill(0.5);
    let done = false;
    const registry = new FinalizationRegistry<string>(() => (done = true));
    registry.register(x, 'x');
    const stream = model.train({ x, y: big.y }, { epochs: 1000, batchSize: 16, highWaterMark: 1 });
    x = null;
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // the first epoch: the data was copied long before
    for (let i = 0; i < 50 && !done; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(done).toBe(true);
    expect(model.isTraining).toBe(true);
    await iterator.return!();
  });
});
