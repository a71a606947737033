/**
 * Wider exploration with the semantics harness than the test runs (not part of `npm test`):
 *   npx tsx test/native/explore.ts [seeds=12] [casesPerSeed=700]
 * prints every case where pksim and the host CPU disagree (cases hitting a known interpreter bug are counted
 * and left out, as in semantics.test.ts).
 */
import { generate } from './gen.js';
import { buildRunner, diff, hostFeatures, nativeUnavailable, runNative, runPksim } from './harness.js';

const why = nativeUnavailable();
if (why !== null) {
  console.log(`skipped: ${why}`);
  process.exit(0);
}
const seeds = Number(process.argv[2] ?? 12);
const perSeed = Number(process.argv[3] ?? 700);
const exe = buildRunner();
const host = hostFeatures();
let total = 0;
let bad = 0;
const known = new Map<string, number>();
for (let seed = 1; seed <= seeds; seed++) {
  const cases = generate(seed * 7919, perSeed, host);
  const nat = runNative(exe, cases);
  cases.forEach((c, k) => {
    if (c.knownBugs.length) {
      for (const b of c.knownBugs) known.set(b, (known.get(b) ?? 0) + 1);
      return;
    }
    total++;
    const d = diff(c, nat[k]!, runPksim(c));
    if (d.length) {
      bad++;
      console.log(`seed ${seed * 7919} case ${k}: ${c.text.join(' ; ')}\n    ${d.join('\n    ')}`);
    }
  });
}
console.log(`${total} cases compared, ${bad} disagree`);
for (const [b, n] of known) console.log(`left out ${n} cases for a known interpreter bug: ${b}`);
