#!/usr/bin/env bash
# Checks the layout of an unbound syslayer client with readelf (the oracle), as docs/abi.md asks:
#   .syslayer: NOBITS, flags AX (never W), sh_addralign >= 4096, page-aligned address and size;
#   exactly one PT_LOAD covers it, and it covers nothing else: p_vaddr = sh_addr,
#   p_memsz = sh_size, p_filesz = 0, flags R E; no PT_LOAD is both writable and executable;
#   the NT_SYSLAYER_ABI note says the expected ABI.
# usage: check-client-layout.sh [--readelf PROG] FILE [ABI]
# Prints "ok FILE ..." or one line per problem, and exits 1 on any problem.
set -euo pipefail
readelf=readelf
if [ "${1:-}" = --readelf ]; then readelf=$2; shift 2; fi
file=$1
want_abi=${2:-}
problems=()
problem() { problems+=("$file: $*"); }

hex() { printf '%d' "0x${1#0x}"; }

# Section header: [Nr] Name Type Address Off Size ES Flg Lk Inf Al (Flg may be empty: not here).
sec=$(LC_ALL=C $readelf -SW "$file" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1 == ".syslayer"')
if [ -z "$sec" ]; then
  echo "$file: no .syslayer section"; exit 1
fi
read -r _ s_type s_addr s_off s_size _ s_flags _ _ s_align <<<"$sec"
s_addr=$(hex "$s_addr"); s_size=$(hex "$s_size")
[ "$s_type" = NOBITS ] || problem ".syslayer is $s_type, not NOBITS"
case "$s_flags" in *W*) problem ".syslayer is writable ($s_flags)";; esac
case "$s_flags" in *A*X*|*X*A*) ;; *) problem ".syslayer flags $s_flags, want AX";; esac
[ "$s_align" -ge 4096 ] || problem ".syslayer sh_addralign $s_align < 4096"
[ $((s_addr % 4096)) -eq 0 ] || problem ".syslayer sh_addr $s_addr not page-aligned"
[ "$s_size" -gt 0 ] && [ $((s_size % 4096)) -eq 0 ] || problem ".syslayer sh_size $s_size not a positive multiple of 4096"

# Program headers: LOAD Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align; Flg is "R E", "RW ".
covering=0
while read -r _ p_off p_vaddr _ p_filesz p_memsz rest; do
  flags=$(sed 's/ *0x[0-9a-f]*$//' <<<"$rest")
  flags=${flags// /}
  p_vaddr=$(hex "$p_vaddr"); p_filesz=$(hex "$p_filesz"); p_memsz=$(hex "$p_memsz")
  case "$flags" in *W*E*) problem "PT_LOAD at $(printf 0x%x "$p_vaddr") is writable and executable ($flags)";; esac
  if [ $((p_vaddr < s_addr + s_size && s_addr < p_vaddr + p_memsz)) -eq 1 ]; then
    covering=$((covering + 1))
    [ "$p_vaddr" -eq "$s_addr" ] || problem "reservation PT_LOAD p_vaddr $(printf 0x%x "$p_vaddr") != sh_addr $(printf 0x%x "$s_addr")"
    [ "$p_memsz" -eq "$s_size" ] || problem "reservation PT_LOAD p_memsz $(printf 0x%x "$p_memsz") != sh_size $(printf 0x%x "$s_size")"
    [ "$p_filesz" -eq 0 ] || problem "reservation PT_LOAD p_filesz $(printf 0x%x "$p_filesz") != 0"
    [ "$flags" = RE ] || problem "reservation PT_LOAD flags $flags, want R E"
  fi
done < <(LC_ALL=C $readelf -lW "$file" | awk '$1 == "LOAD"')
[ "$covering" -eq 1 ] || problem "$covering PT_LOADs overlap the reservation, want 1"

# NT_SYSLAYER_ABI, read from the section bytes: readelf -n does not know the owner and would
# print type 1 as NT_VERSION.
note=$(LC_ALL=C $readelf -x .note.syslayer "$file" 2>/dev/null | sed -n 's/^  0x[0-9a-f]* //p' | cut -c1-35 | tr -d ' \n')
# namesz 9, descsz 8, type 1, "syslayer\0" + 3 pad, abi, flags (little-endian bytes).
abi=""
if [[ "$note" =~ ^0900000008000000010000007379736c6179657200000000 ]]; then
  abi=$((16#${note:54:2}${note:52:2}${note:50:2}${note:48:2}))
  flags=$((16#${note:62:2}${note:60:2}${note:58:2}${note:56:2}))
  [ "$flags" -eq 0 ] || problem "NT_SYSLAYER_ABI flags $flags, want 0"
else
  problem "no NT_SYSLAYER_ABI note first in .note.syslayer"
fi
if [ -n "$want_abi" ] && [ "$abi" != "$want_abi" ]; then problem "NT_SYSLAYER_ABI abi $abi, want $want_abi"; fi

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}"
  exit 1
fi
printf 'ok %s: .syslayer at 0x%x size 0x%x, own PT_LOAD R E, abi %s\n' "$file" "$s_addr" "$s_size" "$abi"
