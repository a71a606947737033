/**
 * A process address space for the loader: 4-level page tables built with the core's PageTableBuilder, and
 * physical frames handed out from a range (freed frames are reused, so the frames in use are bounded by what is
 * mapped at once). Pages are mapped one at a time at 4 KiB; unmapping clears the PTE and invalidates the TLB
 * entry on the CPU (INVLPG, SDM Vol. 3A 4.10.4.1), as munmap would.
 */

import type { Cpu } from '../cpu/cpu.js';
import { PageTableBuilder } from '../mmu/builder.js';
import { makeEntry } from '../mmu/entry.js';
import type { PhysicalMemory } from '../mmu/physical-memory.js';

export interface PageProt {
  write: boolean;
  exec: boolean;
  user: boolean;
}

const PAGE = 4096n;

export class UserSpace {
  readonly tables: PageTableBuilder;
  private nextFrame: number;
  private readonly endFrame: number;
  private readonly free: number[] = [];
  /** Mapped pages: page number (va >> 12, as a number: user addresses are below 2^47) -> frame physical address. */
  private readonly pages = new Map<number, number>();

  /**
   * @param tablePool physical range for page-table pages
   * @param frames    physical range [start, end) for the pages themselves
   */
  constructor(
    private readonly mem: PhysicalMemory,
    tablePool: { start: number; end: number },
    frames: { start: number; end: number },
  ) {
    this.tables = new PageTableBuilder(mem, tablePool);
    this.nextFrame = frames.start;
    this.endFrame = frames.end;
  }

  get mappedPages(): number {
    return this.pages.size;
  }

  isMapped(va: bigint): boolean {
    return this.pages.has(Number(va >> 12n));
  }

  /** Physical address of the frame behind a mapped page (page-aligned va), or -1. */
  frameOf(va: bigint): number {
    return this.pages.get(Number(va >> 12n)) ?? -1;
  }

  private allocFrame(): number {
    const f = this.free.pop();
    if (f !== undefined) return f;
    if (this.nextFrame + 4096 > this.endFrame) throw new RangeError(`out of physical frames (${(this.endFrame / 2 ** 20).toFixed(0)} MiB)`);
    const pa = this.nextFrame;
    this.nextFrame += 4096;
    return pa;
  }

  /**
   * Map a zeroed page at va (4 KiB aligned), or, if already mapped, widen its rights to include `prot`
   * (two ELF segments may share a page). Returns the frame's physical address.
   */
  map(va: bigint, prot: PageProt): number {
    const vpn = Number(va >> 12n);
    let frame = this.pages.get(vpn);
    if (frame !== undefined) {
      const e = this.tables.getEntry(va, 1);
      const write = prot.write || (e & 2n) !== 0n;
      const exec = prot.exec || (e & (1n << 63n)) === 0n;
      const user = prot.user || (e & 4n) !== 0n;
      this.tables.map(va, frame, 4096, { write, user, xd: !exec });
      return frame;
    }
    frame = this.allocFrame();
    this.mem.fill(frame, 4096, 0);
    this.tables.map(va, frame, 4096, { write: prot.write, user: prot.user, xd: !prot.exec });
    this.pages.set(vpn, frame);
    return frame;
  }

  /**
   * Map [start, end) (rounded out to pages): each page as `map` does. A new page's PTE is written straight into
   * the page table that holds it (found, or created, through the builder once per 2 MiB), with the entry `map`
   * builds (the flags of `prot` and the frame): an 8 MiB stack is 2048 pages, and the builder's checks per call
   * cost more than the rest of a small program's start.
   */
  mapRange(start: bigint, end: bigint, prot: PageProt): void {
    const flags = makeEntry({ write: prot.write, user: prot.user, xd: !prot.exec, addr: 0 }, 1);
    let table = -1n; // the page table of the 2 MiB region `region`
    let region = -1n;
    for (let va = start & ~(PAGE - 1n); va < end; va += PAGE) {
      const vpn = Number(va >> 12n);
      if (this.pages.has(vpn)) {
        this.map(va, prot); // shared with another segment: widen its rights
        continue;
      }
      if (va >> 21n !== region) {
        region = va >> 21n;
        table = this.tables.entryAddress(va, 1) - BigInt((vpn & 511) * 8);
      }
      const frame = this.allocFrame();
      this.mem.fill(frame, 4096, 0);
      this.mem.write64(table + BigInt((vpn & 511) * 8), flags | BigInt(frame));
      this.pages.set(vpn, frame);
    }
  }

  /** Unmap [start, end) (rounded out to pages), invalidating each page on `cpu`; frames go back to the pool. */
  unmapRange(start: bigint, end: bigint, cpu: Cpu): void {
    for (let va = start & ~(PAGE - 1n); va < end; va += PAGE) {
      const vpn = Number(va >> 12n);
      const frame = this.pages.get(vpn);
      if (frame === undefined) continue;
      this.tables.setEntry(va, 1, 0n);
      cpu.invlpg(va);
      this.pages.delete(vpn);
      this.free.push(frame);
    }
  }

  /** Copy bytes to a mapped range (the loader's own write, like the kernel filling pages before mapping them). */
  copyIn(va: bigint, bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const a = va + BigInt(off);
      const frame = this.frameOf(a & ~(PAGE - 1n));
      if (frame < 0) throw new RangeError(`copyIn: 0x${a.toString(16)} is not mapped`);
      const inPage = 4096 - Number(a & (PAGE - 1n));
      const n = Math.min(inPage, bytes.length - off);
      this.mem.writeBytes(frame + Number(a & (PAGE - 1n)), bytes.subarray(off, off + n));
      off += n;
    }
  }
}
