import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { getThreads, setThreads, sgemm, sgemmAsync } from '../lib/index.js';
import { native } from '../lib/binding.js';
import { gemmRef, maxRelativeError, randomArray, rng } from './helpers/reference.js';

describe('public sgemm', () => {
  it('computes C = alpha op(A) op(B) + beta C with offsets and leading dimensions', () => {
    const r = rng(41);
    const [m, n, k] = [37, 29, 45];
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const lda = (transA ? m : k) + 2;
      const ldb = (transB ? k : n) + 1;
      const ldc = n + 3;
      const [aRows, bRows] = [transA ? k : m, transB ? n : k];
      const a = randomArray(r, 5 + aRows * lda);
      const b = randomArray(r, 7 + bRows * ldb);
      const c = randomArray(r, 3 + m * ldc);
      const c0 = c.slice();
      const out = sgemm(m, n, k, a, b, c, {
        transA, transB, alpha: 0.5, beta: -2, lda, ldb, ldc, offsetA: 5, offsetB: 7, offsetC: 3,
      });
      expect(out).toBe(c);
      const want = gemmRef(transA, transB, m, n, k, 0.5, a.subarray(5), lda, b.subarray(7), ldb, -2, c0.subarray(3), ldc);
      expect(maxRelativeError(c.subarray(3, 3 + want.length), want, 1)).toBeLessThan(2e-6 * Math.sqrt(k) + 1e-6);
      expect(Array.from(c.subarray(0, 3))).toEqual(Array.from(c0.subarray(0, 3)));
    }
  });

  it('accepts empty products and k = 0 (C = beta C)', () => {
    const c = Float32Array.of(1, 2, 3, 4);
    sgemm(2, 2, 0, new Float32Array(0), new Float32Array(0), c, { beta: 2 });
    expect(Array.from(c)).toEqual([2, 4, 6, 8]);
    sgemm(0, 5, 3, new Float32Array(0), new Float32Array(15), new Float32Array(0));
  });

  it('rejects wrong arguments with clear errors', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    expect(() => sgemm(2, 2, 3, a, b, new Float32Array(3))).toThrow(/c has 3 elements; 2 x 2 with ldc 2 from offset 0 needs 4/);
    expect(() => sgemm(2, 2, 3, new Float32Array(5), b, c)).toThrow(RangeError);
    expect(() => sgemm(2, 2, 3, a, b, c, { lda: 2 })).toThrow(/options.lda must be between 3/);
    expect(() => sgemm(2, 2, 3, a, b, c, { offsetB: 1 })).toThrow(/b has 6 elements/);
    expect(() => sgemm(2, 2, 3, [1, 2] as unknown as Float32Array, b, c)).toThrow(TypeError);
    expect(() => sgemm(2.5, 2, 3, a, b, c)).toThrow(TypeError);
    expect(() => sgemm(-1, 2, 3, a, b, c)).toThrow(RangeError);
    expect(() => sgemm(2, 2, 3, a, b, c, { alpha: NaN })).toThrow(RangeError);
    expect(() => sgemm(2, 2, 3, a, b, c, { transposeA: true } as never)).toThrow(/transposeA/);
    const shared = new Float32Array(20);
    expect(() => sgemm(2, 2, 3, shared.subarray(0, 6), b, shared.subarray(4, 8))).toThrow(/c overlaps a or b/);
    expect(() => sgemm(2, 2, 3, a, b, a.subarray(0, 4) as Float32Array)).toThrow(/overlaps/);
    // Adjacent, not overlapping: fine.
    sgemm(2, 2, 3, shared.subarray(0, 6), b, shared.subarray(6, 10));
  });
});

