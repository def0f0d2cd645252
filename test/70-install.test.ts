// What a user gets from `npm install mlpstream`: the package is packed as it would be
// published (`npm pack` of a copy of this checkout, so package.json's `files` list is what is
// tested) and installed into new projects.
// - With the prebuilt binary and no compiler, CMake, make or ninja on PATH, both `import` and
//   `require` train XOR with the prebuild (and nothing was built).
// - Without a prebuild, the install says so in one line and builds from source with cmake-js.
// - Without a prebuild and without the tools, the install fails naming what is missing; a
//   prebuild that does not load, or --build-from-source, also leads to the source build.
// The prebuild is the addon this checkout already built (build/Release, from the same sources),
// put through the same `pkg-prebuilds-copy --strip` step as scripts/make-prebuilds.sh, rather
// than a second compile; the source-build case compiles the addon for real.
// Installing resolves the package's dependencies through the npm cache (--prefer-offline).
// This file runs in its own vitest project after all the others (vitest.config.ts), so its
// compile does not compete with the timing-sensitive tests for the CPU.
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freshDist, repoRoot } from './helpers/dist.js';

interface Run {
  status: number | null;
  output: string;
}

/** Runs a command to its end; stdout and stderr interleaved in `output`, as a user sees them. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

// `npm test` passes its own settings down as npm_* variables (its prefix, the lifecycle event);
// the npm runs here must behave as a user's do, so they get none of them.
function cleanEnv(pathValue = process.env.PATH ?? ''): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // MLPSTREAM_ADDON_PATH (the sanitizer run's addon) would take the place of the installed one.
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'MLPSTREAM_ADDON_PATH') env[key] = value;
  }
  env.PATH = pathValue;
  return env;
}

// The npm running this test (npm test), else the one installed beside this node.
const npmCli = process.env.npm_execpath ?? path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const npm = (args: string[], cwd: string, env?: NodeJS.ProcessEnv) =>
  run(process.execPath, [npmCli, ...args, '--no-audit', '--no-fund'], { cwd, env });

const musl = process.platform === 'linux' && existsSync('/etc/alpine-release');
const prebuildPath = `prebuilds/mlpstream-${process.platform}-${process.arch}${musl ? '-musl' : ''}/node-napi-v8.node`;
const target = `${process.platform}-${process.arch}${musl ? '-musl' : ''} (Node-API 8)`;

// Everything a build could use; none of it may be reachable in the no-compiler installs.
const BUILD_TOOLS = ['cmake', 'g++', 'gcc', 'cc', 'c++', 'clang', 'clang++', 'make', 'ninja'];

let tmp = '';
let bareBin = '';
const tarball = { withPrebuild: '', sourceOnly: '', brokenPrebuild: '' };

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

async function pack(dir: string, destination: string): Promise<Packed> {
  mkdirSync(destination);
  // --ignore-scripts: `prepare` would rebuild dist/; the copy already has this checkout's fresh one.
  const r = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], dir);
  expect(r.status, r.output).toBe(0);
  const packed = (JSON.parse(r.output.slice(r.output.indexOf('['))) as Packed[])[0]!;
  return { ...packed, filename: path.join(destination, packed.filename) };
}

/** A new project with the tarball installed and the two entry scripts beside the helper. */
async function install(name: string, tgz: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<{ dir: string; r: Run }> {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  copyFileSync(path.join(repoRoot, 'test', 'helpers', 'xor-installed.cjs'), path.join(dir, 'xor-installed.cjs'));
  writeFileSync(path.join(dir, 'use.cjs'), `require('./xor-installed.cjs')(require('mlpstream').MLP);\n`);
  writeFileSync(
    path.join(dir, 'use.mjs'),
    `import { MLP } from 'mlpstream';\nimport xorInstalled from './xor-installed.cjs';\nawait xorInstalled(MLP);\n`,
  );
  // --foreground-scripts: npm shows an install script's output only when it fails, otherwise.
  const r = await npm(['install', '--prefer-offline', '--foreground-scripts', ...extra, tgz], dir, env);
  return { dir, r };
}

async function expectXor(dir: string, env: NodeJS.ProcessEnv, addon: string): Promise<void> {
  for (const entry of ['use.mjs', 'use.cjs']) {
    const r = await run(process.execPath, [entry], { cwd: dir, env });
    expect(r.status, r.output).toBe(0);
    const out = JSON.parse(r.output.trim().split('\n').at(-1)!) as { predictions: number[]; addons: string[] };
    const [p00, p01, p10, p11] = out.predictions;
    expect({ entry, p00: p00! < 0.1, p01: p01! > 0.9, p10: p10! > 0.9, p11: p11! < 0.1 }).toEqual({
      entry,
      p00: true,
      p01: true,
      p10: true,
      p11: true,
    });
    expect(out.addons).toEqual([realpathSync(path.join(dir, 'node_modules', 'mlpstream', addon))]);
  }
}

beforeAll(async () => {
  freshDist(); // the tarball ships dist/: refuse a stale one
  tmp = mkdtempSync(path.join(tmpdir(), 'mlpstream-install-'));

  // A copy of the checkout to pack, without what is local to it (npm's `files` list decides
  // what ships; leaving these out only keeps the copy small and prebuilds/ out of the repo).
  const stage = path.join(tmp, 'package');
  const local = new Set(['node_modules', '.git', 'build', 'prebuilds', 'coverage', 'tmp']);
  cpSync(repoRoot, stage, {
    recursive: true,
    filter: (src) => {
      const top = path.relative(repoRoot, src).split(path.sep)[0]!;
      return !local.has(top) && !top.startsWith('build-') && !top.endsWith('.tgz');
    },
  });
  tarball.sourceOnly = (await pack(stage, path.join(tmp, 'source-only'))).filename;

  const copy = await run(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'pkg-prebuilds', 'bin', 'copy.mjs'),
      '--baseDir', path.relative(stage, path.join(repoRoot, 'build', 'Release')),
      '--source', 'mlpstream.node', '--name', 'mlpstream', '--strip', '--napi_version', '8',
      ...(musl ? ['--libc', 'musl'] : []),
    ],
    { cwd: stage },
  );
  expect(copy.status, copy.output).toBe(0);
  expect(existsSync(path.join(stage, prebuildPath))).toBe(true);
  const packed = await pack(stage, path.join(tmp, 'with-prebuild'));
  tarball.withPrebuild = packed.filename;

  const files = packed.files.map((f) => f.path).sort();
  console.log(
    `tarball with one prebuild: ${files.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ` +
      `${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked`,
  );
  for (const needed of ['dist/index.cjs', 'dist/index.js', 'dist/index.d.ts', 'dist/index.d.cts', prebuildPath,
    'CMakeLists.txt', 'binding-options.cjs', 'scripts/install.cjs', 'native/binding/addon.cc', 'native/core/gemm/gemm.cc']) {
    expect(files).toContain(needed);
  }
  expect(files.filter((f) => /^(test|bench|examples|lib|build|native\/tools|node_modules|\.ci)\//.test(f))).toEqual([]);

  // A prebuild that is there but does not load (as on a Linux older than the build machine's).
  writeFileSync(path.join(stage, prebuildPath), 'not a shared object');
  tarball.brokenPrebuild = (await pack(stage, path.join(tmp, 'broken-prebuild'))).filename;

  // PATH for the no-compiler installs: a directory holding node and sh only.
  bareBin = path.join(tmp, 'bin');
  mkdirSync(bareBin);
  symlinkSync(process.execPath, path.join(bareBin, 'node'));
  symlinkSync('/bin/sh', path.join(bareBin, 'sh'));
  const found = await run('/bin/sh', ['-c', `for t in ${BUILD_TOOLS.join(' ')}; do command -v "$t"; done; true`], {
    cwd: tmp,
    env: cleanEnv(bareBin),
  });
  expect(found).toEqual({ status: 0, output: '' });
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm install of the packed package', () => {
  it('with the prebuild and no compiler, CMake, make or ninja: import and require train XOR on the prebuilt binary', async () => {
    const env = cleanEnv(bareBin);
    const t0 = performance.now();
    const { dir, r } = await install('prebuilt', tarball.withPrebuild, env);
    console.log(`install with the prebuild: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.status, r.output).toBe(0);
    expect(r.output).not.toContain('building from source');
    expect(existsSync(path.join(dir, 'node_modules', 'mlpstream', 'build'))).toBe(false);
    await expectXor(dir, env, prebuildPath);
  }, 300_000);

  it('without a prebuild: says so in one line and builds from source with cmake-js', async () => {
    const env = cleanEnv();
    const t0 = performance.now();
    const { dir, r } = await install('source', tarball.sourceOnly, env);
    console.log(`install with a source build: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.status, r.output).toBe(0);
    const notices = r.output.split('\n').filter((line) => line.startsWith('mlpstream:'));
    expect(notices).toEqual([`mlpstream: no prebuilt binary for ${target}; building from source with cmake-js`]);
    await expectXor(dir, env, 'build/Release/mlpstream.node');
  }, 600_000);

  it('without a prebuild and without the tools: fails, naming what is missing and how to get it', async () => {
    const { r } = await install('no-tools', tarball.sourceOnly, cleanEnv(bareBin));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(`mlpstream: no prebuilt binary for ${target}; building from source with cmake-js`);
    expect(r.output).toContain(
      'mlpstream: cannot build from source, not found on PATH: CMake (3.19 or newer); a C++17 compiler (g++ 12+ or clang++); make or ninja.',
    );
    if (process.platform === 'linux') expect(r.output).toContain('sudo apt-get install cmake g++ make');
  }, 300_000);

  it('a prebuild that does not load is not used: the install says why and builds from source (here it has no tools)', async () => {
    const { r } = await install('broken', tarball.brokenPrebuild, cleanEnv(bareBin));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(
      new RegExp(`mlpstream: the prebuilt binary for ${target.replace(/[()]/g, '\\$&')} does not load here \\(.*node-napi-v8\\.node: .*\\); building from source with cmake-js`),
    );
    expect(r.output).toContain('mlpstream: cannot build from source, not found on PATH: CMake (3.19 or newer)');
  }, 300_000);

  it('--build-from-source skips the prebuild (here, without the tools, it then fails clearly)', async () => {
    const { r } = await install('forced', tarball.withPrebuild, cleanEnv(bareBin), ['--build-from-source']);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(`mlpstream: --build-from-source given; building ${target} from source with cmake-js`);
    expect(r.output).toContain('mlpstream: cannot build from source, not found on PATH: CMake (3.19 or newer)');
  }, 300_000);
});
