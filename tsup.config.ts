import { defineConfig } from 'tsup';

// One implementation (CommonJS, dist/index.cjs) so that `require` and `import` share every
// class; scripts/esm-wrapper.cjs then writes the ES module entry that re-exports it.
export default defineConfig({
  entry: { index: 'lib/index.ts' },
  format: ['cjs'],
  dts: true,
  shims: true,
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
});
