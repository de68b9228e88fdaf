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
# A cross gcc looks for -fuse-ld=lld/mold as aarch64-linux-gnu-ld.lld/-ld.mold in PATH, which
# Debian does not ship; -B a directory with plain ld.lld and ld.mold links (both are multi-target).
bindir=$out/.ld-bin
mkdir -p "$bindir"
ln -sf "$(command -v ld.lld)" "$bindir/ld.lld"
ln -sf "$(command -v ld.mold)" "$bindir/ld.mold"

# What we expect with the fragment: GNU ld and lld give the reservation its own R E PT_LOAD, except
# lld with -z separate-code, whose writeTrapInstr() rounds the last executable PT_LOAD's p_memsz
# down to its page-rounded p_filesz, 0 here (README: "Linkers"); mold cannot parse SECTIONS, gold
# cannot parse INSERT. Without the fragment nothing is expected: those lines are informational.
expect() { # arch ld layout -> ok | fail
  case "$2" in
    bfd) echo ok;;
    lld) case "$3" in *separate-code*) case "$3" in *noseparate*) echo ok;; *) echo fail;; esac;; *) echo ok;; esac;;
    *) echo fail;;
  esac
}
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
        if [ $ld = gold ] && [[ "$flags" == *separate-code* ]]; then
          continue   # gold has no -z separate-code / noseparate-code
        fi
        if ! $cc -B"$bindir" -O2 -DSL_ABI=2 -I"$sdk/include" -fuse-ld=$ld $flags "$out/client.c" \
             "$sdk/arch/$arch/reservation.S" "${script[@]}" -o "$bin" 2>"$bin.log"; then
          got=fail
          detail="link failed: $(grep -m1 -v '^collect2' "$bin.log" | sed 's|^.*/ld\.gold: ||')"
        elif result=$("$check" --readelf $readelf "$bin" 2 2>&1); then
          got=ok; detail=ok
        else
          got=fail
          detail="bad layout: $(sed "s|$bin: ||" <<<"$result" | paste -sd';')"
        fi
        mark=""
        if [ $fragment = with ]; then
          want=$(expect $arch $ld "$flags")
          if [ $got != "$want" ]; then mark="UNEXPECTED "; fail=1; fi
        fi
        printf '%-8s %-5s %-8s %-22s %s%s\n' $arch $ld $fragment $name "$mark" "$detail"
      done
    done
  done
done
echo "outputs in $out"
exit $fail
