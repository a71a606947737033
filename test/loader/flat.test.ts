/** loadFlat: raw code at CPL 0 in long mode, identity or given mapping, stack, extra mappings, argument checks. */
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { loadFlat } from '../../src/loader/index.js';

// mov eax, 7 ; push rax ; pop rcx ; hlt
const CODE = new Uint8Array([0xb8, 7, 0, 0, 0, 0x50, 0x59, 0xf4]);

describe('loadFlat', () => {
  it('runs code at CPL 0 with an identity mapping; the stack works; HLT stops the run', () => {
    const m = new Machine({ memory: 64 * 2 ** 20 });
    const l = loadFlat(m, CODE, { address: 0x100000 });
    expect(l.cpu.cpl).toBe(0);
    expect(l.cpu.rip).toBe(0x100000n);
    expect(l.cpu.translate(0x100000n, { access: 'fetch', probe: true })).toMatchObject({ ok: true, pa: 0x100000n });
    const r = l.cpu.run({ maxInstructions: 100 });
    expect(r.reason).toBe('hlt');
    expect(l.cpu.getReg('rcx')).toBe(7n);
    expect(l.cpu.getReg('rsp')).toBe(l.stackTop);
    expect(l.cpu.read(l.stackTop - 8n, 8)).toBe(7n);
  });

  it('maps code at a given linear address onto another physical address', () => {
    const m = new Machine({ memory: 64 * 2 ** 20 });
    const l = loadFlat(m, CODE, { address: 0xffffffff81000000n, physAddr: 0x200000 });
    expect(l.cpu.translate(0xffffffff81000000n, { access: 'fetch', probe: true })).toMatchObject({ ok: true, pa: 0x200000n });
    expect(m.memory.read8(0x200000)).toBe(0xb8);
    expect(l.cpu.run({ maxInstructions: 100 }).reason).toBe('hlt');
    expect(l.stackTop >> 32n).toBe(0xffffffffn);
    expect(l.layout.tables[0]).toBe(0x201000n);
  });

  it('code pages are writable supervisor pages, the stack is NX, extra mappings take their rights', () => {
    const m = new Machine({ memory: 64 * 2 ** 20 });
    const l = loadFlat(m, CODE, { address: 0x100000, map: [{ va: 0x7000000, pa: 0x3000000, bytes: 8192, user: true, pkey: 3 }] });
    const probe = (va: bigint, access: 'read' | 'write' | 'fetch') => l.cpu.translate(va, { access, probe: true });
    expect(probe(0x100000n, 'write').ok).toBe(true);
    expect(probe(l.stackTop - 8n, 'fetch').ok).toBe(false);
    expect(probe(0x7001000n, 'read')).toMatchObject({ ok: true, pa: 0x3001000n, pkey: 3 });
    expect(probe(0x7001000n, 'write').ok).toBe(false); // CR0.WP=1, read-only
    expect(probe(0x7002000n, 'read').ok).toBe(false);
  });

  it('a fault with no IDT returns the exception', () => {
    const m = new Machine({ memory: 64 * 2 ** 20 });
    const l = loadFlat(m, new Uint8Array([0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0x40]), { address: 0x100000 }); // mov rax, [0x40000000]
    const r = l.cpu.run({ maxInstructions: 10 });
    expect(r).toMatchObject({ reason: 'exception', vector: 14, rip: 0x100000n });
  });

  it('checks its arguments', () => {
    const m = new Machine({ memory: 64 * 2 ** 20 });
    expect(() => loadFlat(m, new Uint8Array(), { address: 0x1000 })).toThrow(RangeError);
    expect(() => loadFlat(m, [1] as never, { address: 0x1000 })).toThrow(TypeError);
    expect(() => loadFlat(m, CODE, { address: 0x1001 })).toThrow(/aligned/);
    expect(() => loadFlat(m, CODE, { address: 'x' as never })).toThrow(TypeError);
    expect(() => loadFlat(m, CODE, { address: 0x1000, cpu: 3 })).toThrow(/cpu 3/);
    expect(() => loadFlat(m, CODE, { address: 0x1000, entry: 0x2000 })).toThrow(/outside the code/);
    expect(() => loadFlat(m, CODE, { address: 0x1000, stackBytes: 100 })).toThrow(/stackBytes/);
    expect(() => loadFlat(m, CODE, { address: 0x3fff000 })).toThrow(/machine has/);
  });
});
