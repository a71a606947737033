/* The syscall surface the loader's shim provides: argv/envp/auxv on the initial stack, brk growth and use,
 * arch_prctl(ARCH_SET_FS/GET_FS) with %fs-relative loads, write to stdout and stderr, an unknown syscall
 * (-ENOSYS), and exit through SYS_exit (not exit_group). */
#include "rt.h"

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

extern char _start[];
static u64 tls[4] = {0x1122334455667788ul, 0, 0, 0};

int main(int argc, char **argv) {
  kv("argc", (u64)argc);
  putstr("argv[0] set: "); putu(argv[0] != 0 && argv[0][0] != 0); putch('\n');
  char **envp = argv + argc + 1;
  int envc = 0;
  while (envp[envc]) envc++;
  u64 *auxv = (u64 *)(envp + envc + 1);
  u64 pagesz = 0, have_random = 0, phdr = 0, phnum = 0, entry = 0;
  for (u64 *a = auxv; a[0]; a += 2) {
    if (a[0] == 6) pagesz = a[1];
    if (a[0] == 25) have_random = a[1] != 0;
    if (a[0] == 3) phdr = a[1];
    if (a[0] == 5) phnum = a[1];
    if (a[0] == 9) entry = a[1];
  }
  kv("AT_PAGESZ", pagesz);
  kv("AT_RANDOM present", have_random);
  kv("AT_PHNUM", phnum);
  kv("AT_ENTRY is _start", entry == (u64)_start);
  kv("AT_PHDR readable", phdr && *(u32 *)phdr != 0xffffffffu);

  u64 b0 = (u64)sys1(SYS_brk, 0);
  u64 b1 = (u64)sys1(SYS_brk, (long)(b0 + 20000));
  kv("brk grows by", b1 - b0);
  u8 *heap = (u8 *)b0;
  for (u64 i = 0; i < 20000; i++) heap[i] = (u8)(i * 7);
  u64 sum = 0;
  for (u64 i = 0; i < 20000; i++) sum += heap[i];
  kv("heap sum", sum);
  u64 b2 = (u64)sys1(SYS_brk, (long)(b0 + 5000));
  kv("brk shrinks to +", b2 - b0);
  u64 b3 = (u64)sys1(SYS_brk, 1);
  kv("brk(too low) keeps", b3 == b2);

  long r = sys2(SYS_arch_prctl, ARCH_SET_FS, (long)tls);
  kv("arch_prctl SET_FS", (u64)r);
  u64 v;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(v));
  kvx("fs:0", v);
  tls[1] = 42;
  __asm__ volatile("mov %%fs:8, %0" : "=r"(v));
  kv("fs:8", v);
  u64 got = 0;
  sys2(SYS_arch_prctl, ARCH_GET_FS, (long)&got);
  kv("ARCH_GET_FS matches", got == (u64)tls);
  kv("arch_prctl(bad code)", (u64)-sys2(SYS_arch_prctl, 0x9999, 0));

  kv("unknown syscall", (u64)-sys3(9999, 0, 0, 0));
  kv("write(bad fd)", (u64)-sys3(SYS_write, 77, (long)"x", 1));
  flush();
  sys3(SYS_write, 2, (long)"to stderr\n", 10);
  putstr("bye\n");
  flush();
  for (;;) sys1(SYS_exit, 7);
}
