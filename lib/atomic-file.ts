// Crash-safe file replacement: write a temporary file in the target's directory, flush it to
// disk, rename it over the target, then flush the directory. A crash at any point leaves the
// old file or the new one, never a mix; on any error the temporary file is removed.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

import { ModelFileError, ModelFormatError } from './errors.js';

/** `reading`: ENOENT means the file is missing; when saving, the file is created, so its folder is. */
function reason(error: unknown, reading = false): string {
  const e = error as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: reading ? 'no such file' : 'the directory does not exist',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'the path is a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
    EDQUOT: 'disk quota exceeded',
  };
  return e?.code ? `${known[e.code] ?? e.message} (${e.code})` : String(error);
}

const WRITE_CHUNK = 8 * 1024 * 1024;

/** Temporary files of saves to `base` that a process killed mid-save left behind. */
const STALE_AFTER_MS = 60_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes temporary files of earlier saves to the same target whose writer is gone: a process
 * killed during a save leaves one (its name says which process wrote it). Only files of this
 * target's exact temporary-name pattern, whose process no longer exists and which have not been
 * written to for a minute, are removed; anything unexpected is left alone.
 */
async function removeStaleTemporaries(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const match = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    try {
      const stat = await fs.lstat(path.join(dir, name));
      if (stat.isFile() && Date.now() - stat.mtimeMs > STALE_AFTER_MS) await fs.rm(path.join(dir, name), { force: true });
    } catch {
      /* gone already, or not ours to remove */
    }
  }
}

/**
 * Writes `bytes` (or the pieces of `bytes`, one after another) to `target` atomically. `what`
 * names the file in the error message ("cannot save the model to ...").
 */
export async function writeFileAtomic(
  target: string,
  bytes: Uint8Array | readonly Uint8Array[],
  what = 'the model',
): Promise<void> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`path must be a non-empty string, got ${typeof target}`);
  }
  const resolved = path.resolve(target);
  const dir = path.dirname(resolved);
  const temp = path.join(dir, `.${path.basename(resolved)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', 0o644);
    for (const piece of bytes instanceof Uint8Array ? [bytes] : bytes) {
      let written = 0;
      while (written < piece.length) {
        // In chunks: one write of a multi-GB buffer can be cut short anyway, and it keeps each
        // call's hold on the libuv thread short.
        const { bytesWritten } = await handle.write(piece, written, Math.min(WRITE_CHUNK, piece.length - written));
        written += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, resolved);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new ModelFileError(`cannot save ${what} to '${resolved}': ${reason(error)}`, resolved, { cause: error });
  }
  // Make the rename itself durable. Some file systems refuse to fsync a directory; the file
  // is already complete and in place then, so that is not an error.
  try {
    const dirHandle = await fs.open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    /* best effort */
  }
  await removeStaleTemporaries(dir, path.basename(resolved));
}

/**
 * Reads a model file. `checkHeader(prefix, fileLength)` sees the file's first bytes (the length
 * prefix and the header) before the rest is read and may throw to refuse the file: a damaged or
 * hostile multi-gigabyte file is then refused after reading its header only.
 */
export async function readModelFile(
  target: string,
  checkHeader?: (prefix: Uint8Array, fileLength: number) => void,
  headerLength?: (prefix: Uint8Array) => number | null,
): Promise<Uint8Array> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`path must be a non-empty string, got ${typeof target}`);
  }
  const resolved = path.resolve(target);
  let handle: fs.FileHandle | undefined;
  let prefix: Uint8Array;
  let size: number;
  try {
    handle = await fs.open(resolved, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = stat.size;
    if (!checkHeader || !headerLength) return await handle.readFile();
    const first = await readAt(handle, 0, Math.min(size, 8));
    const n = headerLength(first);
    // A header longer than the file or the limit: what there is suffices to refuse it.
    const end = n === null || !Number.isFinite(n) || 8 + n > size ? first.length : 8 + n;
    prefix = end === first.length ? first : await readAt(handle, 0, end);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    throw new ModelFileError(`cannot read the model file '${resolved}': ${reason(error, true)}`, resolved, { cause: error });
  }
  try {
    checkHeader(prefix, size);
    return await readAt(handle, 0, size);
  } catch (error) {
    if (error instanceof ModelFormatError) throw error;
    throw new ModelFileError(`cannot read the model file '${resolved}': ${reason(error, true)}`, resolved, { cause: error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw Object.assign(new Error('the file shrank while it was read'), { code: 'ESHRUNK' });
    done += bytesRead;
  }
  return out;
}
