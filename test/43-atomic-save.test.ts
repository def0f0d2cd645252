// Saves never leave a broken file: a temporary file in the same directory, flushed, renamed over
// the target. Errors are ModelFileErrors that say what went wrong and leave nothing behind; a
// process killed mid-save leaves the old file or the new one, and its temporary file is cleaned
// up by the next save.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

import { writeFileAtomic } from '../lib/atomic-file.js';
import { loadModel, MLP, ModelFileError, ModelFormatError } from '../lib/index.js';
import { freshDist, repoRoot } from './helpers/dist.js';

const childScript = path.join(repoRoot, 'test', 'helpers', 'save-child.mjs');
const newDir = (): string => mkdtempSync(path.join(tmpdir(), 'mlpstream-save-'));
const temporaries = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

async function expectFileError(promise: Promise<unknown>, pattern: RegExp): Promise<ModelFileError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the save to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  expect((error as ModelFileError).code).toBe('ERR_MODEL_FILE');
  expect((error as Error).message).toMatch(pattern);
  return error as ModelFileError;
}

describe('save', () => {
  it('replaces the target whole and leaves no temporary file', async () => {
    const dir = newDir();
    const file = path.join(dir, 'model.safetensors');
    const a = new MLP({ inputs: 3, layers: [{ units: 2, activation: 'tanh' }], seed: 1 });
    const b = new MLP({ inputs: 3, layers: [{ units: 2, activation: 'tanh' }], seed: 2 });
    await a.save(file);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    await b.save(file);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect((await loadModel(file)).getWeights()).toEqual(b.getWeights());
    expect(Buffer.compare(readFileSync(file), b.toBuffer())).toBe(0);
  });

  it('into a directory that does not exist: a ModelFileError naming the path, nothing created', async () => {
    const dir = newDir();
    const file = path.join(dir, 'missing', 'model.safetensors');
    const error = await expectFileError(new MLP({ inputs: 1, layers: [{ units: 1 }] }).save(file), /the directory does not exist \(ENOENT\)/);
    expect(error.path).toBe(file);
    expect(error.message).toContain(file);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('over a directory: a ModelFileError, and the temporary file is removed', async () => {
    const dir = newDir();
    const target = path.join(dir, 'model.safetensors');
    mkdirSync(target);
    await expectFileError(new MLP({ inputs: 1, layers: [{ units: 1 }] }).save(target), /is a directory|EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('into a directory that is not writable: a ModelFileError saying permission denied; the old file stays, no temporary file', async () => {
    const dir = newDir();
    const file = path.join(dir, 'model.safetensors');
    const old = new MLP({ inputs: 3, layers: [{ units: 2 }], seed: 7 });
    await old.save(file);
    chmodSync(dir, 0o555);
    try {
      if (process.getuid?.() !== 0) {
        await expectFileError(new MLP({ inputs: 3, layers: [{ units: 2 }] }).save(file), /permission denied \(EACCES\)/);
      } else {
        // Root ignores permission bits; run the save in a process without the capabilities that
        // bypass them (util-linux setpriv), so the directory is as unwritable as for anyone else.
        freshDist();
        let run = spawnSync(
          'setpriv',
          ['--bounding-set=-dac_override,-dac_read_search,-fowner', process.execPath, childScript, 'once', file],
          { encoding: 'utf8', timeout: 30_000 },
        );
        if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
          // No setpriv: run it as user nobody instead (needs the checkout to be world-readable).
          run = spawnSync(process.execPath, [childScript, 'once', file], { encoding: 'utf8', timeout: 30_000, uid: 65534, gid: 65534 });
        }
        expect(run.error).toBeUndefined();
        expect(run.stderr).toBe('');
        const outcome = JSON.parse(run.stdout) as { ok: boolean; name: string; code: string; message: string; isModelFileError: boolean };
        expect(outcome).toMatchObject({ ok: false, name: 'ModelFileError', code: 'ERR_MODEL_FILE', isModelFileError: true });
        expect(outcome.message).toMatch(/^cannot save the model to '.*model.safetensors': permission denied \(EACCES\)$/);
      }
    } finally {
      chmodSync(dir, 0o755);
    }
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect((await loadModel(file)).getWeights()).toEqual(old.getWeights());
  });

  it('writeFileAtomic refuses a non-string path with a TypeError', async () => {
    await expect(writeFileAtomic(42 as never, new Uint8Array(1))).rejects.toThrow(TypeError);
    await expect(new MLP({ inputs: 1, layers: [{ units: 1 }] }).save('')).rejects.toThrow(/non-empty string/);
  });

  it('a process killed (SIGKILL) during saves of a 67 MB model leaves the old file or the new one, never a partial one', async () => {
    freshDist();
    const dir = newDir();
    const file = path.join(dir, 'big.safetensors');
    const outcomes: string[] = [];
    // Where to kill: while the temporary file is being written (seen half-written on disk), and
    // twice at a random moment of a whole save (encoding, writing, flushing or renaming). The
    // moment between a complete temporary file and its rename is too short here to aim at.
    const moments = ['writing', 'random', 'random'] as const;
    for (const moment of moments) {
      const child = spawn(process.execPath, [childScript, 'loop', file, '4096'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const closed = new Promise((resolve) => child.stdout.on('close', resolve));
      const state = { saving: -1, saved: -1, savingAt: 0, duration: 0 };
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [what, n] = line.split(' ');
        if (what === 'saving') {
          state.saving = Number(n);
          state.savingAt = performance.now();
        } else if (what === 'saved') {
          state.saved = Number(n);
          if (state.saved === 1) state.duration = performance.now() - state.savingAt;
        }
      });
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      while (state.saved < 1) await sleep(5);
      const full = statSync(file).size;
      const started = performance.now();
      const randomDelay = Math.random() * state.duration;
      let hit = false;
      while (!hit && performance.now() - started < 30 * state.duration) {
        const temp = temporaries(dir)[0];
        let size = -1;
        try {
          size = temp ? statSync(path.join(dir, temp)).size : -1;
        } catch {
          /* renamed meanwhile */
        }
        if (moment === 'writing') hit = size > 0 && size < full;
        else hit = state.saving > state.saved && performance.now() - state.savingAt >= randomDelay;
        if (!hit) await sleep(1);
      }
      child.kill('SIGKILL');
      const killedAt = `${(performance.now() - state.savingAt).toFixed(0)} ms into save ${state.saving} (a save takes ~${state.duration.toFixed(0)} ms)`;
      expect(await exited).toBe('SIGKILL');
      await closed;
      expect(hit, `the kill point '${moment}' was not reached`).toBe(true);
      // The child had completed save `saved` and was in save `saving` (or between saves): the file
      // is one of the two, whole.
      const leftovers = temporaries(dir);
      const loaded = await loadModel(file);
      const epochs = loaded.trainingSummary?.epochs;
      expect([state.saved, state.saving]).toContain(epochs);
      expect(loaded.parameterCount).toBe(4097 * 4096 + 4097 * 8);
      outcomes.push(`kill ${moment}: ${killedAt} -> the ${epochs === state.saved ? 'old' : 'new'} file loads; ${leftovers.length} temporary file(s) left`);
      // Nothing but the target and, at most, the killed process's temporary file.
      for (const f of readdirSync(dir)) expect(f === 'big.safetensors' || /^\.big\.safetensors\.\d+\.[0-9a-f]{12}\.tmp$/.test(f)).toBe(true);
    }
    console.log(outcomes.join('\n'));
    // The next save removes temporaries of dead writers once they are a minute old.
    const past = new Date(Date.now() - 120_000);
    for (const t of temporaries(dir)) utimesSync(path.join(dir, t), past, past);
    await new MLP({ inputs: 2, layers: [{ units: 1 }] }).save(file);
    expect(readdirSync(dir)).toEqual(['big.safetensors']);
  }, 120_000);

  it('a fresh temporary file of another (dead) writer is left alone: it may be a slow writer elsewhere', async () => {
    const dir = newDir();
    const file = path.join(dir, 'm.safetensors');
    // PID 2^22 + 1 is above Linux's pid_max ceiling, so no such process exists.
    const foreign = path.join(dir, `.m.safetensors.${2 ** 22 + 1}.0123456789ab.tmp`);
    writeFileSync(foreign, 'partial');
    await new MLP({ inputs: 2, layers: [{ units: 1 }] }).save(file);
    expect(existsSync(foreign)).toBe(true);
    const past = new Date(Date.now() - 120_000);
    utimesSync(foreign, past, past);
    await new MLP({ inputs: 2, layers: [{ units: 1 }] }).save(file);
    expect(existsSync(foreign)).toBe(false);
  });
});

describe('load', () => {
  it('a huge file is judged by its header first: an 8 GB (sparse) file is refused without being read', async () => {
    const dir = newDir();
    const small = new MLP({ inputs: 3, layers: [{ units: 2 }] }).toBuffer();
    const withTail = path.join(dir, 'tail.safetensors');
    writeFileSync(withTail, small);
    truncateSync(withTail, 8 * 2 ** 30); // a valid model followed by 8 GB of zeros (a hole)
    const zeros = path.join(dir, 'zeros.safetensors');
    writeFileSync(zeros, '');
    truncateSync(zeros, 8 * 2 ** 30);
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    await expect(loadModel(withTail)).rejects.toThrow(/data section has \d+ bytes after the last tensor/);
    await expect(loadModel(zeros)).rejects.toThrow(/header length 0 is too small/);
    await expect(loadModel(zeros)).rejects.toBeInstanceOf(ModelFormatError);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20);
  });


  it('a missing file or a directory: ModelFileError; a partial file: ModelFormatError', async () => {
    const dir = newDir();
    await expect(loadModel(path.join(dir, 'nope.safetensors'))).rejects.toThrow(/cannot read the model file .*nope.safetensors': no such file \(ENOENT\)/);
    await expect(loadModel(dir)).rejects.toBeInstanceOf(ModelFileError);
    const whole = new MLP({ inputs: 3, layers: [{ units: 2 }] }).toBuffer();
    writeFileSync(path.join(dir, 'half.safetensors'), whole.subarray(0, whole.length >> 1));
    await expect(loadModel(path.join(dir, 'half.safetensors'))).rejects.toBeInstanceOf(ModelFormatError);
  });
});
