/*
 * Native side of the semantics differential harness (built by the test with gcc into a temp dir; x86-64 Linux).
 * Input file: u32 count, then per case: 16 GPRs (encoding order, RSP included) + RFLAGS (u64 each), u32 code
 * length, code bytes (<= 4000), DATA_SIZE bytes of data. For each case the data is copied to DATA_VA, the code
 * to CODE_VA followed by `jmp [rip+0] -> exit_stub`, the registers and flags are loaded and the code runs.
 * exit_stub (or the SIGFPE/SIGSEGV/SIGILL handler, from the signal context) stores the registers and flags.
 * Output file, per case: u64 signal (0 = none), u64 rip at the signal, 16 GPRs, RFLAGS, DATA_SIZE data bytes.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define CODE_VA 0x10000000ul
#define DATA_VA 0x20000000ul
#define DATA_SIZE 1024

uint64_t in_regs[17];   /* 16 GPRs, rflags */
uint64_t out_regs[17];
uint64_t host_rsp;
uint64_t code_entry = CODE_VA;
static uint8_t private_stack[65536] __attribute__((aligned(16)));
uint64_t private_top = (uint64_t)(private_stack + sizeof private_stack);
static sigjmp_buf jb;
static volatile int sig;
static volatile uint64_t sig_rip;

void enter_case(void);
void exit_stub(void);
__asm__(".text\n"
        ".globl enter_case\n"
        "enter_case:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
        "  mov %rsp, host_rsp\n"
        "  mov private_top, %rsp\n"
        "  pushq in_regs+128\n"
        "  popfq\n"
        "  mov in_regs+0, %rax\n  mov in_regs+8, %rcx\n  mov in_regs+16, %rdx\n  mov in_regs+24, %rbx\n"
        "  mov in_regs+40, %rbp\n  mov in_regs+48, %rsi\n  mov in_regs+56, %rdi\n"
        "  mov in_regs+64, %r8\n  mov in_regs+72, %r9\n  mov in_regs+80, %r10\n  mov in_regs+88, %r11\n"
        "  mov in_regs+96, %r12\n  mov in_regs+104, %r13\n  mov in_regs+112, %r14\n  mov in_regs+120, %r15\n"
        "  mov in_regs+32, %rsp\n"
        "  jmp *code_entry\n"
        ".globl exit_stub\n"
        "exit_stub:\n"
        "  mov %rsp, out_regs+32\n"
        "  mov private_top, %rsp\n"
        "  pushfq\n"
        "  popq out_regs+128\n"
        "  mov %rax, out_regs+0\n  mov %rcx, out_regs+8\n  mov %rdx, out_regs+16\n  mov %rbx, out_regs+24\n"
        "  mov %rbp, out_regs+40\n  mov %rsi, out_regs+48\n  mov %rdi, out_regs+56\n"
        "  mov %r8, out_regs+64\n  mov %r9, out_regs+72\n  mov %r10, out_regs+80\n  mov %r11, out_regs+88\n"
        "  mov %r12, out_regs+96\n  mov %r13, out_regs+104\n  mov %r14, out_regs+112\n  mov %r15, out_regs+120\n"
        "  mov host_rsp, %rsp\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  cld\n"
        "  ret\n");

static void on_signal(int s, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  static const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                              REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; i++) out_regs[i] = (uint64_t)g[map[i]];
  out_regs[16] = (uint64_t)g[REG_EFL];
  sig = s;
  sig_rip = (uint64_t)g[REG_RIP];
  siglongjmp(jb, 1);
}

static void rd(void *p, size_t n, FILE *f) {
  if (fread(p, 1, n, f) != n) { fprintf(stderr, "runner: short input\n"); exit(2); }
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: runner in out\n"); return 2; }
  uint8_t *code = mmap((void *)CODE_VA, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  uint8_t *data = mmap((void *)DATA_VA, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (code == MAP_FAILED || data == MAP_FAILED) { perror("mmap"); return 2; }
  /* Signals run on their own stack: the guest's RSP points into the data page. */
  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) { perror("open"); return 2; }
  uint32_t count;
  rd(&count, 4, in);
  for (uint32_t c = 0; c < count; c++) {
    uint32_t len;
    rd(in_regs, sizeof in_regs, in);
    rd(&len, 4, in);
    if (len > 4000) { fprintf(stderr, "runner: code too long\n"); return 2; }
    rd(code, len, in);
    /* jmp qword [rip+0] ; dq exit_stub */
    code[len] = 0xff; code[len + 1] = 0x25; memset(code + len + 2, 0, 4);
    uint64_t target = (uint64_t)exit_stub;
    memcpy(code + len + 6, &target, 8);
    rd(data, DATA_SIZE, in);
    __builtin___clear_cache((char *)code, (char *)code + len + 14);
    sig = 0;
    sig_rip = 0;
    if (sigsetjmp(jb, 1) == 0) enter_case();
    uint64_t hdr[2] = {(uint64_t)sig, sig_rip};
    fwrite(hdr, 8, 2, out);
    fwrite(out_regs, 8, 17, out);
    fwrite(data, 1, DATA_SIZE, out);
  }
  fclose(out);
  return 0;
}
