#!/usr/bin/env bash
# Links a tiny client with every linker and layout we care about, on x86-64 and AArch64, with and
# without the linker-script fragment, and checks each output with check-client-layout.sh.
# The results (and what gold and mold do) are summarised in sdk/README.md.
# usage: sdk/tests/linker-matrix.sh [OUTDIR]      (needs gcc, aarch64-linux-gnu-gcc, lld, mold, gold)
set -uo pipefail
sdk=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
check=$sdk/tests/check-client-layout.sh

cat > "$out/client.c" <<'C'
#include "syslayer.h"
long probe(void) { return SL_CALL0(SL_SLOT_GETPID); }
int main(void) { return (int)probe(); }
C

layouts=(
  "default:"
  "pie:-pie"
  "no-pie:-no-pie"
  "shared:-shared -fPIC"
  "separate-code:-Wl,-z,separate-code"
  "noseparate-code:-Wl,-z,noseparate-code"
  "maxpage-4k:-Wl,-z,max-page-size=4096"
  "maxpage-64k:-Wl,-z,max-page-size=65536"
  "norelro:-Wl,-z,norelro"
  "no-pie-noseparate:-no-pie -Wl,-z,noseparate-code"
  "shared-64k-noseparate:-shared -fPIC -Wl,-z,max-page-size=65536 -Wl,-z,noseparate-code"
)
linkers=(bfd lld mold gold)
fail=0
for arch in x86_64 aarch64; do
  case $arch in
    x86_64) cc=gcc; readelf=readelf;;
    aarch64) cc=aarch64-linux-gnu-gcc; readelf=readelf;;
  esac
  for ld in "${linkers[@]}"; do
    for fragment in with without; do
      for entry in "${layouts[@]}"; do
        name=${entry%%:*}; flags=${entry#*:}
        bin=$out/$arch-$ld-$fragment-$name
        script=(); [ $fragment = with ] && script=(-Wl,-T,"$sdk/ld/syslayer.ld")
        # shellcheck disable=SC2086
        if ! $cc -O2 -DSL_ABI=2 -I"$sdk/include" -fuse-ld=$ld $flags "$out/client.c" \
             "$sdk/arch/$arch/reservation.S" "${script[@]}" -o "$bin" 2>"$bin.log"; then
          printf '%-8s %-5s %-8s %-22s LINK FAILED: %s\n' $arch $ld $fragment $name "$(grep -m1 -v '^collect2' "$bin.log")"
          [ $fragment = with ] && [ $ld != gold ] && fail=1
          continue
        fi
        if result=$("$check" --readelf $readelf "$bin" 2 2>&1); then
          printf '%-8s %-5s %-8s %-22s ok\n' $arch $ld $fragment $name
        else
          printf '%-8s %-5s %-8s %-22s BAD: %s\n' $arch $ld $fragment $name "$(sed "s|$bin: ||" <<<"$result" | paste -sd';')"
          [ $fragment = with ] && [ $ld != gold ] && fail=1
        fi
      done
    done
  done
done
echo "outputs in $out"
exit $fail
