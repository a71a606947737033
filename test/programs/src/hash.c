/* Hashes: FNV-1a 32/64, SipHash-2-4, MurmurHash3 finalizer, SHA-256 (rotates, 32-bit and 64-bit arithmetic). */
#include "rt.h"

static u32 fnv1a32(const u8 *p, size_t n) {
  u32 h = 0x811c9dc5u;
  while (n--) h = (h ^ *p++) * 0x01000193u;
  return h;
}
static u64 fnv1a64(const u8 *p, size_t n) {
  u64 h = 0xcbf29ce484222325ul;
  while (n--) h = (h ^ *p++) * 0x100000001b3ul;
  return h;
}
#define ROTL64(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                               \
  do {                                                                                                         \
    v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);                                              \
    v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                                                                   \
    v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                                                                   \
    v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);                                              \
  } while (0)
static u64 le64(const u8 *p) {
  u64 v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static u64 siphash24(const u8 *in, size_t inlen, u64 k0, u64 k1) {
  u64 v0 = 0x736f6d6570736575ul ^ k0, v1 = 0x646f72616e646f6dul ^ k1;
  u64 v2 = 0x6c7967656e657261ul ^ k0, v3 = 0x7465646279746573ul ^ k1;
  u64 b = ((u64)inlen) << 56;
  const u8 *end = in + inlen - (inlen % 8);
  for (; in != end; in += 8) {
    u64 m = le64(in);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  switch (inlen & 7) {
  case 7: b |= ((u64)in[6]) << 48; /* fallthrough */
  case 6: b |= ((u64)in[5]) << 40; /* fallthrough */
  case 5: b |= ((u64)in[4]) << 32; /* fallthrough */
  case 4: b |= ((u64)in[3]) << 24; /* fallthrough */
  case 3: b |= ((u64)in[2]) << 16; /* fallthrough */
  case 2: b |= ((u64)in[1]) << 8; /* fallthrough */
  case 1: b |= ((u64)in[0]); break;
  case 0: break;
  }
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND; SIPROUND; SIPROUND; SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}
static u64 fmix64(u64 k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdul;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ul;
  k ^= k >> 33;
  return k;
}

static const u32 K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha256_block(u32 h[8], const u8 *p) {
  u32 w[64];
  for (int i = 0; i < 16; i++) w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    u32 s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
    u32 s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    u32 t1 = hh + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    u32 t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}
static void sha256(const u8 *msg, size_t n, u8 out[32]) {
  u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t i = 0;
  for (; i + 64 <= n; i += 64) sha256_block(h, msg + i);
  u8 tail[128];
  size_t r = n - i;
  memcpy(tail, msg + i, r);
  tail[r] = 0x80;
  size_t tl = r + 1 + 8 <= 64 ? 64 : 128;
  memset(tail + r + 1, 0, tl - r - 1);
  u64 bits = (u64)n * 8;
  for (int k = 0; k < 8; k++) tail[tl - 1 - k] = (u8)(bits >> (8 * k));
  sha256_block(h, tail);
  if (tl == 128) sha256_block(h, tail + 64);
  for (int k = 0; k < 8; k++) {
    out[4 * k] = (u8)(h[k] >> 24); out[4 * k + 1] = (u8)(h[k] >> 16);
    out[4 * k + 2] = (u8)(h[k] >> 8); out[4 * k + 3] = (u8)h[k];
  }
}

static u8 data[4096];

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  u8 d[32];
  sha256((const u8 *)"abc", 3, d);
  putstr("sha256(abc): ");
  for (int i = 0; i < 32; i++) puthex(d[i], 2);
  putch('\n');
  u8 key[16], msg[64];
  for (int i = 0; i < 16; i++) key[i] = (u8)i;
  for (int i = 0; i < 64; i++) msg[i] = (u8)i;
  u64 k0 = le64(key), k1 = le64(key + 8);
  kvx("siphash(15 bytes)", siphash24(msg, 15, k0, k1));
  kvx("fnv1a64(hello)", fnv1a64((const u8 *)"hello", 5));
  kvx("fnv1a32(hello)", fnv1a32((const u8 *)"hello", 5));
  u64 acc = 0;
  for (u64 round = 0; round < scale; round++) {
    for (size_t i = 0; i < sizeof data; i++) data[i] = (u8)rng();
    sha256(data, sizeof data - round % 64, d);
    acc ^= le64(d) + siphash24(data, 1000 + round % 8, k0, k1) + fnv1a64(data, 2048) + fnv1a32(data, 512);
    for (int i = 0; i < 256; i++) acc = fmix64(acc + (u64)i);
    if (round == 0) {
      putstr("sha256(data): ");
      for (int i = 0; i < 32; i++) puthex(d[i], 2);
      putch('\n');
    }
  }
  kvx("acc", acc);
  return (int)(acc % 101);
}
