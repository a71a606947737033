/**
 * The op interpreter shared by the kernel model's property tests (kernel.property.test.ts,
 * free-pgtables.property.test.ts): random operations on address spaces, applied so that each is valid (a map
 * covers only unmapped pages, an unmap or protect only mapped ones). Each test keeps its own arbitraries and its
 * own regions; this module only interprets.
 */
import type { Cpu } from '../../src/index.js';
import type { Kernel } from '../../src/pgtable/kernel.js';
import type { AddressSpace } from '../../src/pgtable/mm.js';

export type Op =
  /** Map up to n unmapped pages from page p of region r (write defaults to true, exec to false). */
  | { op: 'map'; mm: number; r: number; p: number; n: number; write?: boolean; exec?: boolean }
  /** Unmap, or change the protection of, up to n mapped pages. */
  | { op: 'unmap' | 'protect'; mm: number; r: number; p: number; n: number; write?: boolean }
  /** Unmap the whole region run by run (the last unmap empties its tables). */
  | { op: 'clear'; mm: number; r: number }
  | { op: 'fork' | 'destroy' | 'create'; mm: number }
  | { op: 'switch'; cpu: number; mm: number }
  | { op: 'lazy'; cpu: number }
  /** The CPU reads page p of region r of the address space it runs (through its TLB). */
  | { op: 'touch'; cpu: number; r: number; p: number }
  /** A write fault on a copy-on-write page. */
  | { op: 'cow'; mm: number; r: number; p: number };

export interface OpSpace {
  /** Start of each region. */
  regions: readonly bigint[];
  /** Pages per region. */
  span: number;
  /** Address spaces at most (create and fork stop there). */
  maxMms: number;
  /** What `touch` does on `cpu` running `mm` (not lazy). */
  touch(cpu: Cpu, va: bigint, mm: AddressSpace): void;
}

export interface OpInterpreter {
  va(r: number, p: number): bigint;
  /** The longest run of pages from (r, p), up to n, all mapped (or all unmapped when `mapped` is false). */
  run(mm: AddressSpace, r: number, p: number, n: number, mapped: boolean): number;
  apply(k: Kernel, mms: AddressSpace[], o: Op): void;
}

export function opInterpreter(space: OpSpace): OpInterpreter {
  const { regions, span, maxMms } = space;
  const va = (r: number, p: number): bigint => regions[r] + BigInt(p) * 4096n;
  const run = (mm: AddressSpace, r: number, p: number, n: number, mapped: boolean): number => {
    let k = 0;
    while (k < n && p + k < span && (mm.translate(va(r, p + k)) !== null) === mapped) k++;
    return k;
  };
  const apply = (k: Kernel, mms: AddressSpace[], o: Op): void => {
    const cpus = k.machine.cpus;
    const mm = mms.length > 0 && 'mm' in o ? mms[o.mm % mms.length] : undefined;
    switch (o.op) {
      case 'create':
        if (mms.length < maxMms) mms.push(k.createAddressSpace());
        return;
      case 'map': {
        if (!mm) return;
        const n = run(mm, o.r, o.p, o.n, false);
        if (n > 0) mm.map(va(o.r, o.p), n, { write: o.write ?? true, exec: o.exec ?? false });
        return;
      }
      case 'unmap':
      case 'protect': {
        if (!mm) return;
        const n = run(mm, o.r, o.p, o.n, true);
        if (n === 0) return;
        if (o.op === 'unmap') mm.unmap(va(o.r, o.p), n);
        else mm.protect(va(o.r, o.p), n, { write: o.write ?? true });
        return;
      }
      case 'clear':
        if (mm) {
          for (let p = 0; p < span; p++) {
            const n = run(mm, o.r, p, span, true);
            if (n > 0) mm.unmap(va(o.r, p), n);
          }
        }
        return;
      case 'fork':
        if (mm && mms.length < maxMms) mms.push(mm.fork());
        return;
      case 'destroy':
        if (mm) {
          mm.destroy();
          mms.splice(mms.indexOf(mm), 1);
        }
        return;
      case 'switch':
        if (mms.length > 0) mms[o.mm % mms.length].switchTo(cpus[o.cpu % cpus.length]);
        return;
      case 'lazy':
        k.enterLazy(cpus[o.cpu % cpus.length]);
        return;
      case 'touch': {
        const cpu = cpus[o.cpu % cpus.length];
        const cur = k.tlb.loaded[cpu.index] as AddressSpace | null;
        if (cur !== null && !k.tlb.lazy[cpu.index]) space.touch(cpu, va(o.r, o.p), cur);
        return;
      }
      case 'cow': {
        const t = mm?.translate(va(o.r, o.p));
        if (mm && t?.cow) mm.writeFault(va(o.r, o.p));
      }
    }
  };
  return { va, run, apply };
}
