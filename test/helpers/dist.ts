// Tests that run a child process (a killed save, the example server) use the built package
// (dist/, made by `npm install` / `npm run build:ts`). A stale build would test old code, so
// refuse one older than the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freshDist(): string {
  const entry = path.join(repoRoot, 'dist', 'index.cjs');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run 'npm run build:ts' (npm install does it)`);
  const built = statSync(entry).mtimeMs;
  const lib = path.join(repoRoot, 'lib');
  for (const f of readdirSync(lib, { recursive: true }) as string[]) {
    if (statSync(path.join(lib, f)).mtimeMs > built) {
      throw new Error(`dist/ is older than lib/${f}: run 'npm run build:ts' before these tests`);
    }
  }
  return path.join(repoRoot, 'dist', 'index.js');
}

/** The built command (dist/cli.cjs), checked fresh like freshDist. */
export function freshCli(): string {
  freshDist();
  const cli = path.join(repoRoot, 'dist', 'cli.cjs');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'npm run build:ts'`);
  return cli;
}
