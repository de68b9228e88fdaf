#!/usr/bin/env bash
# Runs the example clients before any binder exists, "bound at link time": instead of
# arch/<arch>/reservation.S, each object gets a slot table in .text (slot i = a branch to
# sl_<name>, 16 bytes apart, as a binder's linked image starts) and a reference layer object is
# linked in beside it. This checks the examples' code and output format, and the layers behind
# the SL_CALL macros, natively and under qemu-aarch64; it says nothing about binding itself.
# usage: sdk/tests/run-examples-prebound.sh [PREBUILT_DIR]
set -uo pipefail
export LC_ALL=C
sdk=$(cd "$(dirname "$0")/.." && pwd)
prebuilt=${1:-$sdk/prebuilt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=1; }
pass() { echo "ok   $*"; }

# The slot names of ABI n, in slot order, from the generated header.
slot_names() {
  sed -n "s/^#define SL_ABI$1_SLOT_\([A-Z0-9_]*\) \([0-9]*\) .*/\2 \1/p" "$sdk/include/syslayer.h" |
    sort -n | awk '{ print tolower($2) }'
}

slot_table() { # arch abi > file.S
  local branch=jmp; [ "$1" = aarch64 ] && branch=b
  printf '\t.text\n\t.balign 4096\n\t.globl sl_reservation\n\t.hidden sl_reservation\nsl_reservation:\n'
  for name in $(slot_names "$2"); do printf '\t.balign 16\n\t%s sl_%s\n' $branch "$name"; done
  printf '\t.section .note.GNU-stack,"",%%progbits\n'
}

for arch in x86_64 aarch64; do
  case $arch in
    x86_64) cc=gcc; run=() ;;
    aarch64) cc=aarch64-linux-gnu-gcc; run=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;
  esac
  for layer in linux-3.2 linux-4.11; do
    label="$arch $layer"
    dir=$work/$arch-$layer
    mkdir -p "$dir/bin" "$dir/lib"
    lo=$prebuilt/$arch/layers/$layer.o
    cflags=(-O2 -Wall -Wextra -Werror -I"$sdk/include" -I"$sdk/examples")
    for abi in 1 2; do slot_table $arch $abi >"$dir/table$abi.S"; done
    ok=1
    $cc "${cflags[@]}" -DSL_ABI=1 -fPIC -fvisibility=hidden -shared "$sdk/examples/mixed-lib.c" "$dir/table1.S" "$lo" \
      -Wl,-soname,libmixed1.so -o "$dir/lib/libmixed1.so" || ok=0
    for abi in 1 2; do
      $cc "${cflags[@]}" -DSL_ABI=$abi -pie -fPIE "$sdk/examples/abi$abi-demo.c" "$dir/table$abi.S" "$lo" \
        -o "$dir/bin/abi$abi-demo" || ok=0
    done
    $cc "${cflags[@]}" -DSL_ABI=2 -pie -fPIE "$sdk/examples/mixed-main.c" "$dir/table2.S" "$lo" -L"$dir/lib" -lmixed1 \
      -Wl,-rpath,'$ORIGIN/../lib' -Wl,--enable-new-dtags -o "$dir/bin/mixed-main" || ok=0
    if [ $ok = 0 ]; then fail "$label: build"; continue; fi

    path=/etc/passwd
    read -r d i f h u g s y < <(stat -L -c '%d %i %f %h %u %g %s %Y' "$path")
    st="stat $path: dev=$d ino=$i mode=$(printf '%o' "0x$f") nlink=$h uid=$u gid=$g size=$s mtime=$y"
    for abi in 1 2; do
      out=$("${run[@]}" "$dir/bin/abi$abi-demo" "$path" 2>&1); status=$?
      want="abi$abi-demo: ABI $abi, $((abi == 1 ? 11 : 12)) slots
getpid: N matches
clock_gettime: monotonic advanced
open/lseek/read/close: ELF
$st
mmap: wrote and read back a page
munmap: 0"
      [ $abi = 2 ] && want+=$'\ngetrandom: 16 bytes'
      if [ $status -eq 0 ] && [ "$(sed -E 's/^getpid: [0-9]+ matches$/getpid: N matches/' <<<"$out")" = "$want" ]; then
        pass "$label: abi$abi-demo"
      else
        fail "$label: abi$abi-demo (exit $status):"; echo "$out"
      fi
    done
    out=$("${run[@]}" "$dir/bin/mixed-main" "$path" 2>&1); status=$?
    shape=$(sed -E 's/getpid: [0-9]+ matches/getpid: N matches/; s/stat [^:]*: .*/stat .../' <<<"$out")
    want="[mixed-main abi2] ABI 2, 12 slots
[mixed-main abi2] getpid: N matches
[mixed-main abi2] stat ...
[mixed-main abi2] getrandom: 16 bytes
[libmixed1 abi1] ABI 1, 11 slots
[libmixed1 abi1] getpid: N matches
[libmixed1 abi1] stat ...
[mixed-main abi2] exit: 0"
    if [ $status -eq 0 ] && [ "$shape" = "$want" ] && grep -qxF "[mixed-main abi2] $st" <<<"$out" &&
       grep -qxF "[libmixed1 abi1] $st" <<<"$out"; then
      pass "$label: mixed-main with libmixed1.so"
    else
      fail "$label: mixed-main (exit $status):"; echo "$out"
    fi
    # The overflow path: a 5 GiB sparse file is -75 in ABI 1 and fine in ABI 2.
    big=$dir/big; truncate -s 5G "$big"
    out=$("${run[@]}" "$dir/bin/abi1-demo" "$big" 2>&1)
    if grep -qxF "stat $big: error -75" <<<"$out"; then pass "$label: abi1-demo stat of a 5 GiB file is -75"; else fail "$label: abi1-demo 5 GiB: $out"; fi
    out=$("${run[@]}" "$dir/bin/abi2-demo" "$big" 2>&1)
    if grep -qE "^stat $big: .* size=5368709120 " <<<"$out"; then pass "$label: abi2-demo stat of a 5 GiB file"; else fail "$label: abi2-demo 5 GiB: $out"; fi
  done
done
[ $failed -eq 0 ] && echo "all prebound example runs passed" || echo "some prebound example runs FAILED"
exit $failed
