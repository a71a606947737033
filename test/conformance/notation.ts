/**
 * A compact notation for walks in test tables: one token per entry, top level first, e.g. 'UW UW UW SR:5'.
 *   U / S   U/S = 1 / 0          W / R   R/W = 1 / 0         X   XD = 1         N   P = 0 (not present)
 *   :k      protection key k (bits 62:59)                     +n  raw bit n set (reserved, ignored, PAT...)
 */

import { flags } from './rig.js';

export function entry(tok: string): bigint {
  const m = /^([USWRXN]+)(?::(\d+))?((?:\+\d+)*)$/.exec(tok);
  if (m === null) throw new Error(`bad entry token '${tok}'`);
  const letters = m[1];
  let raw = 0n;
  for (const b of m[3].split('+').filter((s) => s !== '')) raw |= 1n << BigInt(b);
  return flags({
    p: !letters.includes('N'),
    us: letters.includes('U'),
    rw: letters.includes('W'),
    xd: letters.includes('X'),
    key: m[2] === undefined ? undefined : Number(m[2]),
    raw,
  });
}

export function walkOf(spec: string): bigint[] {
  return spec.trim().split(/\s+/).map(entry);
}
