// Crash-safe file replacement: write a temporary file in the target's directory, flush it to
// disk, rename it over the target, then flush the directory. A crash at any point leaves the
// old file or the new one, never a mix; on any error the temporary file is removed.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

import { ModelFileError } from './errors.js';

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'the directory does not exist',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'the path is a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'the file system is read-only',
    EDQUOT: 'disk quota exceeded',
  };
  return e?.code ? `${known[e.code] ?? e.message} (${e.code})` : String(error);
}

export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`path must be a non-empty string, got ${typeof target}`);
  }
  const resolved = path.resolve(target);
  const dir = path.dirname(resolved);
  const temp = path.join(dir, `.${path.basename(resolved)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', 0o644);
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, resolved);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new ModelFileError(`cannot save the model to '${resolved}': ${reason(error)}`, resolved, { cause: error });
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
}

export async function readModelFile(target: string): Promise<Uint8Array> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`path must be a non-empty string, got ${typeof target}`);
  }
  const resolved = path.resolve(target);
  try {
    return await fs.readFile(resolved);
  } catch (error) {
    throw new ModelFileError(`cannot read the model file '${resolved}': ${reason(error)}`, resolved, { cause: error });
  }
}
