/** Report presentation of question 7 (emulator-speed): host timings, tables and a reading from the rows. */
import { fmt, type Presentation } from '../present.js';

const x = (v: unknown, unit: string): string => (v === null || v === undefined ? '-' : `${fmt(v as number)}${unit}`);

export const emulatorSpeed: Presentation = {
  tables: (rows) => {
    const progs = rows.filter((r) => r.kind === 'program');
    const ops = rows.filter((r) => r.kind === 'walks' || r.kind === 'pt-ops');
    const out = [];
    if (progs.length)
      out.push({
        caption: 'The program corpus, per round of each program\'s main loop (host time)',
        headers: ['program', 'instructions/round', 'rounds timed', 'pksim ms/round', 'pksim MIPS', 'native ms/round', 'x native', 'qemu ms/round', 'x qemu'],
        lines: progs.map((r) => [String(r.name), fmt(r.instructions), r.rounds === undefined || r.rounds === null ? '-' : fmt(r.rounds), fmt(r.msPerRound), fmt(r.mips), fmt(r.nativeMsPerRound), x(r.slowdownVsNative, 'x'), fmt(r.qemuMsPerRound), x(r.slowdownVsQemu, 'x')]),
      });
    out.push({ caption: 'Walks and protected page-table writes per host second', headers: ['operation', 'per second', 'unit', 'note'], lines: ops.map((r) => [String(r.name), fmt(r.perSecond), String(r.unit), String(r.note)]) });
    out.push({ caption: 'Hosts compared', headers: ['host', 'available', 'note'], lines: rows.filter((r) => r.kind === 'host').map((r) => [String(r.name), r.available ? 'yes' : 'no', String(r.note)]) });
    return out;
  },
  charts: () => [],
  reading: (rows) => {
    const parts: string[] = ['**Host-dependent:** unlike every other section, these are host timings of this run on this machine (they change between runs and machines, and with the load on the machine); the ratios were measured side by side in the same run.'];
    const gm = rows.find((r) => r.kind === 'program' && r.name === 'geometric mean');
    const qemu = rows.find((r) => r.kind === 'host' && r.name === 'qemu-x86_64');
    const native = rows.find((r) => r.kind === 'host' && r.name === 'native');
    if (gm) {
      parts.push(`The interpreter runs the corpus at ${fmt(gm.mips)} guest MIPS (geometric mean), translating and rights-checking every fetch and data access and charging every cycle.`);
      if (gm.slowdownVsNative !== null) parts.push(`Native execution of the same ELFs is ${fmt(gm.slowdownVsNative)}x faster.`);
      else parts.push(`Native execution was not measured (${String(native?.note)}).`);
      if (gm.slowdownVsQemu !== null) parts.push(`qemu-x86_64 (a JIT, without a TLB or cost model) is ${fmt(gm.slowdownVsQemu)}x faster.`);
      else parts.push(`qemu-x86_64 was not measured: ${String(qemu?.note)}.`);
    }
    const walks = rows.find((r) => r.kind === 'walks');
    if (walks) parts.push(`A full 4-level walk takes the host ${fmt(1e9 / (walks.perSecond as number))} ns (${fmt(walks.perSecond)} per second).`);
    const pt = rows.filter((r) => r.kind === 'pt-ops');
    if (pt.length) parts.push(`Protected page-table writes: ${pt.map((r) => `${String(r.name).replace(/^set_pte \((.*)\)$/, '$1')} ${fmt(r.perSecond)}/s`).join(', ')}; the host cost follows the emulated work (paging-ro's CPA and IPIs, poke's CR3 switches).`);
    return parts.join(' ');
  },
};
