import { defineConfig } from 'vitest/config';

const install = 'test/70-install.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [install] } },
      // Packs and installs the package, compiling the addon once: it runs after every other
      // file (a higher groupOrder) so that compile never competes with the timing-sensitive tests.
      { extends: true, test: { name: 'install', include: [install], sequence: { groupOrder: 1 } } },
    ],
  },
});
