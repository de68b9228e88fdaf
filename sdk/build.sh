#!/usr/bin/env bash
# Rebuilds the SDK's prebuilt fixtures from source, byte-identically, with Debian 12's gcc and
# cross gcc (gcc, gcc-aarch64-linux-gnu, binutils):
#
#   sdk/prebuilt/<arch>/layers/linux-3.2.o, linux-4.11.o   reference layers (ET_REL)
#   sdk/prebuilt/<arch>/bin/abi1-demo, abi2-demo, mixed-main   unbound clients (PIE, GNU ld)
#   sdk/prebuilt/<arch>/lib/libmixed1.so                   unbound ABI 1 library for mixed-main
#   sdk/prebuilt/SHA256SUMS
#
# for <arch> = x86_64 and aarch64. Every output is checked with readelf (tests/check-layer.sh,
# tests/check-client-layout.sh) before it is kept.
#
#   sdk/build.sh            rebuild sdk/prebuilt/
#   sdk/build.sh --check    rebuild into a temporary directory and compare with sdk/prebuilt/
#                           (exit 1 on any difference); also check that sdk/include/syslayer.h
#                           is what scripts/gen-sdk-header.mjs generates from data/abi.json
#   sdk/build.sh --out DIR  rebuild into DIR instead
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022

sdk=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$sdk")
mode=build
out=$sdk/prebuilt
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --out) out=${2:?--out needs a directory}; mkdir -p "$out"; out=$(cd "$out" && pwd) ;;
  *) echo "usage: sdk/build.sh [--check | --out DIR]" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $mode = check ]; then out=$work/prebuilt; fi

# Sources are named relative to sdk/ and -ffile-prefix-map maps the absolute directory away, so
# no path of this machine ends up in an output.
cd "$sdk"
common_cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror "-ffile-prefix-map=$sdk=." -Iinclude)

# Layers: freestanding, position-independent, no writable data, nothing undefined, and no code
# that would need an unwind table, a stack-protector canary (TLS), a jump table (absolute
# addresses in .rodata) or a memset/memcpy gcc invents for a loop.
layer_cflags=("${common_cflags[@]}" -ffreestanding -nostdlib -fPIC -fvisibility=hidden
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-builtin
  -fno-jump-tables -fno-tree-loop-distribute-patterns)

# Clients: ordinary PIE programs and a shared library, linked by GNU ld with the fragment that
# gives the reservation its own R+X segment.
client_cflags=("${common_cflags[@]}" -Iexamples)
client_ldflags=(-Wl,-T,ld/syslayer.ld -Wl,--build-id=sha1)

log() { printf '%s\n' "$*" >&2; }
step() { [ $mode = check ] || log "$@"; }

# gas always emits .data and .bss, empty here; a layer must have no writable section at all, so
# drop them, after checking that they are empty (a non-empty one is a bug in the layer source).
drop_empty_writable() { # objcopy file
  local objcopy=$1 file=$2 name size
  while read -r name size; do
    if [ $((16#$size)) -ne 0 ]; then
      log "error: $file: writable section $name has 0x$size bytes: a layer must not have writable data"
      exit 1
    fi
  done < <(readelf -SW "$file" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1 == ".data" || $1 == ".bss" { print $1, $5 }')
  "$objcopy" -R .data -R .bss "$file"
}

build_arch() { # arch
  local arch=$1 cc objcopy arch_layer_cflags
  case $arch in
    x86_64) cc=gcc; objcopy=objcopy; arch_layer_cflags=(-fcf-protection=none) ;;
    aarch64) cc=aarch64-linux-gnu-gcc; objcopy=aarch64-linux-gnu-objcopy
      arch_layer_cflags=(-mno-outline-atomics -mbranch-protection=none) ;;
  esac
  local dest=$out/$arch obj=$work/obj/$arch
  mkdir -p "$dest/layers" "$dest/bin" "$dest/lib" "$obj"

  for layer in linux-3.2 linux-4.11; do
    step "$arch: layers/$layer.o"
    "$cc" "${layer_cflags[@]}" "${arch_layer_cflags[@]}" -c "layers/$layer.c" -o "$obj/$layer.o"
    drop_empty_writable "$objcopy" "$obj/$layer.o"
    tests/check-layer.sh --all-slots "$obj/$layer.o" >/dev/null || { tests/check-layer.sh --all-slots "$obj/$layer.o"; exit 1; }
    cp "$obj/$layer.o" "$dest/layers/$layer.o"
  done

  for abi in 1 2; do
    "$cc" "${common_cflags[@]}" -DSL_ABI=$abi -c "arch/$arch/reservation.S" -o "$obj/reservation-abi$abi.o"
  done
  step "$arch: lib/libmixed1.so"
  "$cc" "${client_cflags[@]}" -DSL_ABI=1 -fPIC -fvisibility=hidden -c examples/mixed-lib.c -o "$obj/mixed-lib.o"
  "$cc" -shared "$obj/mixed-lib.o" "$obj/reservation-abi1.o" "${client_ldflags[@]}" \
    -Wl,-soname,libmixed1.so -o "$dest/lib/libmixed1.so"

  for demo in abi1-demo abi2-demo; do
    step "$arch: bin/$demo"
    local abi=${demo:3:1}
    "$cc" "${client_cflags[@]}" -DSL_ABI="$abi" -fPIE -c "examples/$demo.c" -o "$obj/$demo.o"
    "$cc" -pie "$obj/$demo.o" "$obj/reservation-abi$abi.o" "${client_ldflags[@]}" -o "$dest/bin/$demo"
  done

  step "$arch: bin/mixed-main"
  "$cc" "${client_cflags[@]}" -DSL_ABI=2 -fPIE -c examples/mixed-main.c -o "$obj/mixed-main.o"
  "$cc" -pie "$obj/mixed-main.o" "$obj/reservation-abi2.o" "${client_ldflags[@]}" \
    -L"$dest/lib" -lmixed1 -Wl,-rpath,'$ORIGIN/../lib' -Wl,--enable-new-dtags -o "$dest/bin/mixed-main"

  local f
  for f in bin/abi1-demo:1 bin/abi2-demo:2 bin/mixed-main:2 lib/libmixed1.so:1; do
    tests/check-client-layout.sh "$dest/${f%%:*}" "${f##*:}" >/dev/null ||
      { tests/check-client-layout.sh "$dest/${f%%:*}" "${f##*:}"; exit 1; }
  done
}

for arch in x86_64 aarch64; do build_arch $arch; done
(cd "$out" && find x86_64 aarch64 -type f | sort | xargs sha256sum) > "$out/SHA256SUMS"

if [ $mode = build ]; then
  log "built $out:"
  cat "$out/SHA256SUMS" >&2
  exit 0
fi

status=0
node "$root/scripts/gen-sdk-header.mjs" --check || status=1
committed=$sdk/prebuilt
if ! diff <(cd "$committed" 2>/dev/null && find . -type f | sort) <(cd "$out" && find . -type f | sort) >&2; then
  log "sdk/prebuilt: the list of files differs from a rebuild (< committed, > rebuilt)"
  status=1
fi
while read -r _ file; do
  if ! cmp -s "$committed/$file" "$out/$file"; then
    log "sdk/prebuilt/$file differs from a rebuild from source"
    status=1
  fi
done < "$out/SHA256SUMS"
cmp -s "$committed/SHA256SUMS" "$out/SHA256SUMS" || { log "sdk/prebuilt/SHA256SUMS differs from a rebuild"; status=1; }
[ $status -eq 0 ] && log "sdk/prebuilt matches a rebuild from source, and sdk/include/syslayer.h matches data/abi.json"
exit $status
