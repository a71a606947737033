import { Machine, enterLongMode, PageTableBuilder, PageFault, MSR, PFEC_PK, pkr, regs } from '../src/index.js';

const m = new Machine({ cpus: 4, memory: 4 * 2 ** 30, profile: 'sapphire-rapids' });
const cpu = m.cpu(0); // m.cpus[0] too, but m.cpu(i) is a Cpu even under noUncheckedIndexedAccess

// Page tables in guest physical memory: a 2 MiB direct-map page carrying protection key 1.
const pt = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
pt.map(0xffff888000200000n, 0x200000n, 2097152, { write: true, pkey: 1 });

// IA-32e paging with CR4.PKS, through the architectural sequence (EFER.LME, CR4.PAE, CR3, CR0.PG).
enterLongMode(cpu, { cr3: pt.root, cr4: regs.CR4_PKS });
cpu.wrmsr(MSR.IA32_PKRS, pkr({ 1: 'wd' })); // key 1: write-disabled for supervisor writes

const va = 0xffff888000200018n;
try {
  cpu.write(va, 8, 0x67n); // a stray supervisor write
} catch (e) {
  if (!(e instanceof PageFault)) throw e;
  console.log(`#PF error code 0x${e.errorCode.toString(16)}, CR2 0x${e.address.toString(16)}, PK ${(e.errorCode & PFEC_PK) !== 0}`);
  // prints: #PF error code 0x23, CR2 0xffff888000200018, PK true   (0x23 = PFEC_P | PFEC_W | PFEC_PK)
}

// Write-enable key 1 and write again: no TLB flush in between. The TLB caches the key, not the rights the
// key grants, so the new PKRS value applies at once. (A page fault leaves no TLB entry for its page, SDM
// 4.10.4.1, so this write walks the tables again and fills the entry.)
cpu.wrmsr(MSR.IA32_PKRS, 0);
cpu.write(va, 8, 0x67n);

// Write-disable key 1 again (no flush either): the entry the write filled stays in the TLB and keeps
// serving reads (Sapphire Rapids: the write filled its store-only DTLB and the STLB, so the read hits the
// STLB), while writes through it fault again at once.
cpu.wrmsr(MSR.IA32_PKRS, pkr({ 1: 'wd' }));
const hits = cpu.stats.tlbHits + cpu.stats.stlbHits; // L1 and second-level TLB hits
const value = cpu.read(va, 8);
let writeFaulted = false;
try {
  cpu.write(va, 8, 0n);
} catch (e) {
  writeFaulted = e instanceof PageFault;
}
console.log(`read 0x${value.toString(16)}, TLB hits ${cpu.stats.tlbHits + cpu.stats.stlbHits - hits}, write faulted ${writeFaulted}, PKRS writes ${cpu.stats.pkrsWrites}`);
// prints: read 0x67, TLB hits 2, write faulted true, PKRS writes 3
