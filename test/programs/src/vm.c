/* A bytecode VM: a stack machine with locals, jumps and calls, interpreting programs for primes and Fibonacci
 * (a switch dispatch loop: indirect jumps, as interpreters compile to). */
#include "rt.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, LT, EQ, JMP, JZ, CALL, RET, PRINT, HALT, DUP, POP, INC };

static i64 stack[256];
static i64 frames[64][8];
static int rets[64];

static i64 run(const int *code, i64 arg, int verbose, u64 *steps) {
  int pc = 0, sp = 0, fp = 0;
  frames[0][0] = arg;
  for (;;) {
    (*steps)++;
    int op = code[pc++];
    switch (op) {
    case PUSH: stack[sp++] = code[pc++]; break;
    case LOAD: stack[sp++] = frames[fp][code[pc++]]; break;
    case STORE: frames[fp][code[pc++]] = stack[--sp]; break;
    case ADD: sp--; stack[sp - 1] += stack[sp]; break;
    case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
    case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
    case DIV: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] / stack[sp] : 0; break;
    case MOD: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
    case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
    case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
    case JMP: pc = code[pc]; break;
    case JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
    case CALL:
      if (fp == 63) return -1;
      rets[++fp] = pc + 1;
      frames[fp][0] = stack[--sp];
      pc = code[pc];
      break;
    case RET:
      if (!fp) return stack[sp - 1];
      pc = rets[fp--];
      break;
    case PRINT: if (verbose) { puti(stack[sp - 1]); putch(' '); } sp--; break;
    case HALT: return sp ? stack[sp - 1] : 0;
    case DUP: stack[sp] = stack[sp - 1]; sp++; break;
    case POP: sp--; break;
    case INC: frames[fp][code[pc]]++; pc++; break;
    default: return -2;
    }
    if (sp < 0 || sp > 250) return -3;
  }
}

/* count primes below arg by trial division; print the first few (offsets in the comments) */
static const int primes[] = {
    PUSH, 0, STORE, 1,                                        /* 0: count = 0 */
    PUSH, 2, STORE, 2,                                        /* 4: n = 2 */
    LOAD, 2, LOAD, 0, LT, JZ, 62,                             /* 8: while n < arg */
    PUSH, 2, STORE, 3,                                        /* 15: d = 2 */
    LOAD, 3, LOAD, 3, MUL, LOAD, 2, PUSH, 1, ADD, LT, JZ, 46, /* 19: while d*d < n+1 */
    LOAD, 2, LOAD, 3, MOD, JZ, 58,                            /* 32: if n % d == 0: not prime */
    INC, 3, JMP, 19,                                          /* 39: d++ */
    HALT, HALT, HALT,                                         /* 43: unreachable */
    INC, 1, LOAD, 1, PUSH, 10, LT, JZ, 58, LOAD, 2, PRINT,    /* 46: count++, print the first nine */
    INC, 2, JMP, 8,                                           /* 58: n++ */
    LOAD, 1, HALT};                                           /* 62 */
/* fib(arg), recursively */
static const int fibr[] = {
    LOAD, 0, PUSH, 2, LT, JZ, 10, LOAD, 0, RET,       /* 0: if n < 2 return n */
    LOAD, 0, PUSH, 1, SUB, CALL, 0, STORE, 1,         /* 10: a = fib(n-1) */
    LOAD, 0, PUSH, 2, SUB, CALL, 0, LOAD, 1, ADD, RET /* 19: return fib(n-2) + a */
};

int main(int argc, char **argv) {
  u64 scale = parse_u(argc > 1 ? argv[1] : 0, 1);
  u64 steps = 0;
  i64 np = run(primes, 300, 1, &steps);
  putch('\n');
  kv("primes<300", (u64)np);
  i64 f = run(fibr, 14, 0, &steps);
  kv("fib(14)", (u64)f);
  u64 acc = (u64)np * 1000 + (u64)f;
  for (u64 round = 0; round < scale; round++) {
    acc += (u64)run(primes, 200 + (i64)(round % 7), 0, &steps);
    acc += (u64)run(fibr, 10 + (i64)(round % 3), 0, &steps);
  }
  kv("steps", steps);
  kv("acc", acc);
  return (int)(acc & 0x7f);
}
