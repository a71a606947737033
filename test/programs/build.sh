#!/bin/sh
# Build the test-program corpus: each src/<name>.c at -O2 and -O0 into bin/<name>-O2.elf and bin/<name>-O0.elf
# (static, no libc, general registers only), then record the expected output of each (run natively, scale 1)
# in expected.json. The built ELF files and expected.json are committed, so tests and benchmarks need no
# compiler. Run from anywhere: sh test/programs/build.sh
set -eu
cd "$(dirname "$0")"
CC=${CC:-gcc}
CFLAGS="-static -nostdlib -ffreestanding -mgeneral-regs-only -fno-pie -no-pie -fno-stack-protector \
-fcf-protection=none -fno-asynchronous-unwind-tables -fno-builtin -Wall -Wextra -Wl,--build-id=none"
mkdir -p bin
echo "# $($CC --version | head -1)" > bin/BUILD
for src in src/*.c; do
  name=$(basename "$src" .c)
  for opt in -O2 -O0; do
    out="bin/$name$opt.elf"
    echo "$CC $opt $CFLAGS -o $out $src" >> bin/BUILD
    $CC $opt $CFLAGS -o "$out" "$src"
    strip -s "$out" -o "$out.tmp" && mv "$out.tmp" "$out"
  done
done
# Expected results: stdout, stderr and the exit code of each program at scale 1, from native runs; -O0 and -O2
# must agree.
node ./expected.mjs
