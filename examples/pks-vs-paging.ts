/**
 * PKS against paging: a page table protected by PKS, and the same protection done by paging.
 *
 * A 4-CPU Sapphire Rapids machine maps a "direct map" of its first GiB with 2 MiB pages; the 2 MiB block
 * that holds page tables carries protection key 1. IA32_PKRS write-disables key 1, so a stray supervisor
 * write to a page table faults with #PF (P|W|PK); the kernel flips PKRS writable around its own write,
 * with no TLB flush. Then the same protection done by paging: make the page read-only, which needs a TLB
 * shootdown (an IPI to every CPU).
 *
 *   npx tsx examples/pks-vs-paging.ts   (npm run example runs it after the quick start)
 */
import { enterLongMode, Machine, MSR, PageFault, PageTableBuilder, pkr, regs } from '../src/index.js';

const DIRECT_MAP = 0xffff888000000000n;
const PT_BLOCK = 0x200000n; // physical 2 MiB block holding page tables

const m = new Machine({ cpus: 4, memory: 2 ** 32, profile: 'sapphire-rapids' });
const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
for (let i = 0n; i < 512n; i++) {
  const pa = i * 0x200000n;
  b.map(DIRECT_MAP + pa, pa, 2097152, { write: true, global: true, xd: true, pkey: pa === PT_BLOCK ? 1 : 0 });
}
for (const cpu of m.cpus) {
  enterLongMode(cpu, { cr3: b.root, cr4: regs.CR4_PGE | regs.CR4_SMEP | regs.CR4_SMAP | regs.CR4_PKS });
  cpu.wrmsr(MSR.IA32_PKRS, pkr({ 1: 'wd' })); // page tables: read-only through key 1
}
const cpu = m.cpu(0);
const pteVa = DIRECT_MAP + PT_BLOCK + 0x18n; // some PTE inside a page-table page

// 1. A stray write (an attacker's write primitive, or a kernel bug) faults.
try {
  cpu.write(pteVa, 8, 0x8000000000000067n);
  console.log('stray write landed (unexpected)');
} catch (e) {
  if (!(e instanceof PageFault)) throw e;
  console.log(`stray write to a page table: ${e.message}`);
}

// 2. The kernel's own write: PKRS writable, write, PKRS read-only again. No TLB flush.
const c0 = cpu.cycles;
cpu.wrmsr(MSR.IA32_PKRS, 0n);
cpu.write(pteVa, 8, 0x1234067n);
cpu.wrmsr(MSR.IA32_PKRS, pkr({ 1: 'wd' }));
console.log(`protected PTE write with two PKRS flips: ${cpu.cycles - c0} cycles (value now 0x${m.memory.read64(PT_BLOCK + 0x18n).toString(16)})`);

// 3. The paging alternative: key 0 and R/W = 0 for the block in the direct map. To write a page table the
//    kernel makes the mapping writable and read-only again, and each change needs the stale translation
//    gone from every CPU: INVLPG locally and an IPI to each other CPU (a TLB shootdown).
const setWritable = (write: boolean) => b.map(DIRECT_MAP + PT_BLOCK, PT_BLOCK, 2097152, { write, global: true, xd: true, pkey: 0 });
const shootdown = () => {
  cpu.invlpg(pteVa);
  m.sendIpi(cpu, m.cpus, { handler: (t) => t.invlpg(pteVa) });
};
setWritable(false);
shootdown();
const c1 = cpu.cycles;
setWritable(true);
shootdown();
cpu.write(pteVa, 8, 0x1235067n);
setWritable(false);
shootdown();
console.log(`the same write protected by paging (two shootdowns on ${m.cpus.length} CPUs): ${cpu.cycles - c1} cycles`);
try {
  cpu.write(pteVa, 8, 0n);
} catch (e) {
  if (!(e instanceof PageFault)) throw e;
  console.log(`stray write after re-protection: ${e.message}`);
}

console.log('\ncpu0 stats:', JSON.stringify({ cycles: cpu.stats.cycles, tlbHits: cpu.stats.tlbHits, walks: cpu.stats.walks, pkrsWrites: cpu.stats.pkrsWrites, faults: cpu.stats.faults, ipisSent: cpu.stats.ipisSent }));
