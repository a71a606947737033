/** The committed program corpus: names, paths and expected results (shared by the tests and bench/programs.ts). */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROGRAMS_DIR = dirname(fileURLToPath(import.meta.url));

export interface Expected {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export const EXPECTED: Record<string, Expected> = JSON.parse(readFileSync(join(PROGRAMS_DIR, 'expected.json'), 'utf8'));

export const OPT_LEVELS = ['O2', 'O0'] as const;

/** Every program source in src/ (each has bin/<name>-O2.elf and -O0.elf). */
export const PROGRAM_NAMES: string[] = readdirSync(join(PROGRAMS_DIR, 'src'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => f.slice(0, -2))
  .sort();

export function elfPath(name: string, opt: (typeof OPT_LEVELS)[number]): string {
  return join(PROGRAMS_DIR, 'bin', `${name}-${opt}.elf`);
}

export function readElf(name: string, opt: (typeof OPT_LEVELS)[number]): Uint8Array {
  return new Uint8Array(readFileSync(elfPath(name, opt)));
}

/** Native execution is possible: an x86-64 Linux host. */
export const NATIVE = process.platform === 'linux' && process.arch === 'x64';
