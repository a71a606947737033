/**
 * Smoke test of `pksim bench` (what CI runs): the quick write-cost question, in this thread and over worker
 * threads from the bundled CLI. Asserts the output's shape and the model's determinism (the same seed gives
 * the same cycles, whatever the threads), never a host timing.
 */
import { buildSync } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../bench/cli.js';
import { bench } from '../src/index.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];
const dir = mkdtempSync(join(tmpdir(), 'pksim-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await runBench(argv, { stdout: out, stderr: err });
  return { code, out: out.text, err: err.text };
}

interface Json {
  meta: { profile: string; cpus: number[]; version: string; node: string; quick: boolean; seed: number };
  questions: Record<string, { title: string; rows: Record<string, unknown>[] }>;
}

describe('pksim bench --quick', () => {
  let single: Json;

  it('prints the JSON of DESIGN.md: meta, and write-cost rows for every policy and CPU count', async () => {
    const r = await inProcess(['--quick', '--json', '--question', 'write-cost', '--threads', '1']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    single = JSON.parse(r.out) as Json;
    expect(single.meta).toMatchObject({ profile: 'sapphire-rapids', cpus: [1, 8, 64, 256], quick: true, seed: 1, node: process.version });
    expect(single.meta.version).toMatch(/^\d+\.\d+\.\d+/);
    const q = single.questions['write-cost'];
    expect(q.title).toMatch(/page-table write/);
    expect(q.rows).toHaveLength(4 * POLICIES.length);
    for (const cpus of [1, 8, 64, 256])
      for (const policy of POLICIES) {
        const row = q.rows.find((x) => x.cpus === cpus && x.policy === policy);
        expect(row, `${cpus}/${policy}`).toBeDefined();
        expect(Object.keys(row!)).toEqual(expect.arrayContaining(['cpus', 'policy', 'cyclesPerWrite', 'systemCyclesPerWrite']));
        expect(row!.cyclesPerWrite).toBeGreaterThan(0);
        expect(row!.systemCyclesPerWrite as number).toBeGreaterThanOrEqual(row!.cyclesPerWrite as number);
      }
  });

  it('gives the same rows on worker threads (bundled CLI, 2 threads) and writes the report, results and charts', () => {
    // the `pksim` command bundled into bench/out (as `npm run bench` does) so the optional packages and
    // package.json resolve; its bundle is also the workers' script
    const cli = new URL('../bench/out/smoke-pksim.mjs', import.meta.url).pathname;
    buildSync({ entryPoints: [new URL('../src/cli.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: cli, logLevel: 'silent' });
    const out = join(dir, 'report');
    const stdout = execFileSync(process.execPath, [cli, 'bench', '--quick', '--json', '--question', 'write-cost', '--question', 'workloads', '--threads', '2', '--out', out], { encoding: 'utf8' });
    const threaded = JSON.parse(stdout) as Json;
    expect(threaded.questions['write-cost']).toEqual(single.questions['write-cost']);
    // a question with seeded random choices and derived fields: the same as the library's own call
    expect(threaded.questions['workloads']).toEqual(JSON.parse(JSON.stringify(bench.questions['workloads']({ quick: true }))));
    const report = readFileSync(join(out, 'REPORT.md'), 'utf8').split('\n');
    expect(report[0]).toBe('# pksim benchmark report');
    expect(report.slice(1, 7).join('\n')).toMatch(/Profile: `sapphire-rapids`[\s\S]*CPU counts: 1, 8, 64, 256[\s\S]*Versions: pksim \d[\s\S]*Command: `pksim bench --quick --json --question write-cost --question workloads --threads 2 --out /);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))).toEqual(threaded);
    if ((threaded.meta as { charts?: string | null }).charts) {
      const svg = readFileSync(join(out, 'write-cost.svg'), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain('CPUs (log scale)');
      expect(svg).toContain('cycles per write');
    } else expect(existsSync(join(out, 'write-cost.svg'))).toBe(false);
  });

  it('refuses bad arguments with exit code 2 and a message naming them', async () => {
    expect((await inProcess(['--cpus', '0'])).err).toMatch(/cpus/);
    expect((await inProcess(['--cpus', '0'])).code).toBe(2);
    expect((await inProcess(['--profile', 'pentium'])).err).toMatch(/unknown cost profile 'pentium'/);
    expect((await inProcess(['--set', 'nosuchfield=3'])).code).toBe(2);
    expect((await inProcess(['--question', 'nope'])).err).toMatch(/unknown question 'nope'/);
    expect((await inProcess(['--frobnicate'])).code).toBe(2);
  });
});
