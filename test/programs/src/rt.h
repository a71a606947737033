/*
 * pksim test-program runtime: a freestanding _start, raw Linux syscalls, and a buffered stdout.
 * No libc. Each program is one translation unit that includes this header and defines
 *   int main(int argc, char **argv);
 * Programs take an optional scale argument (argv[1], default 1) so the benchmark can run them longer.
 */
#ifndef PKSIM_RT_H
#define PKSIM_RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;
typedef unsigned long size_t;

#define SYS_write 1
#define SYS_brk 12
#define SYS_exit 60
#define SYS_arch_prctl 158
#define SYS_exit_group 231

static inline long sys1(long n, long a) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return r;
}
static inline long sys2(long n, long a, long b) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return r;
}
static inline long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

/* gcc may emit calls to these even when freestanding (struct copies, loop idioms). */
void *memcpy(void *d, const void *s, size_t n) {
  u8 *dp = d;
  const u8 *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}
void *memmove(void *d, const void *s, size_t n) {
  u8 *dp = d;
  const u8 *sp = s;
  if (dp < sp) {
    while (n--) *dp++ = *sp++;
  } else {
    dp += n;
    sp += n;
    while (n--) *--dp = *--sp;
  }
  return d;
}
void *memset(void *d, int c, size_t n) {
  u8 *dp = d;
  while (n--) *dp++ = (u8)c;
  return d;
}
int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (; n; n--, x++, y++)
    if (*x != *y) return *x - *y;
  return 0;
}

static char out_buf[4096];
static size_t out_len;

static void flush(void) {
  size_t off = 0;
  while (off < out_len) {
    long w = sys3(SYS_write, 1, (long)(out_buf + off), (long)(out_len - off));
    if (w <= 0) break;
    off += (size_t)w;
  }
  out_len = 0;
}
static void putch(char c) {
  if (out_len == sizeof out_buf) flush();
  out_buf[out_len++] = c;
}
static void putstr(const char *s) {
  while (*s) putch(*s++);
}
static void putu(u64 v) {
  char t[24];
  int n = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) putch(t[--n]);
}
__attribute__((unused)) static void puti(i64 v) {
  if (v < 0) {
    putch('-');
    putu(-(u64)v);
  } else {
    putu((u64)v);
  }
}
static void puthex(u64 v, int digits) {
  for (int i = digits - 1; i >= 0; i--) putch("0123456789abcdef"[(v >> (4 * i)) & 15]);
}
__attribute__((unused)) static void kv(const char *k, u64 v) {
  putstr(k);
  putstr(": ");
  putu(v);
  putch('\n');
}
__attribute__((unused)) static void kvx(const char *k, u64 v) {
  putstr(k);
  putstr(": 0x");
  puthex(v, 16);
  putch('\n');
}

__attribute__((noreturn)) static void exit_group(int code) {
  flush();
  for (;;) sys1(SYS_exit_group, code);
}

__attribute__((unused)) static u64 parse_u(const char *s, u64 dflt) {
  if (!s || !*s) return dflt;
  u64 v = 0;
  for (; *s >= '0' && *s <= '9'; s++) v = v * 10 + (u64)(*s - '0');
  return v ? v : dflt;
}

/* xorshift64*: the same pseudo-random stream natively and in the emulator. */
static u64 rng_state = 0x9e3779b97f4a7c15ul;
__attribute__((unused)) static u64 rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dul;
}

int main(int argc, char **argv);

__attribute__((used, noreturn)) void pksim_cstart(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  exit_group(main(argc, argv));
}

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call pksim_cstart\n"
        "  hlt\n");

#endif
