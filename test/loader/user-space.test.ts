/**
 * UserSpace.mapRange writes the PTEs of new pages itself (the builder once per 2 MiB region): the page tables and
 * frames must come out byte for byte as mapping each page with `map` makes them.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { UserSpace, type PageProt } from '../../src/loader/user-space.js';

const TABLES = { start: 0x100000, end: 0x200000 };
const FRAMES = { start: 0x400000, end: 0x4000000 };

function space(): { m: Machine; u: UserSpace } {
  const m = new Machine({ memory: 2 ** 27 });
  return { m, u: new UserSpace(m.memory, TABLES, FRAMES) };
}

describe('UserSpace.mapRange', () => {
  it('gives the tables, frames and rights of mapping page by page', () => {
    // ranges across 2 MiB and 1 GiB lines, one sharing pages with the one before (rights widened)
    const ranges: [bigint, bigint, PageProt][] = [
      [0x401000n, 0x403800n, { write: false, exec: true, user: true }],
      [0x403000n, 0x405000n, { write: true, exec: false, user: true }],
      [0x3ffff000n - 0x3000n, 0x40001000n + 0x200000n, { write: true, exec: false, user: true }],
      [0x7fffff7ff000n, 0x7ffffffff000n, { write: true, exec: false, user: false }],
    ];
    const fast = space();
    const slow = space();
    for (const [a, b, prot] of ranges) {
      fast.u.mapRange(a, b, prot);
      for (let va = a & ~0xfffn; va < b; va += 0x1000n) slow.u.map(va, prot);
    }
    expect(fast.u.mappedPages).toBe(slow.u.mappedPages);
    expect(fast.u.mappedPages).toBeGreaterThan(2048 + 512);
    expect(fast.u.tables.tables).toEqual(slow.u.tables.tables);
    for (const t of fast.u.tables.tables) expect(fast.m.memory.readBytes(t, 4096)).toEqual(slow.m.memory.readBytes(t, 4096));
    for (const [a, b] of ranges) {
      for (let va = a & ~0xfffn; va < b; va += 0x1000n) {
        expect(fast.u.frameOf(va)).toBe(slow.u.frameOf(va));
        expect(fast.u.tables.getEntry(va, 1)).toBe(slow.u.tables.getEntry(va, 1));
      }
    }
  });
});
