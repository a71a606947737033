/* Checksums over a pseudo-random buffer: CRC-32 (table and bitwise), Adler-32, Fletcher-64, CRC-16/CCITT. */
#include "rt.h"

static u32 crc_table[256];
static u8 buf[8192];

static void crc_init(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}
static u32 crc32_table(const u8 *p, size_t n) {
  u32 c = 0xffffffffu;
  while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
static u32 crc32_bitwise(const u8 *p, size_t n) {
  u32 c = 0xffffffffu;
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1));
  }
  return ~c;
}
static u32 adler32(const u8 *p, size_t n) {
  u32 a = 1, b = 0;
  while (n--) {
    a = (a + *p++) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}
static u64 fletcher64(const u32 *p, size_t words) {
  u64 a = 0, b = 0;
  while (words--) {
    a = (a + *p++) % 0xffffffffu;
    b = (b + a) % 0xffffffffu;
  }
  return (b << 32) | a;
}
static u16 crc16_ccitt(const u8 *p, size_t n) {
  u16 c = 0xffff;
  while (n--) {
    c ^= (u16)(*p++ << 8);
    for (int k = 0; k < 8; k++) c = (c & 0x8000) ? (u16)((c << 1) ^ 0x1021) : (u16)(c << 1);
  }
  return c;
}

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  crc_init();
  static const char check[] = "123456789";
  kvx("crc32(123456789)", crc32_table((const u8 *)check, 9));
  kvx("adler32(123456789)", adler32((const u8 *)check, 9));
  kvx("crc16(123456789)", crc16_ccitt((const u8 *)check, 9));
  u32 acc = 0;
  for (u64 round = 0; round < scale; round++) {
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (u8)(rng() >> 56);
    u32 a = crc32_table(buf, sizeof buf);
    u32 b = crc32_bitwise(buf, 1024);
    u32 c = adler32(buf, sizeof buf);
    u64 d = fletcher64((const u32 *)buf, sizeof buf / 4);
    u16 e = crc16_ccitt(buf, 2048);
    if (crc32_bitwise(buf, sizeof buf) != a) {
      putstr("MISMATCH table vs bitwise\n");
      return 1;
    }
    acc ^= a + b + c + (u32)d + (u32)(d >> 32) + e;
    if (round == 0) {
      kvx("crc32", a);
      kvx("crc32[0..1024)", b);
      kvx("adler32", c);
      kvx("fletcher64", d);
      kvx("crc16[0..2048)", e);
    }
  }
  kvx("acc", acc);
  return (int)(acc & 0x3f);
}
