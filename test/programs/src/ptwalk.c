/* A small 4-level x86-64 page-table walker in C: builds tables in a static pool, maps 4 KiB / 2 MiB / 1 GiB pages
 * with varied rights and protection keys, then translates addresses and checks access rights as SDM 4.6 says. */
#include "rt.h"

#define P 1ul
#define RW 2ul
#define US 4ul
#define PS 0x80ul
#define NX (1ul << 63)
#define ADDR 0x000ffffffffff000ul

static u64 pool[64][512] __attribute__((aligned(4096)));
static int used;
/* "physical" address of a table = its index * 4096 + BASE */
#define BASE 0x100000ul
static u64 *tab(u64 pa) { return pool[(pa - BASE) >> 12]; }
static u64 alloc(void) {
  u64 pa = BASE + ((u64)used << 12);
  memset(pool[used++], 0, 4096);
  return pa;
}
static u64 root;
static int map(u64 va, u64 pa, int level, u64 flags, unsigned key) {
  u64 t = root;
  for (int l = 4; l > level; l--) {
    u64 *e = &tab(t)[(va >> (12 + 9 * (l - 1))) & 511];
    if (!(*e & P)) {
      if (used == 64) return -1;
      *e = alloc() | P | RW | US;
    }
    t = *e & ADDR;
  }
  tab(t)[(va >> (12 + 9 * (level - 1))) & 511] = pa | flags | (level > 1 ? PS : 0) | ((u64)key << 59);
  return 0;
}
struct result { int ok; u64 pa; unsigned key; u32 pfec; };
/* access: 0 read, 1 write, 2 fetch; user: CPL 3. Rules: SDM Vol. 3A 4.6 with CR0.WP=1, NXE=1, SMEP, SMAP (AC=0),
 * PKE/PKS with the given PKRU/PKRS. */
static struct result walk(u64 va, int access, int user, u32 pkru, u32 pkrs) {
  struct result r = {0, 0, 0, 0};
  u64 t = root;
  u64 rw = RW, us = US, nx = 0;
  for (int l = 4; l >= 1; l--) {
    u64 e = tab(t)[(va >> (12 + 9 * (l - 1))) & 511];
    if (!(e & P)) { r.pfec = (u32)((access == 1) << 1 | user << 2 | (access == 2) << 4); return r; }
    rw &= e; us &= e; nx |= e & NX;
    if (l == 1 || (e & PS)) {
      u64 size = 1ul << (12 + 9 * (l - 1));
      r.pa = (e & ADDR & ~(size - 1)) | (va & (size - 1));
      r.key = (unsigned)((e >> 59) & 15);
      break;
    }
    t = e & ADDR;
  }
  u32 pfec = 1 | (u32)(access == 1) << 1 | (u32)user << 2 | (u32)(access == 2) << 4;
  int bad = 0;
  if (access == 2) {
    if (nx) bad = 1;
    if (!user && us) bad = 1; /* SMEP */
    if (user && !us) bad = 1;
  } else {
    if (user && !us) bad = 1;
    if (!user && us) bad = 1; /* SMAP, AC=0 */
    if (access == 1 && !rw) bad = 1; /* WP=1 */
    u32 pk = us ? pkru : pkrs;
    u32 ad = (pk >> (2 * r.key)) & 1, wd = (pk >> (2 * r.key + 1)) & 1;
    if (ad || (access == 1 && wd)) { bad = 1; pfec |= 1u << 5; }
  }
  if (bad) { r.pfec = pfec; return r; }
  r.ok = 1;
  return r;
}

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  root = alloc();
  int err = 0;
  err |= map(0x400000, 0x1000000, 1, P | US, 0);
  err |= map(0x401000, 0x1001000, 1, P | RW | US | NX, 1);
  err |= map(0x600000, 0x2000000, 2, P | RW | US | NX, 2);
  err |= map(0xffff888000000000ul, 0, 3, P | RW | NX, 0);
  err |= map(0xffffffff81000000ul, 0x1000000, 2, P, 0);
  err |= map(0xffffc90000001000ul, 0x3000000, 1, P | RW | NX, 1);
  if (err) { putstr("pool exhausted\n"); return 2; }
  kv("tables", (u64)used);
  static const u64 vas[] = {0x400123, 0x401ff8, 0x6abcde, 0x800000, 0xffff888012345678ul, 0xffffffff81012345ul,
                            0xffffc90000001010ul, 0xffffc90000002000ul};
  u64 acc = 0;
  for (int i = 0; i < 8; i++) {
    for (int access = 0; access < 3; access++) {
      for (int user = 0; user < 2; user++) {
        struct result r = walk(vas[i], access, user, 0x4, 0x8);
        if (access == 0 && user == (vas[i] < 0x800000000000ul)) {
          putstr("va 0x"); puthex(vas[i], 16);
          if (r.ok) { putstr(" -> 0x"); puthex(r.pa, 12); putstr(" key "); putu(r.key); }
          else { putstr(" fault pfec 0x"); puthex(r.pfec, 2); }
          putch('\n');
        }
        acc = acc * 3 + (r.ok ? r.pa : r.pfec);
      }
    }
  }
  kvx("rights", acc);
  u64 faults = 0, hits = 0;
  for (u64 i = 0; i < scale * 4000; i++) {
    u64 v = rng();
    u64 va = vas[v & 7] ^ ((v >> 8) & 0x1ff8);
    struct result r = walk(va, (int)((v >> 3) % 3), (int)((v >> 5) & 1), (u32)(v >> 32) & 0x55555555u, (u32)(v >> 40));
    if (r.ok) { hits++; acc ^= r.pa; } else { faults++; acc += r.pfec; }
  }
  kv("hits", hits);
  kv("faults", faults);
  kvx("acc", acc);
  return (int)(faults % 64);
}
