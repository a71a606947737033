/** The `pksim` command, driven through main() with captured output. */
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli.js';
import { EXPECTED, elfPath } from '../programs/corpus.js';

function cli(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const text = (b: Uint8Array | string) => (typeof b === 'string' ? b : Buffer.from(b).toString('latin1'));
  const code = main(argv, { stdout: (b) => (out += text(b)), stderr: (b) => (err += text(b)) });
  if (typeof code !== 'number') throw new Error('pksim run answers synchronously'); // only `bench` is async
  return { code, out, err };
}

describe('pksim CLI', () => {
  it('run prints the guest stdout and exits with its exit code', () => {
    const r = cli('run', elfPath('vm', 'O2'));
    expect(r.out).toBe(EXPECTED.vm!.stdout);
    expect(r.code).toBe(EXPECTED.vm!.exitCode);
  });

  it('--stats prints instruction, cycle, TLB and walk counts on stderr', () => {
    const r = cli('run', elfPath('sys', 'O2'), '--stats');
    expect(r.code).toBe(7);
    expect(r.err).toContain('to stderr');
    for (const k of ['instructions', 'cycles', 'tlb hits', 'tlb misses', 'page walks']) expect(r.err).toMatch(new RegExp(`^${k} +\\d`, 'm'));
  });

  it('--max stops with 124, --trace disassembles each instruction', () => {
    const r = cli('run', elfPath('crc', 'O2'), '--max', '3', '--trace');
    expect(r.code).toBe(124);
    expect(r.err.split('\n').filter((l) => /^[0-9a-f]{16} /.test(l))).toHaveLength(3);
    expect(r.err).toMatch(/xor ebp, ebp/);
  });

  it('passes guest arguments after the file', () => {
    const one = cli('run', elfPath('crc', 'O2'), '--stats', '--', '1');
    const two = cli('run', elfPath('crc', 'O2'), '--stats', '--', '2');
    const n = (s: string) => Number(/^instructions +(\d+)/m.exec(s)![1]);
    expect(n(two.err)).toBeGreaterThan(n(one.err) * 1.5);
  });

  it('usage errors exit 2 with a message', () => {
    expect(cli().code).toBe(2);
    expect(cli('frob').err).toMatch(/unknown command 'frob'/);
    expect(cli('run').err).toMatch(/missing the ELF file/);
    expect(cli('run', 'x.elf', '--max', 'lots').err).toMatch(/--max must be/);
    expect(cli('run', 'x.elf', '--bogus').code).toBe(2);
    expect(cli('run', '/nonexistent.elf').err).toMatch(/cannot read/);
    expect(cli('run', elfPath('crc', 'O2').replace(/bin\/.*$/, 'src/crc.c')).err).toMatch(/bad magic/);
    expect(cli('--help').out).toMatch(/usage: pksim/);
  });

  it('subcommands live in one table (a later `bench` slots in)', () => {
    expect(Object.keys(COMMANDS)).toContain('run');
  });
});
