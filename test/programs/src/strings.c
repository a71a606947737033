/* String routines: length, compare, copy, reverse, number formatting and parsing, KMP search, tokenizing, rot13. */
#include "rt.h"

static size_t my_strlen(const char *s) { const char *p = s; while (*p) p++; return (size_t)(p - s); }
static int my_strcmp(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return (u8)*a - (u8)*b;
}
static char *my_strcpy(char *d, const char *s) { char *r = d; while ((*d++ = *s++)); return r; }
static void reverse(char *s, size_t n) {
  for (size_t i = 0, j = n ? n - 1 : 0; i < j; i++, j--) { char t = s[i]; s[i] = s[j]; s[j] = t; }
}
static int utoa(u64 v, unsigned base, char *out) {
  int n = 0;
  do { out[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % base]; v /= base; } while (v);
  out[n] = 0;
  reverse(out, (size_t)n);
  return n;
}
static i64 atoi64(const char *s) {
  int neg = 0;
  while (*s == ' ') s++;
  if (*s == '-') { neg = 1; s++; }
  i64 v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}
static long kmp(const char *hay, size_t hn, const char *pat, size_t pn) {
  int fail[64];
  fail[0] = 0;
  for (size_t i = 1, k = 0; i < pn; i++) {
    while (k && pat[i] != pat[k]) k = (size_t)fail[k - 1];
    if (pat[i] == pat[k]) k++;
    fail[i] = (int)k;
  }
  long count = 0;
  for (size_t i = 0, k = 0; i < hn; i++) {
    while (k && hay[i] != pat[k]) k = (size_t)fail[k - 1];
    if (hay[i] == pat[k]) k++;
    if (k == pn) { count++; k = (size_t)fail[k - 1]; }
  }
  return count;
}
static void rot13(char *s) {
  for (; *s; s++) {
    char c = *s;
    if (c >= 'a' && c <= 'z') *s = (char)('a' + (c - 'a' + 13) % 26);
    else if (c >= 'A' && c <= 'Z') *s = (char)('A' + (c - 'A' + 13) % 26);
  }
}
static int count_words(const char *s) {
  int n = 0, in = 0;
  for (; *s; s++) {
    int w = (*s != ' ' && *s != '\n' && *s != '\t');
    if (w && !in) n++;
    in = w;
  }
  return n;
}

static char text[16384];

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  char buf[128];
  my_strcpy(buf, "Hello, pksim! The quick brown fox jumps over the lazy dog.");
  kv("strlen", my_strlen(buf));
  rot13(buf);
  putstr(buf); putch('\n');
  rot13(buf);
  reverse(buf, my_strlen(buf));
  putstr(buf); putch('\n');
  utoa(0xdeadbeefcafeul, 36, buf); putstr(buf); putch('\n');
  utoa(18446744073709551615ul, 2, buf); kv("bits", my_strlen(buf));
  puti(atoi64("  -9223372036854775807")); putch('\n');
  kv("cmp", (u64)(my_strcmp("abcd", "abce") < 0) + 2 * (u64)(my_strcmp("b", "a") > 0) + 4 * (u64)(my_strcmp("x", "x") == 0));
  static const char *words[] = {"alpha", "beta", "gamma", "delta", "abab", "aba", "ab"};
  u64 acc = 0;
  for (u64 round = 0; round < scale; round++) {
    size_t n = 0;
    while (n < sizeof text - 16) {
      const char *w = words[rng() % 7];
      while (*w && n < sizeof text - 2) text[n++] = *w++;
      text[n++] = (rng() & 7) ? ' ' : '\n';
    }
    text[n] = 0;
    long c1 = kmp(text, n, "abab", 4), c2 = kmp(text, n, "a ab", 4);
    int wc = count_words(text);
    char num[72];
    for (int i = 0; i < 200; i++) {
      u64 v = rng();
      utoa(v, 10, num);
      acc += (u64)atoi64(num) == v;
      utoa(v, 16, num);
      acc += my_strlen(num);
    }
    acc = acc * 7 + (u64)c1 * 3 + (u64)c2 + (u64)wc;
    if (round == 0) { kv("abab", (u64)c1); kv("a ab", (u64)c2); kv("words", (u64)wc); }
  }
  kv("acc", acc);
  return 0;
}
