/**
 * The `pksim` command. Subcommands are entries of COMMANDS (name -> handler taking its own argv), so later ones
 * (`pksim bench`) slot in beside `run`:
 *
 *   pksim run prog.elf [--max N] [--stats] [--trace] [--cpl 0|3] [--profile NAME] [-- guest args...]
 *
 * `run` prints the guest's stdout (and stderr) as it writes them, then with --stats the instruction, cycle, TLB
 * and walk counts on stderr, and exits with the guest's exit code (128 + vector if it died of an exception,
 * 124 if it hit --max).
 */

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { runBench } from '../bench/cli.js';
import { runElf, type RunElfResult } from './loader/index.js';
import { ElfError } from './loader/elf.js';

export type Command = (argv: string[], io: CliIo) => number | Promise<number>;

/** Where the CLI writes; the defaults are the process streams (tests pass their own). */
export interface CliIo {
  stdout: (b: Uint8Array | string) => void;
  stderr: (b: Uint8Array | string) => void;
}

const USAGE = `usage: pksim <command> [options]

commands:
  run <prog.elf> [--max N] [--stats] [--trace] [--cpl 0|3] [--profile NAME] [-- args...]
      run a static x86-64 ELF executable at CPL 3 (default) with the Linux syscall shim
  bench [--quick] [--cpus 1,8,64] [--profile NAME] [--set pkrsWrite=60] [--json] [--out DIR] ...
      the benchmark report: PKRS flips against TLB shootdowns (pksim bench --help)
`;

class UsageError extends Error {}

function runCommand(argv: string[], io: CliIo): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      max: { type: 'string' },
      stats: { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
      cpl: { type: 'string', default: '3' },
      profile: { type: 'string', default: 'sapphire-rapids' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const [file, ...guestArgs] = positionals;
  if (file === undefined) throw new UsageError('run: missing the ELF file');
  let max = 1e9;
  if (values.max !== undefined) {
    max = Number(values.max);
    if (!Number.isInteger(max) || max < 0) throw new UsageError(`--max must be a non-negative integer, got '${values.max}'`);
  }
  if (values.cpl !== '0' && values.cpl !== '3') throw new UsageError(`--cpl must be 0 or 3, got '${values.cpl}'`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    io.stderr(`pksim: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  let r: RunElfResult;
  try {
    r = runElf(bytes, {
      maxInstructions: max,
      cpl: values.cpl === '0' ? 0 : 3,
      profile: values.profile,
      argv: [file, ...guestArgs],
      onStdout: io.stdout,
      onStderr: io.stderr,
      onInstruction: values.trace ? (cpu, rip) => io.stderr(`${cpu.disassemble(rip, 1)}\n`) : undefined,
    });
  } catch (e) {
    if (e instanceof ElfError || e instanceof RangeError) {
      io.stderr(`pksim: ${file}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (r.reason === 'exception') {
    const x = r.exception!;
    io.stderr(`pksim: guest stopped by an exception: vector ${x.vector} error code 0x${x.errorCode.toString(16)} at rip 0x${x.rip.toString(16)}${x.address !== undefined ? ` address 0x${x.address.toString(16)}` : ''}: ${x.message}\n`);
  } else if (r.reason === 'limit') {
    io.stderr(`pksim: stopped after ${r.instructions} instructions (--max)\n`);
  }
  if (values.stats) io.stderr(formatStats(r));
  if (r.reason === 'exit') return r.exitCode;
  if (r.reason === 'exception') return 128 + r.exception!.vector;
  if (r.reason === 'limit') return 124;
  return 0;
}

function formatStats(r: RunElfResult): string {
  const s = r.cpu.stats;
  const rows: [string, number | string][] = [
    ['reason', r.reason],
    ['instructions', r.instructions],
    ['cycles', Math.round(r.cycles)],
    ['cycles/instruction', r.instructions ? (r.cycles / r.instructions).toFixed(3) : '-'],
    ['tlb hits', s.tlbHits],
    ['tlb misses', s.tlbMisses],
    ['page walks', s.walks],
    ['walk memory references', s.walkRefs],
    ['page faults (all exceptions)', s.faults],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join('');
}

export const COMMANDS: Record<string, Command> = {
  run: runCommand,
  // bench/cli.ts writes to the process streams itself (progress bar on a terminal, JSON or the report)
  bench: (argv) => runBench(argv),
};

/** Run the CLI on argv (without node and script); returns the exit code. */
export function main(argv: string[], io: CliIo = { stdout: (b) => process.stdout.write(b), stderr: (b) => process.stderr.write(b) }): number | Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    io.stderr(`pksim: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  try {
    return cmd(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`pksim ${name}: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

/** Is this module the process's main script (the `pksim` bin, maybe through a symlink, or a bundle of it)? Not in
 * a worker thread: the bench's workers start this same bundle. */
function isMainScript(): boolean {
  if (!isMainThread || typeof process === 'undefined' || process.argv[1] === undefined) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isMainScript()) {
  void Promise.resolve(main(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}
