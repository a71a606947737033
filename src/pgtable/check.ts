/**
 * The checker of RFC v2: walk every page-table page the kernel has (its boot tables, the direct map's tables,
 * every table of every address space, the cache's free pages) and the direct-map entry that maps each, and
 * report any that is writable through the direct map outside a write window, or (PKS policies) lacks the
 * page-table key; under the PKS policies also any CPU whose PKRS lets the key be written outside a window.
 * It reads memory through K1's `lookup` (no TLB, no side effect); `tlb: true` also asks each CPU's TLB
 * with a write translation of each table's alias (tables in use; the cache's free pages are checked in memory only) (that fills TLBs: a hardware-level check, not side-effect free).
 */

import type { Kernel } from './kernel.js';
import { directMapVa } from '../cpa/writer.js';
import { usesPks } from './policies.js';

export interface Violation {
  /** 'writable': R/W = 1 in the direct map outside a window; 'no-key': the leaf lacks the page-table key;
   * 'pkrs-open': a CPU's PKRS lets the key be written outside a window; 'tlb-writable': a CPU translates a
   * write to the table's alias (a stale TLB entry or a missing protection); 'alias': an address space maps a
   * page-table page writable (a second way to write it); 'wp-off': a CPU runs with CR0.WP = 0 outside a window
   * (supervisor writes ignore R/W and write-disable keys then, SDM Vol. 3A 4.6.1). */
  kind: 'writable' | 'no-key' | 'pkrs-open' | 'tlb-writable' | 'alias' | 'wp-off';
  /** The table page (for 'pkrs-open': none). */
  pa: bigint | null;
  cpu?: number;
  detail: string;
}

export function checkPageTables(k: Kernel, opts: { tlb?: boolean } = {}): Violation[] {
  const out: Violation[] = [];
  if (k.policy === 'none') return out;
  const pks = usesPks(k.policy);
  const cpus = k.machine.cpus;
  let anyWindow = false;
  for (const c of cpus) if (k.writer.windowOpen(c)) anyWindow = true;
  if (pks) {
    for (const c of cpus) {
      if (k.writer.windowOpen(c)) continue;
      if (((c.pkrs >>> (2 * k.ptKey)) & 3) === 0) out.push({ kind: 'pkrs-open', pa: null, cpu: c.index, detail: `CPU ${c.index} PKRS 0x${c.pkrs.toString(16)} leaves key ${k.ptKey} writable` });
    }
  }
  for (const c of cpus) {
    if (!k.writer.windowOpen(c) && (c.cr0Low & (1 << 16)) === 0) out.push({ kind: 'wp-off', pa: null, cpu: c.index, detail: `CPU ${c.index} runs with CR0.WP = 0` });
  }
  const tables = k.allPageTables();
  const withFree = tables.concat(k.cache.freeList());
  for (const pa of withFree) {
    const l = k.dm.lookup(pa);
    if (l === null || !l.present) continue;
    if (pks) {
      if (l.pkey !== k.ptKey) out.push({ kind: 'no-key', pa: BigInt(pa), detail: `table 0x${pa.toString(16)} has key ${l.pkey} in the direct map (${l.pageSize} page)` });
    } else if (l.write && !anyWindow) {
      out.push({ kind: 'writable', pa: BigInt(pa), detail: `table 0x${pa.toString(16)} is writable in the direct map (${l.pageSize} page)` });
    }
  }
  // Walk every address space's tree from its PGD (the user half) in memory: no leaf may map a table writable.
  const isTable = new Set(withFree);
  const mem = k.machine.memory;
  const walk = (table: number, level: number, mmId: number): void => {
    const n = level === 4 ? 256 : 512;
    for (let i = 0; i < n; i++) {
      const lo = mem.rd32(table + 8 * i);
      if ((lo & 1) === 0) continue;
      const next = (mem.rd32(table + 8 * i + 4) & 0xfffff) * 2 ** 32 + ((lo & 0xfffff000) >>> 0);
      if (next + 4096 > mem.size) continue; // a planted entry pointing outside memory: nothing to walk
      if (level > 1 && (lo & 0x80) === 0) walk(next, level - 1, mmId);
      else if ((lo & 2) !== 0 && isTable.has(next)) out.push({ kind: 'alias', pa: BigInt(next), detail: `address space ${mmId} maps table 0x${next.toString(16)} writable (entry ${i} of 0x${table.toString(16)})` });
    }
  };
  for (const mm of k.addressSpaces()) walk(mm.pgdPa, 4, mm.id);
  if (opts.tlb === true) {
    for (const c of cpus) {
      if (k.writer.windowOpen(c)) continue;
      for (const pa of tables) {
        const r = c.translate(directMapVa(pa), { access: 'write', cpl: 0 });
        if (r.ok) out.push({ kind: 'tlb-writable', pa: BigInt(pa), cpu: c.index, detail: `CPU ${c.index} can write table 0x${pa.toString(16)}` });
      }
    }
  }
  return out;
}
