/**
 * Faults across module systems: the ESM and the CommonJS builds loaded in one process define two sets of
 * fault classes. A fault made by either must pass `instanceof` against the other's classes (and the source's),
 * by kind: a PageFault is a PageFault and an ArchFault, not a GeneralProtection.
 *
 * Builds both formats with tsup (no declarations) into a temporary directory; skips if that cannot be done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as src from '../src/index.js';

type Lib = typeof src;

let outDir = '';
let cjs: Lib | undefined;
let esm: Lib | undefined;
let whyNot = '';

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'pksim-brand-'));
  try {
    const { build } = await import('tsup');
    await build({
      entry: { index: resolve(__dirname, '../src/index.ts') },
      format: ['esm', 'cjs'],
      outDir,
      dts: false,
      sourcemap: false,
      clean: false,
      silent: true,
      config: false,
      target: 'es2022',
      platform: 'neutral',
      tsconfig: resolve(__dirname, '../tsconfig.build.json'),
    });
    cjs = createRequire(import.meta.url)(join(outDir, 'index.cjs')) as Lib;
    esm = (await import(pathToFileURL(join(outDir, 'index.js')).href)) as Lib;
  } catch (e) {
    whyNot = String(e);
  }
}, 60_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A PKS-protected page on a machine of that build, and the fault a supervisor write to it raises. */
function pageFaultFrom(lib: Lib): unknown {
  const m = new lib.Machine({ cpus: 1, memory: 2 ** 30 });
  const pt = new lib.PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  pt.map(0xffff888000200000n, 0x200000n, 4096, { write: true, pkey: 1 });
  const cpu = m.cpu(0);
  lib.enterLongMode(cpu, { cr3: pt.root, cr4: lib.regs.CR4_PKS });
  cpu.wrmsr(lib.MSR.IA32_PKRS, lib.pkr({ 1: 'wd' }));
  try {
    cpu.write(0xffff888000200000n, 8, 1n);
  } catch (e) {
    return e;
  }
  throw new Error('no fault');
}

function gpFrom(lib: Lib): unknown {
  try {
    new lib.Machine().cpu(0).wrmsr(0x12345, 0n);
  } catch (e) {
    return e;
  }
  throw new Error('no fault');
}

describe('fault classes are recognised whichever build made the fault', () => {
  it('builds both formats (or says why not)', (ctx) => {
    if (!cjs || !esm) ctx.skip(`dist could not be built: ${whyNot}`);
    expect(cjs!.PageFault).not.toBe(esm!.PageFault); // two distinct sets of classes, as in the bug report
  });

  it('a CJS PageFault is an ESM PageFault and ArchFault, and vice versa', (ctx) => {
    if (!cjs || !esm) return ctx.skip(`dist could not be built: ${whyNot}`);
    const libs: [string, Lib][] = [['cjs', cjs], ['esm', esm], ['src', src]];
    for (const [maker, made] of libs) {
      const pf = pageFaultFrom(made);
      const gp = gpFrom(made);
      for (const [catcher, lib] of libs) {
        const where = `${maker} fault, ${catcher} classes`;
        expect(pf instanceof lib.PageFault, where).toBe(true);
        expect(pf instanceof lib.ArchFault, where).toBe(true);
        expect(pf instanceof lib.GeneralProtection, where).toBe(false);
        expect(pf instanceof lib.StackFault, where).toBe(false);
        expect(gp instanceof lib.GeneralProtection, where).toBe(true);
        expect(gp instanceof lib.ArchFault, where).toBe(true);
        expect(gp instanceof lib.PageFault, where).toBe(false);
        expect(pf instanceof Error, where).toBe(true);
      }
      expect((pf as src.PageFault).errorCode).toBe(src.PFEC_P | src.PFEC_W | src.PFEC_PK);
    }
  });

  it('the brand is by kind and vector: a bare ArchFault with vector 14 is not a PageFault', (ctx) => {
    if (!cjs || !esm) return ctx.skip(`dist could not be built: ${whyNot}`);
    const bare = new cjs.ArchFault(14, 2);
    expect(bare instanceof esm.ArchFault).toBe(true);
    expect(bare instanceof esm.PageFault).toBe(false);
    for (const [made, by] of [[cjs, esm], [esm, cjs]] as const) {
      expect(made.makeFault(12, 0) instanceof by.StackFault).toBe(true);
      expect(made.makeFault(6, 0) instanceof by.InvalidOpcode).toBe(true);
      expect(made.makeFault(0, 0) instanceof by.DivideError).toBe(true);
      expect(made.makeFault(8, 0) instanceof by.DoubleFault).toBe(true);
      expect(made.makeFault(8, 0) instanceof by.DivideError).toBe(false);
    }
  });

  it('non-faults and look-alikes are not faults', (ctx) => {
    if (!cjs || !esm) return ctx.skip(`dist could not be built: ${whyNot}`);
    for (const lib of [cjs, esm, src]) {
      expect(new Error('x') instanceof lib.ArchFault).toBe(false);
      expect({ vector: 14, errorCode: 3, address: 0n } instanceof lib.PageFault).toBe(false);
      expect((null as unknown as object) instanceof lib.ArchFault).toBe(false);
      expect((14 as unknown as object) instanceof lib.ArchFault).toBe(false);
    }
  });

  it("a user's subclass keeps ordinary instanceof, and its instances count as the base kind", (ctx) => {
    if (!cjs || !esm) return ctx.skip(`dist could not be built: ${whyNot}`);
    class MyPageFault extends esm.PageFault {}
    const mine = new MyPageFault(3, 0x1000n);
    expect(mine instanceof MyPageFault).toBe(true);
    expect(mine instanceof cjs.PageFault).toBe(true);
    expect(pageFaultFrom(cjs) instanceof MyPageFault).toBe(false);
  });
});
