import path from 'node:path';

import { defineConfig } from 'tsup';

const cliDir = path.resolve('lib/cli');

// The command line (lib/cli/) uses the library as its users do: every import of '../index.js'
// becomes require('./index.cjs'), the library's one build, instead of a second copy of its
// classes bundled into dist/cli.cjs. Any other run-time import of the library's modules from
// lib/cli/ would bundle such a copy, so it stops the build (type-only imports are erased first).
const cliUsesBuiltLibrary = {
  name: 'cli-uses-built-library',
  setup(build: { onResolve: (o: { filter: RegExp }, f: (a: { path: string; importer: string }) => unknown) => void }) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const from = path.dirname(args.importer);
      if (!from.startsWith(cliDir)) return undefined;
      const target = path.resolve(from, args.path);
      if (target.startsWith(cliDir + path.sep)) return undefined;
      if (target === path.resolve('lib/index.js')) return { path: './index.cjs', external: true };
      return {
        errors: [
          {
            text:
              `${path.relative('.', args.importer)} imports '${args.path}': lib/cli/ must import the library from ` +
              `'../index.js' only (one implementation, dist/index.cjs); export what it needs there`,
          },
        ],
      };
    });
  },
};

// One implementation (CommonJS, dist/index.cjs) so that `require` and `import` share every
// class; scripts/esm-wrapper.cjs then writes the ES module entry that re-exports it.
// dist/cli.cjs is the `mlpstream` command (lib/cli/main.ts starts with its #! line, which
// esbuild keeps and tsup turns into an executable file).
export default defineConfig({
  entry: { index: 'lib/index.ts', cli: 'lib/cli/main.ts' },
  format: ['cjs'],
  dts: { entry: { index: 'lib/index.ts' } },
  shims: true,
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  esbuildPlugins: [cliUsesBuiltLibrary],
});
