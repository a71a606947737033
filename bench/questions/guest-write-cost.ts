/** Report presentation of the guest-code cross-check of question 1: a table and a reading from the rows. */
import type { BenchRow } from '../../src/index.js';
import { fmt, plainTable, type Presentation } from '../present.js';

const row = (rows: BenchRow[], p: string) => rows.find((r) => r.policy === p);

export const guestWriteCost: Presentation = {
  tables: (rows) => [
    {
      caption: 'Cycles per page-table write at 1 CPU: guest routine against the model',
      ...plainTable(rows.map((r) => ({ policy: r.policy, guestCyclesPerWrite: r.guestCyclesPerWrite, modelCyclesPerWrite: r.modelCyclesPerWrite, difference: r.differenceCycles, 'guest insn classes': r.guestInsnClassCycles, 'guest fetch': r.guestFetchCycles, 'model-only accesses': r.modelOnlyAccessCycles, unexplained: r.unexplainedCycles }))),
    },
  ],
  charts: () => [],
  reading: (rows) => {
    const parts: string[] = [];
    const none = row(rows, 'none');
    const pks = row(rows, 'pks');
    const ro = row(rows, 'paging-ro');
    const poke = row(rows, 'poke');
    parts.push(
      'Both figures charge the same core events from the same profile (WRMSR to IA32_PKRS, MOV to CR0/CR3, INVLPG, each data access at the L1D hit cost, each page walk): the routines call the CPU exactly where the model\'s writers do. They differ by what only one of them pays.',
    );
    if (none && pks)
      parts.push(
        `The guest pays its instruction classes (moves, XOR and DEC at the ALU cost, each store's \`insn.store\` on top, the loop's taken branch): ${fmt(none.guestInsnClassCycles as number)} cycles for the bare store loop (${fmt(none.guestCyclesPerWrite as number)} against the model's ${fmt(none.modelCyclesPerWrite as number)}), ${fmt(pks.guestInsnClassCycles as number)} for pks (${fmt(pks.guestCyclesPerWrite as number)} against ${fmt(pks.modelCyclesPerWrite as number)}: the two WRMSRs and the store are the same figures on both sides, as the model charges no instructions, only the events).`,
      );
    if (ro)
      parts.push(
        `paging-ro's routine is the core of CPA only: the direct-map PTE of the table page rewritten with CR0.WP cleared (as the model does for direct-map tables), INVLPG, the store, the PTE restored, INVLPG. Its four MOVs to CR0 are serializing instructions (\`insn.serialize\` each, on top of \`movCr0\`, which the model charges alone), so the guest pays ${fmt(ro.guestInsnClassCycles as number)} cycles of instruction classes; the model pays ${fmt(ro.modelOnlyAccessCycles as number)} cycles the routine leaves out (CPA's lookup_address walk of the direct map: data accesses at the L1D cost). Net: ${fmt(ro.guestCyclesPerWrite as number)} guest against ${fmt(ro.modelCyclesPerWrite as number)} model. The kernel range flush's IPIs are the model's alone (none at 1 CPU; question 1 shows them growing with the CPU count), as is CPA's page-table bookkeeping, which is host code without a cycle charge.`,
      );
    if (poke)
      parts.push(
        `poke's routine is the whole sequence (CR3 to the poking mm with its PCID and the no-flush bit, alias PTE written through the self-mapped PT page, the store through the alias, alias cleared, INVLPG, CR3 back): ${fmt(poke.guestCyclesPerWrite as number)} against ${fmt(poke.modelCyclesPerWrite as number)}, the ${fmt(poke.guestInsnClassCycles as number)} cycles of instruction classes (two serializing MOVs to CR3, three stores, the loop).`,
      );
    const fetch = rows.reduce((s, r) => s + (r.guestFetchCycles as number), 0);
    parts.push(
      fetch === 0
        ? 'Instruction fetches cost nothing here: each 16-byte fetch block is an iTLB hit, charged at the profile\'s L1 TLB hit cost, 0 in this profile.'
        : `Instruction fetch blocks (iTLB hits at the profile's L1 TLB hit cost) add ${fmt(fetch)} cycles over the routines.`,
    );
    const unexplained = rows.filter((r) => r.unexplainedCycles !== 0).map((r) => r.policy);
    parts.push(unexplained.length === 0 ? 'With these terms every difference is accounted for to the cycle (the "unexplained" column is 0).' : `Not accounted for by these terms: ${unexplained.join(', ')} (see the "unexplained" column).`);
    return parts.join(' ');
  },
};
