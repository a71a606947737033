/**
 * Cost-profile overrides from `name=value` settings (the CLI's `--set`), so a sweep or a user can change one
 * figure by name. A name is a dotted path into CostProfile (`ipi.send`, `wrmsr.default`, `movCr3.flush`), or
 * an alias for a figure that has no short path of its own:
 *   pkrsWrite     WRMSR to IA32_PKRS (wrmsr.byMsr[0x6E1]): the figure no source has published.
 * Values are numbers (or true / false, or a bare word for string fields); resolveProfile validates them.
 */
import type { ProfileOverrides } from '../cpu/profiles.js';
import { MSR_IA32_PKRS } from '../pks/keys.js';

export const OVERRIDE_ALIASES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  pkrsWrite: ['wrmsr', 'byMsr', String(MSR_IA32_PKRS)],
});

/** The profile path an override name stands for. */
export function overridePath(name: string): string[] {
  if (typeof name !== 'string' || name === '') throw new TypeError(`override name must be a non-empty string, got ${String(name)}`);
  const alias = OVERRIDE_ALIASES[name];
  if (alias) return [...alias];
  // A hex MSR index in a path (wrmsr.byMsr.0x6e1) is the same key as its decimal form.
  return name.split('.').map((p) => (/^0x[0-9a-f]+$/i.test(p) ? String(parseInt(p, 16)) : p));
}

/** Merge `path = value` into an overrides object (a fresh copy; the input is not changed). */
export function withOverride(base: ProfileOverrides | undefined, name: string, value: number | boolean | string): ProfileOverrides {
  const path = overridePath(name);
  const root: Record<string, unknown> = structuredCloneLite(base ?? {});
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]];
    node = node[path[i]] = (typeof next === "object" && next !== null ? next : {}) as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return root as ProfileOverrides;
}

/** Parse `name=value` settings (as given to `--set`) into overrides. Throws RangeError naming a bad one. */
export function parseOverrides(settings: readonly string[], base?: ProfileOverrides): ProfileOverrides | undefined {
  let out = base;
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new RangeError(`--set expects name=value, got '${s}'`);
    const name = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    if (value === '') throw new RangeError(`--set ${name}: empty value`);
    out = withOverride(out, name, value);
  }
  return out;
}

function structuredCloneLite<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(structuredCloneLite) as T;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = structuredCloneLite(x);
  return o as T;
}
