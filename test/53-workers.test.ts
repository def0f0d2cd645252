// worker_threads and process exits: the addon loads and trains in several workers at once, and
// a worker terminated mid-training, process.exit() mid-training (in a worker or on the main
// thread) and a run nobody reads neither crash nor hang the process. Each scenario runs in a
// child process (test/helpers/worker-child.mjs, with the built package) so that a crash shows
// as an exit code here instead of taking the test runner down.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { freshDist, repoRoot } from './helpers/dist.js';

const child = path.join(repoRoot, 'test', 'helpers', 'worker-child.mjs');

function scenario(mode: string, timeout = 60_000): { status: number | null; signal: string | null; out: unknown; stderr: string } {
  const r = spawnSync(process.execPath, [child, freshDist(), mode], { encoding: 'utf8', timeout });
  const line = r.stdout.trim().split('\n').filter(Boolean).at(-1);
  let out: unknown = null;
  try {
    out = line ? JSON.parse(line) : null;
  } catch {
    out = line;
  }
  return { status: r.status, signal: r.signal, out, stderr: r.stderr };
}

describe('worker threads', () => {
  it('the same training in three workers at once and in a fourth alone gives identical weights', () => {
    const r = scenario('parallel');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { workers: 3, same: true } });
  });

  it('workers terminated mid-training (copying their data, or mid-epoch) neither crash nor hang the process', () => {
    const r = scenario('terminate');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { mainStillTrained: true } });
    // terminate() waits for the training threads to stop: about a mini-batch, not an epoch.
    const times = (r.out as { terminateMs: number[] }).terminateMs;
    expect(times).toHaveLength(6);
    console.log(`worker.terminate() of three training workers took ${times.join(', ')} ms`);
  });

  it('workers terminated while predictAsync and sgemmAsync run do not crash the process', () => {
    const r = scenario('predict-terminate');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { ok: true } });
  });

  it('process.exit() inside a training worker ends that worker only', () => {
    const r = scenario('exit-worker');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { code: 3 } });
  });
});

describe('process exit', () => {
  it('process.exit() mid-training on the main thread (workers training too) exits cleanly', () => {
    const r = scenario('exit-main');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { exiting: true } });
  });

  it('a run nobody reads does not keep the process alive; it exits by itself', () => {
    const r = scenario('unread', 20_000);
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ status: 0, signal: null, out: { exited: true } });
    // It trained up to its high-water mark (2) and waited there.
    expect((r.out as { epochs: number }).epochs).toBeLessThanOrEqual(2 + 1);
  });

  it("an exception thrown by a 'data' listener is an uncaught exception, not swallowed at the native boundary", () => {
    const r = scenario('throw-in-data');
    expect(r).toMatchObject({ status: 0, signal: null, out: { uncaught: 'listener threw at epoch 1' } });
  });
});
