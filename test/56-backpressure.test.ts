// Backpressure: a consumer that stops reading stops the training once highWaterMark epochs
// wait unread, and reading again resumes it; memory does not grow with a slow consumer.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics } from '../lib/types.js';

const X = new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]);
const Y = new Float32Array([0, 1, 1, 0]);
const xor = () => new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed: 7 });
const opts = { batchSize: 'full' as const, optimizer: { type: 'sgd' as const, learningRate: 0.5 } };

/** Samples `model.epochsTrained - read()` every millisecond while `body` runs; returns the worst. */
async function watchLead(model: MLP, read: () => number, body: () => Promise<void>): Promise<number> {
  let worst = -Infinity;
  const timer = setInterval(() => (worst = Math.max(worst, model.epochsTrained - read())), 1);
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  return Math.max(worst, model.epochsTrained - read());
}

describe('backpressure', () => {
  for (const highWaterMark of [1, 3, undefined]) {
    it(`a consumer that sleeps between reads: the run never leads by more than ${highWaterMark ?? 'the default (16)'}`, async () => {
      const mark = highWaterMark ?? 16;
      const model = xor();
      const stream = model.train({ x: X, y: Y }, { ...opts, epochs: mark + 30, highWaterMark });
      expect(stream.readableHighWaterMark).toBe(mark);
      let read = 0;
      const worst = await watchLead(model, () => read, async () => {
        for await (const m of stream) {
          read++;
          expect(m.epoch).toBe(read);
          expect(stream.readableLength).toBeLessThanOrEqual(mark);
          if (read % 10 === 0) {
            // A long pause: the run catches up to the mark (on a loaded machine this may take
            // a while), then must stay there.
            const until = performance.now() + 3000;
            while (model.epochsTrained - read < mark && performance.now() < until) await sleep(5);
            await sleep(30);
          } else {
            await sleep(2);
          }
        }
      });
      expect(read).toBe(mark + 30);
      expect(worst).toBeLessThanOrEqual(mark);
      // It did run ahead as far as allowed (the consumer was slow), so the bound was tested.
      expect(worst).toBe(mark);
    });
  }

  it('pause() holds the run at the mark, resume() lets it finish', async () => {
    const model = xor();
    const stream = model.train({ x: X, y: Y }, { ...opts, epochs: 200, highWaterMark: 4 });
    const seen: EpochMetrics[] = [];
    stream.on('data', (m: EpochMetrics) => {
      seen.push(m);
      if (seen.length === 20) stream.pause();
    });
    while (seen.length < 20) await sleep(1);
    await sleep(100);
    const held = model.epochsTrained;
    expect(held - seen.length).toBeLessThanOrEqual(4);
    await sleep(200);
    expect(model.epochsTrained).toBe(held); // paused: not a single epoch more
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.resume();
    await ended;
    expect(seen.map((m) => m.epoch)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a consumer that never reads keeps memory flat, even with a huge highWaterMark', async () => {
    const model = xor();
    const before = process.memoryUsage();
    // The ring shared with the thread is capped (1026 records), whatever the mark.
    const stream = model.train({ x: X, y: Y }, { ...opts, epochs: 1_000_000, highWaterMark: 1 << 20 });
    await sleep(300);
    const ahead = model.epochsTrained;
    expect(ahead).toBeGreaterThan(0);
    expect(ahead).toBeLessThanOrEqual(1026);
    await sleep(200);
    expect(model.epochsTrained).toBe(ahead); // paused once the ring is full
    const after = process.memoryUsage();
    expect((after.arrayBuffers - before.arrayBuffers) / 2 ** 20).toBeLessThan(4);
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
  });

  it('a for await loop that starts late: epochs already buffered count as unread', async () => {
    const model = xor();
    const stream = model.train({ x: X, y: Y }, { ...opts, epochs: 200 });
    // One epoch read the plain way starts the run, which then fills the Readable's buffer to
    // the mark before any loop exists.
    const until = performance.now() + 5000;
    let first: EpochMetrics | null = null;
    while (first === null && performance.now() < until) {
      first = stream.read() as EpochMetrics | null;
      if (first === null) await sleep(2);
    }
    expect(first?.epoch).toBe(1);
    while (stream.readableLength < 16 && performance.now() < until) await sleep(2);
    expect(stream.readableLength).toBe(16);
    let read = 1;
    for await (const m of stream) {
      read++;
      expect(m.epoch).toBe(read);
      if (read === 2) {
        await sleep(100);
        // Two epochs taken: the run may lead them by the mark, no more.
        expect(model.epochsTrained).toBe(2 + 16);
      }
    }
    expect(read).toBe(200);
  });
});
