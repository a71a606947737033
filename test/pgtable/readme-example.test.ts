import { expect, it } from 'vitest';
// The README's kernel-model example, as written there.
import { Machine, Kernel } from '../../src/index.js';

it('README example', () => {
  const m = new Machine({ cpus: 4, memory: 4 * 2 ** 30 });
  const k = Kernel.boot(m, { protection: 'pks', directMap: '2M', groupedCache: true });
  const mm = k.createAddressSpace();
  mm.switchTo(m.cpus[0]);
  mm.map(0x400000n, 16, { write: true });
  const pte = mm.pageTables()[3]; // PGD, PUD, PMD, PT
  const r = k.strayWrite(pte, 0x8000000000000067n);
  expect(r.landed).toBe(false);
  if (!r.landed) expect(r.fault.errorCode).toBe(0x23); // P | W | PK
  expect(k.check()).toEqual([]);
  const child = mm.fork();
  expect(child.translate(0x400000n)?.cow).toBe(true);
  const s = k.stats();
  expect(s.wrmsr).toBeGreaterThan(0);
  expect(s.cacheRefills).toBe(1);
});
