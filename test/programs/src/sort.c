/* Sorting: quicksort, merge sort, heap sort, insertion sort and a radix sort on pseudo-random keys. */
#include "rt.h"

#define N 1000
static i64 a[N], b[N], tmp[N];
static u32 u[N], ut[N];

static void qsort_i64(i64 *v, long lo, long hi) {
  while (lo < hi) {
    i64 p = v[lo + (hi - lo) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (v[i] < p) i++;
      while (v[j] > p) j--;
      if (i <= j) {
        i64 t = v[i]; v[i] = v[j]; v[j] = t;
        i++; j--;
      }
    }
    if (j - lo < hi - i) { qsort_i64(v, lo, j); lo = i; }
    else { qsort_i64(v, i, hi); hi = j; }
  }
}
static void msort(i64 *v, long n) {
  if (n < 2) return;
  long m = n / 2;
  msort(v, m);
  msort(v + m, n - m);
  long i = 0, j = m, k = 0;
  while (i < m && j < n) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
  while (i < m) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  for (k = 0; k < n; k++) v[k] = tmp[k];
}
static void sift(i64 *v, long i, long n) {
  for (;;) {
    long l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && v[l] > v[m]) m = l;
    if (r < n && v[r] > v[m]) m = r;
    if (m == i) return;
    i64 t = v[i]; v[i] = v[m]; v[m] = t;
    i = m;
  }
}
static void hsort(i64 *v, long n) {
  for (long i = n / 2 - 1; i >= 0; i--) sift(v, i, n);
  for (long e = n - 1; e > 0; e--) {
    i64 t = v[0]; v[0] = v[e]; v[e] = t;
    sift(v, 0, e);
  }
}
static void isort(i64 *v, long n) {
  for (long i = 1; i < n; i++) {
    i64 x = v[i];
    long j = i - 1;
    while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j--; }
    v[j + 1] = x;
  }
}
static void radix(u32 *v, long n) {
  for (int shift = 0; shift < 32; shift += 8) {
    u32 cnt[257];
    memset(cnt, 0, sizeof cnt);
    for (long i = 0; i < n; i++) cnt[((v[i] >> shift) & 255) + 1]++;
    for (int i = 0; i < 256; i++) cnt[i + 1] += cnt[i];
    for (long i = 0; i < n; i++) ut[cnt[(v[i] >> shift) & 255]++] = v[i];
    for (long i = 0; i < n; i++) v[i] = ut[i];
  }
}
static u64 digest(const i64 *v, long n) {
  u64 h = 0;
  for (long i = 0; i < n; i++) h = h * 31 + (u64)v[i];
  return h;
}
static int sorted(const i64 *v, long n) {
  for (long i = 1; i < n; i++) if (v[i - 1] > v[i]) return 0;
  return 1;
}

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  u64 acc = 0;
  int bad = 0;
  for (u64 round = 0; round < scale; round++) {
    for (long i = 0; i < N; i++) { a[i] = (i64)rng() >> (round % 40); u[i] = (u32)rng(); }
    for (long i = 0; i < N; i++) b[i] = a[i];
    qsort_i64(b, 0, N - 1);
    u64 ref = digest(b, N);
    bad += !sorted(b, N);
    for (long i = 0; i < N; i++) b[i] = a[i];
    msort(b, N);
    bad += digest(b, N) != ref;
    for (long i = 0; i < N; i++) b[i] = a[i];
    hsort(b, N);
    bad += digest(b, N) != ref;
    for (long i = 0; i < 200; i++) b[i] = a[i];
    isort(b, 200);
    bad += !sorted(b, 200);
    radix(u, N);
    for (long i = 1; i < N; i++) bad += u[i - 1] > u[i];
    acc = acc * 1000003 + ref + u[N / 2];
    if (round == 0) {
      kvx("digest", ref);
      puti(b[0]); putch(' '); puti(b[199]); putch('\n');
      kv("median u32", u[N / 2]);
    }
  }
  kv("bad", (u64)bad);
  kvx("acc", acc);
  return bad ? 100 : 0;
}
