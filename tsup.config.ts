import { defineConfig } from 'tsup';

export default defineConfig({
  // `pksim/vitest` (src/vitest.ts) is a second entry; code splitting (also for cjs) keeps one copy of the
  // core, so the matchers see the same Cpu class as the user's `import 'pksim'`.
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
});
