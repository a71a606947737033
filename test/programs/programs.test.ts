/**
 * The program corpus (test/programs/src, built by build.sh with gcc -O2 and -O0) run through runElf at CPL 3:
 * stdout, stderr and exit code must equal the committed expected results, which came from native runs. On an
 * x86-64 Linux host the committed binaries are also run natively here, so the expectations cannot drift.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runElf } from '../../src/loader/index.js';
import { EXPECTED, NATIVE, OPT_LEVELS, PROGRAM_NAMES, elfPath, readElf } from './corpus.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('program corpus', () => {
  it('has an expected result for every program', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(PROGRAM_NAMES);
    expect(PROGRAM_NAMES.length).toBeGreaterThanOrEqual(8);
  });

  for (const name of PROGRAM_NAMES) {
    for (const opt of OPT_LEVELS) {
      it(`${name} -${opt} under runElf matches the native result`, () => {
        const exp = EXPECTED[name]!;
        const chunks: Uint8Array[] = [];
        const r = runElf(readElf(name, opt), { maxInstructions: 50_000_000, onStdout: (b) => chunks.push(b) });
        expect(r.exception).toBeUndefined();
        expect(r.reason).toBe('exit');
        expect(text(r.stdout)).toBe(exp.stdout);
        expect(text(r.stderr)).toBe(exp.stderr);
        expect(r.exitCode).toBe(exp.exitCode);
        expect(text(Buffer.concat(chunks))).toBe(exp.stdout);
        expect(r.instructions).toBeGreaterThan(10_000);
        expect(r.cycles).toBeGreaterThan(r.instructions * 0.1);
      });

      it.skipIf(!NATIVE)(`${name} -${opt} natively gives the committed expected result`, () => {
        const exp = EXPECTED[name]!;
        const p = spawnSync(elfPath(name, opt), [], { encoding: 'latin1', env: {} });
        expect(p.error).toBeUndefined();
        expect({ stdout: p.stdout, stderr: p.stderr, exitCode: p.status }).toEqual(exp);
      });
    }
  }

  it('is deterministic: the same program twice gives the same instructions and cycles', () => {
    const a = runElf(readElf('crc', 'O2'));
    const b = runElf(readElf('crc', 'O2'));
    expect(a.instructions).toBe(b.instructions);
    expect(a.cycles).toBe(b.cycles);
    expect(a.cpu.stats.walks).toBe(b.cpu.stats.walks);
  });

  it('runs the same at CPL 0 (user pages, no SMAP/SMEP): same output, same instruction count', () => {
    const u = runElf(readElf('sort', 'O2'));
    const k = runElf(readElf('sort', 'O2'), { cpl: 0 });
    expect(k.reason).toBe('exit');
    expect(text(k.stdout)).toBe(EXPECTED.sort!.stdout);
    expect(k.instructions).toBe(u.instructions);
  });

  it('passes argv to the guest (scale argument changes the work)', () => {
    const one = runElf(readElf('crc', 'O2'), { argv: ['crc', '1'] });
    const two = runElf(readElf('crc', 'O2'), { argv: ['crc', '2'] });
    expect(one.reason).toBe('exit');
    expect(two.reason).toBe('exit');
    expect(two.instructions).toBeGreaterThan(one.instructions * 1.5);
    expect(text(one.stdout)).toBe(EXPECTED.crc!.stdout);
  });
});