describe('public sgemmAsync', () => {
  it('matches the synchronous result and resolves with c', async () => {
    const r = rng(42);
    const [m, n, k] = [300, 200, 150];
    const a = randomArray(r, k * m);
    const b = randomArray(r, k * n);
    const c = randomArray(r, m * n);
    const cSync = c.slice();
    sgemm(m, n, k, a, b, cSync, { transA: true, beta: 0.5 });
    const out = await sgemmAsync(m, n, k, a, b, c, { transA: true, beta: 0.5 });
    expect(out).toBe(c);
    expect(Buffer.compare(Buffer.from(c.buffer), Buffer.from(cSync.buffer))).toBe(0);
  });

  it('runs on copies: changing or transferring A during the product does not matter', async () => {
    const r = rng(43);
    const [m, n, k] = [64, 64, 64];
    const a = randomArray(r, m * k);
    const b = randomArray(r, k * n);
    const want = gemmRef(false, false, m, n, k, 1, a, k, b, n, 0, new Float32Array(m * n), n);
    const c = new Float32Array(m * n);
    const pending = sgemmAsync(m, n, k, a, b, c);
    a.fill(NaN);
    structuredClone(b.buffer, { transfer: [b.buffer as ArrayBuffer] }); // detaches b
    await pending;
    expect(maxRelativeError(c, want, 1)).toBeLessThan(1e-5);
  });

  it('rejects when c was detached before the result could be written', async () => {
    const c = new Float32Array(16);
    const pending = sgemmAsync(4, 4, 4, new Float32Array(16), new Float32Array(16), c);
    structuredClone(c.buffer, { transfer: [c.buffer as ArrayBuffer] });
    await expect(pending).rejects.toThrow(/detached/);
  });

  it('validates like sgemm (as a rejected promise)', async () => {
    await expect(sgemmAsync(2, 2, 3, new Float32Array(6), new Float32Array(6), new Float32Array(3))).rejects.toThrow(
      /sgemmAsync: c has 3 elements/,
    );
    await expect(sgemmAsync(2, 2, 3, new Float32Array(6), null as never, new Float32Array(4))).rejects.toThrow(TypeError);
  });

  it('several at once give the right answers', async () => {
    const r = rng(44);
    const jobs = Array.from({ length: 6 }, (_, i) => {
      const [m, n, k] = [50 + i, 40 + 2 * i, 30 + 3 * i];
      const a = randomArray(r, m * k);
      const b = randomArray(r, k * n);
      const c = new Float32Array(m * n);
      return { c, want: gemmRef(false, false, m, n, k, 1, a, k, b, n, 0, c, n), run: sgemmAsync(m, n, k, a, b, c) };
    });
    for (const job of jobs) {
      await job.run;
      expect(maxRelativeError(job.c, job.want, 1)).toBeLessThan(1e-5);
    }
  });
});

describe('threads', () => {
  it('defaults to the physical cores, can be changed, and results stay bit-identical', () => {
    expect(getThreads()).toBe(native.defaultThreads());
    const r = rng(45);
    const [m, n, k] = [256, 300, 200];
    const a = randomArray(r, m * k);
    const b = randomArray(r, k * n);
    const results: Float32Array[] = [];
    const before = getThreads();
    try {
      for (const t of [1, 2, 3]) {
        setThreads(t);
        expect(getThreads()).toBe(t);
        results.push(sgemm(m, n, k, a, b, new Float32Array(m * n)));
      }
    } finally {
      setThreads(before);
    }
    for (const got of results.slice(1)) expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(results[0]!.buffer))).toBe(0);
    expect(() => setThreads(0)).toThrow(RangeError);
    expect(() => setThreads(1.5)).toThrow(TypeError);
  });
});

describe('worker threads', () => {
  it('each environment has its own pool; concurrent workers compute correctly and exit cleanly', async () => {
    const entry = path.join(fileURLToPath(new URL('..', import.meta.url)), 'dist/index.cjs');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.entry);
      m.setThreads(2);
      const [M, N, K] = [150, 120, 90];
      const a = new Float32Array(M * K).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
      const b = new Float32Array(K * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
      const c = new Float32Array(M * N);
      for (let r = 0; r < 20; r++) m.sgemm(M, N, K, a, b, c);
      m.sgemmAsync(M, N, K, a, b, new Float32Array(M * N)).then((d) => parentPort.postMessage({ c, d, threads: m.getThreads() }));
    `;
    const run = () =>
      new Promise<{ c: Float32Array; d: Float32Array; threads: number }>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { entry } });
        w.once('message', (msg) => {
          resolve(msg);
          void w.terminate();
        });
        w.once('error', reject);
      });
    const results = await Promise.all([run(), run(), run()]);
    const [M, N, K] = [150, 120, 90];
    const a = new Float32Array(M * K).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    const b = new Float32Array(K * N).map((_, i) => ((i * 5) % 11) / 11 - 0.5);
    const want = gemmRef(false, false, M, N, K, 1, a, K, b, N, 0, new Float32Array(M * N), N);
    for (const r of results) {
      expect(r.threads).toBe(2);
      expect(maxRelativeError(r.c, want, 1)).toBeLessThan(1e-5);
      expect(Buffer.compare(Buffer.from(r.c.buffer), Buffer.from(r.d.buffer))).toBe(0);
    }
  });
});
