/**
 * Question 3: whole-workload overhead of each policy against `none`, in cycles and percent.
 *
 *   churn        process churn: fork a 256-page parent, the child maps a fresh 64-page region (exec-like),
 *                touches 16 of the shared pages (copy-on-write faults), unmaps the region, exits
 *   faults       page-fault heavy: 4 096 anonymous faults (one page each, into 8 page tables), then munmap
 *   kbuild       flushes whose sizes follow the kernel-build trace (Dave Hansen, LKML 2014: 57% of
 *                flush_tlb_mm_range calls flush one page, about 95% flush 21 pages or fewer): mprotect of a
 *                seeded random range of that size, read-only then back, on a process loaded on every CPU
 *
 * The size distribution of kbuild is built from those two published points: 1 page 57%, 2..21 pages 38%
 * (uniform), 22..64 pages 5% (uniform); the shape between them is not published.
 */
import type { AddressSpace } from '../../pgtable/mm.js';
import { Rng } from '../rng.js';
import { boot, measure, POLICIES, r2, type Delta, type ProtectionPolicy, type Rig } from '../setup.js';
import { defineQuestion, type BenchOptions, type BenchRow } from '../types.js';

export type Workload = 'churn' | 'faults' | 'kbuild';
export const WORKLOADS: readonly Workload[] = ['churn', 'faults', 'kbuild'];

export interface WorkloadCell {
  workload: Workload;
  cpus: number;
  policy: ProtectionPolicy;
}

const BASE = 0x10000000n;
const REGION = 0x40000000n;
const PAGE = 4096n;

/** A flush size from the kernel-build trace distribution (see the file comment). */
export function kbuildFlushPages(rng: Rng): number {
  const u = rng.next();
  if (u < 0.57) return 1;
  if (u < 0.95) return 2 + rng.int(20);
  return 22 + rng.int(43);
}

/** The #PF delivery the kernel model's fault handlers do not charge: IDT entry and IRETQ (from the profile). */
function takeFault(rig: Rig): void {
  const p = rig.m.profile.interrupt;
  rig.cpu.charge(p.entry + p.exit);
}

function churn(rig: Rig, mm: AddressSpace, rounds: number): Delta {
  const at = { cpu: rig.cpu };
  mm.map(BASE, 256, { write: true, user: true }, at);
  return measure(rig, () => {
    for (let i = 0; i < rounds; i++) {
      const child = mm.fork(at);
      child.map(REGION, 64, { write: true, user: true }, at);
      for (let p = 0; p < 16; p++) {
        takeFault(rig);
        child.writeFault(BASE + BigInt(p * 16) * PAGE, at);
      }
      child.unmap(REGION, 64, at);
      child.destroy(at);
    }
  });
}

function faults(rig: Rig, mm: AddressSpace, n: number): Delta {
  const at = { cpu: rig.cpu };
  return measure(rig, () => {
    for (let i = 0; i < n; i++) {
      takeFault(rig);
      mm.map(BASE + BigInt(i) * PAGE, 1, { write: true, user: true }, at);
    }
    mm.unmap(BASE, n, at);
  });
}

function kbuild(rig: Rig, mm: AddressSpace, n: number, seed: number): Delta {
  const at = { cpu: rig.cpu };
  const pages = 1024;
  mm.map(BASE, pages, { write: true, user: true }, at);
  const rng = new Rng(seed);
  return measure(rig, () => {
    for (let i = 0; i < n; i++) {
      const len = kbuildFlushPages(rng);
      const va = BASE + BigInt(rng.int(pages - len + 1)) * PAGE;
      mm.protect(va, len, { write: false, user: true }, at);
      mm.protect(va, len, { write: true, user: true }, at);
    }
  });
}

function workloadCpus(opts: BenchOptions): number[] {
  return opts.cpus ? [...opts.cpus] : opts.quick ? [8] : [1, 8, 64];
}

export const workloads = defineQuestion<WorkloadCell>({
  id: 'workloads',
  title: 'Whole-workload overhead of each policy against none',
  method:
    'Three workloads on the kernel model, each from a fresh boot (2 MiB direct map): a process churn (32 rounds, quick 8, of fork, an exec-like map, copy-on-write touches, munmap, exit), a page-fault-heavy run (4 096 anonymous faults, quick 1 024, then munmap), and 1 000 (quick 200) pairs of mprotect flushes whose sizes follow the kernel-build trace (57% one page, about 95% 21 pages or fewer; the rest of the distribution is assumed), the last on a process loaded on every CPU. Overheads are against none at the same CPU count. What is charged: the kernel model\'s page-table work (entry writes, flips, flushes, IPIs, CR3 writes) and, for each fault, the #PF delivery (the profile\'s interrupt entry and exit); page zeroing (off in these runs: zeroPages false), syscall entry and the rest of the kernel are not charged, so the percentages are of the modelled work: an upper bound on the overhead of the real workload.',
  cells: (opts) => workloadCpus(opts).flatMap((cpus) => WORKLOADS.flatMap((workload) => POLICIES.map((policy) => ({ workload, cpus, policy })))),
  runCell(cell, opts): BenchRow[] {
    const base: BenchRow = { workload: cell.workload, cpus: cell.cpus, policy: cell.policy };
    const rig = boot(opts, cell.cpus, cell.policy, { directMap: '2M' });
    const mm = rig.k.createAddressSpace();
    if (cell.workload === 'kbuild') for (const c of rig.m.cpus) mm.switchTo(c);
    mm.switchTo(rig.cpu);
    const q = opts.quick;
    const d = cell.workload === 'churn' ? churn(rig, mm, q ? 8 : 32) : cell.workload === 'faults' ? faults(rig, mm, q ? 1024 : 4096) : kbuild(rig, mm, q ? 200 : 1000, opts.seed ?? 1);
    return [{ ...base, cycles: d.cycles, systemCycles: d.systemCycles, wrmsr: d.wrmsr, ipis: d.ipis, entryWrites: d.entryWrites }];
  },
  finish(rows) {
    return rows.map((r) => {
      const none = rows.find((x) => x.workload === r.workload && x.cpus === r.cpus && x.policy === 'none');
      const pct = (f: string) => (r[f] === null || !none || !none[f] ? null : r2(((r[f] as number) / (none[f] as number) - 1) * 100));
      return { ...r, overheadPct: pct('cycles'), systemOverheadPct: pct('systemCycles') };
    });
  },
});
