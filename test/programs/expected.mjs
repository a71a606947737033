// Run each built program natively (x86-64 Linux) at both optimization levels, check they agree, and write
// expected.json: { <name>: { stdout, stderr, exitCode } }. Called by build.sh.
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(join(here, 'src')).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();
const out = {};
for (const name of names) {
  const results = ['-O2', '-O0'].map((opt) => {
    const r = spawnSync(join(here, 'bin', `${name}${opt}.elf`), [], { encoding: 'latin1', env: {} });
    if (r.error) throw r.error;
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status };
  });
  if (JSON.stringify(results[0]) !== JSON.stringify(results[1])) {
    throw new Error(`${name}: -O2 and -O0 disagree:\n${JSON.stringify(results, null, 1)}`);
  }
  out[name] = results[0];
  console.log(`${name}: exit ${results[0].exitCode}, ${results[0].stdout.length} bytes of stdout`);
}
writeFileSync(join(here, 'expected.json'), JSON.stringify(out, null, 2) + '\n');
