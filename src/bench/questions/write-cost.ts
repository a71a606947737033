/**
 * Question 1: the cost of one protected page-table write under each policy as the CPU count grows.
 *
 * One PTE slot of a user page table is written with `set_pte` through the policy's writer (as every kernel
 * page-table write is), outside any page-table-lock hold: `pks` and `pks-lock` flip PKRS around the store,
 * `paging-ro` makes the page writable through CPA and back (two kernel range flushes, IPIs to every CPU),
 * `poke` writes through the per-CPU temporary-mm alias (CR3 switch, INVLPG, no IPI). The process runs on
 * every CPU. Two warm-up writes absorb first-time effects (a direct-map split, TLB fills); the figure is the
 * mean of the next N writes (N = 64, quick 16), each write's own cycles included (the store, the flips, the
 * flushes, the waits for remote CPUs).
 */
import { set_pte } from '../../pgtable/set-pte.js';
import { boot, measure, POLICIES, processOnAll, r2, type ProtectionPolicy } from '../setup.js';
import { cpuCounts, defineQuestion, type BenchRow } from '../types.js';

export interface WriteCostCell {
  cpus: number;
  policy: ProtectionPolicy;
}

export const writeCost = defineQuestion<WriteCostCell>({
  id: 'write-cost',
  title: 'Cost of one protected page-table write, by policy and CPU count',
  method:
    'One PTE of a user page table written with set_pte through each policy, outside a page-table-lock hold, the process loaded on every CPU; mean of N writes after two warm-up writes. cyclesPerWrite is the writing CPU\'s clock; systemCyclesPerWrite adds every CPU\'s (IPI handlers, remote flushes).',
  cells: (opts) => cpuCounts(opts).flatMap((cpus) => POLICIES.map((policy) => ({ cpus, policy }))),
  runCell({ cpus, policy }, opts): BenchRow[] {
    const rig = boot(opts, cpus, policy);
    const mm = processOnAll(rig.k, rig.m);
    mm.map(0x400000n, 1, { write: true });
    const tables = mm.pageTables();
    const ptep = Number(tables[tables.length - 1]) + 8; // an unused slot of the PTE page
    const w = rig.k.writer;
    // Non-present values: the entry's content does not change the cost, and no TLB entry can go stale.
    const write = (i: number) => set_pte(w, rig.cpu, ptep, (i & 1) * 0x1000, 0);
    write(0);
    write(1);
    const n = opts.quick ? 16 : 64;
    const d = measure(rig, () => {
      for (let i = 0; i < n; i++) write(i);
    });
    set_pte(w, rig.cpu, ptep, 0, 0);
    return [
      {
        cpus,
        policy,
        cyclesPerWrite: r2(d.cycles / n),
        systemCyclesPerWrite: r2(d.systemCycles / n),
        wrmsrPerWrite: r2(d.wrmsr / n),
        ipisPerWrite: r2(d.ipis / n),
        invlpgPerWrite: r2(d.invlpg / n),
        cr3WritesPerWrite: r2(d.cr3Writes / n),
      },
    ];
  },
});
