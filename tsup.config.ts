import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library. `pksim/vitest` (src/vitest.ts) is a second entry; code splitting (also for cjs) keeps one
    // copy of the core, so the matchers see the same Cpu class as the user's `import 'pksim'`.
    entry: { index: 'src/index.ts', vitest: 'src/vitest.ts' },
    format: ['esm', 'cjs'],
    splitting: true,
    external: ['vitest'],
    dts: { compilerOptions: { types: [] } },
    tsconfig: 'tsconfig.build.json',
    sourcemap: true,
    clean: true,
    target: 'es2022',
    platform: 'neutral',
  },
  {
    // The `pksim` command (Node only): `pksim run`, `pksim bench` (bench/cli.ts, bundled in; the charting and
    // progress libraries stay external, loaded when installed). The bundle is also the bench worker script.
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    platform: 'node',
    external: ['vega', 'vega-lite', 'cli-progress'],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
