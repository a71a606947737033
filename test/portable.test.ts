/**
 * The library core must run without Node: bundle src/index.ts and run it in a bare JavaScript context
 * (node:vm with only the language's built-ins: no process, Buffer, require or timers), as a browser would.
 */
import { buildSync } from 'esbuild';
import { createContext, runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

describe('portability', () => {
  it('src/ bundles with no Node built-in and runs in a context without Node globals', () => {
    const out = buildSync({
      entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
      bundle: true,
      format: 'iife',
      globalName: 'pksim',
      platform: 'neutral',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0].text;
    expect(code).not.toMatch(/require\(["']node:|require\(["'](fs|path|os|crypto|perf_hooks)["']\)/);
    const ctx = createContext({});
    const result = runInContext(
      `${code}
      ;(() => {
        const m = new pksim.Machine({ cpus: 2, memory: 2 ** 30 });
        const b = new pksim.PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
        b.map(0xffff888000000000n, 0n, 1073741824, { write: true, pkey: 1 });
        pksim.enterLongMode(m.cpus[0], { cr3: b.root, cr4: 1n << 24n });
        m.cpus[0].wrmsr(0x6e1, BigInt(pksim.pkr({ 1: 'wd' })));
        let ec = -1;
        try { m.cpus[0].write(0xffff888000001000n, 8, 1n); } catch (e) { ec = e.errorCode; }
        return [typeof process, typeof Buffer, ec];
      })()`,
      ctx,
    );
    expect(result).toEqual(['undefined', 'undefined', 0x23]);
  });
});
