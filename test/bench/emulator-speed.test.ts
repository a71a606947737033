// Shape smoke check of question 7 (host timings): tiny sizes, no timing asserted (timings belong in bench/).
import { describe, expect, it } from 'vitest';
import { emulatorSpeed } from '../../bench/emulator-speed.js';
import { emulatorSpeed as presentation } from '../../bench/questions/emulator-speed.js';
import { markdownTable } from '../../bench/present.js';
import { runBench } from '../../bench/cli.js';
import { Writable } from 'node:stream';

function sink(): Writable & { text: string } {
  const w = new Writable({ write(c, _e, cb) { w.text += String(c); cb(); } }) as Writable & { text: string };
  w.text = '';
  return w;
}

describe('emulator-speed (question 7)', () => {
  it('has host, program, walk and page-table-write rows; the report section says host-dependent', () => {
    const r = emulatorSpeed({ tiny: true });
    const kinds = new Set(r.rows.map((x) => x.kind));
    expect([...kinds].sort()).toEqual(['host', 'program', 'pt-ops', 'walks']);
    expect(r.rows.filter((x) => x.kind === 'host').map((x) => x.name)).toEqual(['native', 'qemu-x86_64']);
    const prog = r.rows.find((x) => x.kind === 'program' && x.name === 'crc-O2')!;
    expect(prog.instructions).toBeGreaterThan(0);
    expect(typeof prog.mips).toBe('number');
    expect(r.rows.filter((x) => x.kind === 'pt-ops').map((x) => x.name)).toEqual(['set_pte (none)', 'set_pte (pks)', 'set_pte (pks-lock)', 'set_pte (paging-ro)', 'set_pte (poke)']);
    for (const x of r.rows.filter((y) => y.kind === 'pt-ops' || y.kind === 'walks')) expect(x.perSecond).toBeGreaterThan(0);
    const meta = { profile: 'sapphire-rapids', cpus: [1], quick: true };
    expect(presentation.reading(r.rows, meta)).toMatch(/Host-dependent/);
    expect(presentation.reading(r.rows, meta)).toMatch(r.rows.find((x) => x.name === 'qemu-x86_64')!.available ? /qemu-x86_64 .* faster/ : /qemu-x86_64 was not measured: not installed/);
    for (const t of presentation.tables(r.rows, meta)) expect(markdownTable(t)).toMatch(/\|---\|/);
  }, 60_000);

  it('is a question id of pksim bench: in --help and the known ids, run only when asked with --question', async () => {
    const help = sink();
    expect(await runBench(['--help'], { stdout: help })).toBe(0);
    expect(help.text).toMatch(/emulator-speed/);
    const out = sink();
    expect(await runBench(['--quick', '--json', '--question', 'guest-write-cost', '--threads', '1'], { stdout: out, stderr: sink() })).toBe(0);
    expect(Object.keys(JSON.parse(out.text).questions)).toEqual(['guest-write-cost']);
    const bad = sink();
    expect(await runBench(['--question', 'nosuch'], { stdout: sink(), stderr: bad })).toBe(2);
    expect(bad.text).toMatch(/known: .*emulator-speed/);
  });
});
