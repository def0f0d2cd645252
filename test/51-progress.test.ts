// Progress inside epochs: a throttled 'progress' event (and the onProgress option), computed
// in JS from the words the training thread updates after every mini-batch.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import type { EpochMetrics, TrainingProgress } from '../lib/types.js';
import { BATCH, calibrate, newModel, options, type LongRun } from './helpers/long-run.js';

let run: LongRun;
beforeAll(async () => {
  // Epochs of about 0.6 s: several progress reports inside each.
  run = await calibrate(600, 16);
});

describe("the 'progress' event", () => {
  it('reports batches, rate and time left inside epochs, throttled to progressInterval', async () => {
    const model = newModel();
    const interval = 50;
    const stream = model.train(run.data, { ...options, epochs: 2, progressInterval: interval });
    const reports: { at: number; p: TrainingProgress }[] = [];
    const started = performance.now();
    stream.on('progress', (p: TrainingProgress) => reports.push({ at: performance.now(), p }));
    const epochs: { at: number; m: EpochMetrics }[] = [];
    for await (const m of stream) epochs.push({ at: performance.now(), m });
    const total = performance.now() - started;

    expect(epochs.map((e) => e.m.epoch)).toEqual([1, 2]);
    expect(reports.length).toBeGreaterThanOrEqual(4);
    // Throttled: never more than one report per interval (a timer's jitter aside), far fewer than batches.
    expect(reports.length).toBeLessThanOrEqual(total / interval + 2);
    expect(reports.length).toBeLessThan(2 * run.batchesPerEpoch);
    for (let i = 1; i < reports.length; i++) expect(reports[i]!.at - reports[i - 1]!.at).toBeGreaterThan(interval * 0.8);
    for (const { p } of reports) {
      expect([1, 2]).toContain(p.epoch);
      expect(p.batchesPerEpoch).toBe(run.batchesPerEpoch);
      expect(p.batchesDone).toBeGreaterThanOrEqual(0);
      expect(p.batchesDone).toBeLessThanOrEqual(p.batchesPerEpoch);
      expect(p.samplesPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(p.etaMs)).toBe(true);
      expect(p.etaMs).toBeGreaterThanOrEqual(0);
      expect(p.elapsedMs).toBeGreaterThan(0);
    }
    // Within an epoch the count only grows; both epochs were seen moving.
    for (let i = 1; i < reports.length; i++) {
      const [a, b] = [reports[i - 1]!.p, reports[i]!.p];
      if (a.epoch === b.epoch) expect(b.batchesDone).toBeGreaterThan(a.batchesDone);
      else expect(b.epoch).toBe(a.epoch + 1);
    }
    expect(reports.some((r) => r.p.epoch === 1 && r.p.batchesDone < run.batchesPerEpoch)).toBe(true);
    expect(reports.some((r) => r.p.epoch === 2 && r.p.batchesDone < run.batchesPerEpoch)).toBe(true);
    // The rate agrees with the epochs' own measure (within a factor: the machine is shared).
    const epochRate = epochs[1]!.m.samplesPerSecond;
    const reported = reports.filter((r) => r.p.epoch === 2).map((r) => r.p.samplesPerSecond);
    const median = reported.sort((a, b) => a - b)[Math.floor(reported.length / 2)]!;
    expect(median).toBeGreaterThan(epochRate / 3);
    expect(median).toBeLessThan(epochRate * 3);
    // The time left shrinks as the epoch goes on; a report in the middle of an epoch roughly
    // predicts its end.
    const mid = reports.find((r) => r.p.epoch === 2 && r.p.batchesDone >= run.batchesPerEpoch / 3 && r.p.batchesDone <= (2 * run.batchesPerEpoch) / 3);
    if (mid) {
      const actualLeft = epochs[1]!.at - mid.at;
      expect(mid.p.etaMs).toBeGreaterThan(actualLeft / 4);
      expect(mid.p.etaMs).toBeLessThan(actualLeft * 4 + 100);
    }
    // Epoch numbers continue the model's history, like the metrics'.
    const next = model.train(run.data, { ...options, epochs: 1, progressInterval: 20 });
    const seen: number[] = [];
    next.on('progress', (p: TrainingProgress) => seen.push(p.epoch));
    for await (const _ of next) void _;
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([3]));
  });

  it('onProgress receives the same reports; nothing is reported after the run ends', async () => {
    const model = newModel();
    const got: TrainingProgress[] = [];
    const stream = model.train(run.data, { ...options, epochs: 1, progressInterval: 30, onProgress: (p) => got.push(p) });
    let ended = false;
    stream.on('end', () => (ended = true));
    for await (const _ of stream) void _;
    expect(got.length).toBeGreaterThan(0);
    const count = got.length;
    await sleep(150);
    expect(ended).toBe(true);
    expect(got.length).toBe(count);
  });

  it('no reports while backpressure holds the run, and they resume with reading', async () => {
    const model = newModel();
    const got: { at: number; p: TrainingProgress }[] = [];
    const stream = model.train(run.data, { ...options, epochs: 4, highWaterMark: 1, progressInterval: 20 });
    stream.on('progress', (p: TrainingProgress) => got.push({ at: performance.now(), p }));
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value.epoch).toBe(1);
    // Not reading: the run may finish the epoch it is allowed (highWaterMark 1), then pauses.
    const waitUntil = performance.now() + 2.5 * (run.batchMs * run.batchesPerEpoch) + 300;
    while (model.epochsTrained < 2 && performance.now() < waitUntil) await sleep(20);
    expect(model.epochsTrained).toBe(2);
    await sleep(100);
    const pausedAt = performance.now();
    const before = got.length;
    await sleep(300);
    expect(got.length).toBe(before);
    expect(model.epochsTrained).toBe(2);
    // Reading again lets epoch 3 run, and its progress is reported.
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) void r;
    const after = got.filter((g) => g.at > pausedAt);
    expect(after.some((g) => g.p.epoch === 3)).toBe(true);
    // The paused time does not drag the rate down: it stays near the epochs' own.
    expect(after.filter((g) => g.p.epoch === 3).every((g) => g.p.samplesPerSecond > BATCH / (run.batchMs * 4) * 1000)).toBe(true);
  });

  it('data that streams in: batches and rate, with the epoch length unknown', async () => {
    const model = newModel();
    const { x, y } = run.data;
    const chunkRows = 4 * BATCH;
    function* chunks() {
      for (let r = 0; r < y.length; r += chunkRows) {
        yield { x: x.subarray(r * 128, (r + chunkRows) * 128), y: y.subarray(r, r + chunkRows) };
      }
    }
    const got: TrainingProgress[] = [];
    const stream = model.train(() => chunks(), { ...options, epochs: 1, progressInterval: 30, onProgress: (p) => got.push(p) });
    for await (const _ of stream) void _;
    expect(got.length).toBeGreaterThan(0);
    for (const p of got) {
      expect(p.epoch).toBe(1);
      expect(p.batchesPerEpoch).toBe(0);
      expect(Number.isNaN(p.etaMs)).toBe(true);
      expect(p.batchesDone).toBeGreaterThan(0);
      expect(p.samplesPerSecond).toBeGreaterThan(0);
    }
  });

  it('validates progressInterval and onProgress', () => {
    const model = new MLP({ inputs: 1, layers: [{ units: 1, activation: 'linear' }] });
    const data = { x: [[0], [1]], y: [[0], [1]] };
    expect(() => model.train(data, { epochs: 1, progressInterval: 5 })).toThrow(RangeError);
    expect(() => model.train(data, { epochs: 1, progressInterval: 1.5 })).toThrow(/progressInterval must be an integer/);
    expect(() => model.train(data, { epochs: 1, onProgress: 'yes' as never })).toThrow(/onProgress must be a function/);
    expect(model.isTraining).toBe(false);
  });
});
