#!/usr/bin/env bash
# Checks a layer object with readelf (the oracle) against docs/abi.md, "Layer objects":
#   ET_REL, ELF64 little-endian, x86-64 or AArch64; an NT_SYSLAYER_LAYER note in .note.syslayer;
#   no SHF_WRITE or SHF_TLS section; no undefined symbol; only the relocation types the binder
#   applies; with --all-slots, a global function sl_<name> for every slot name of
#   sdk/include/syslayer.h (a layer may leave slots out: they answer -ENOSYS).
# usage: check-layer.sh [--all-slots] FILE.o
# Prints "ok FILE: <name> abi <min>..<max> kernel <a.b.c> revision <r>" or one line per problem.
set -euo pipefail
all_slots=no
if [ "${1:-}" = --all-slots ]; then all_slots=yes; shift; fi
file=$1
sdk=$(cd "$(dirname "$0")/.." && pwd)
problems=()
problem() { problems+=("$file: $*"); }

header=$(LC_ALL=C readelf -hW "$file")
grep -q 'Class: *ELF64' <<<"$header" || problem "not ELF64"
grep -q "Data: *2's complement, little endian" <<<"$header" || problem "not little-endian"
grep -q 'Type: *REL ' <<<"$header" || problem "not ET_REL"
machine=$(sed -n 's/^ *Machine: *//p' <<<"$header")
case "$machine" in
  "Advanced Micro Devices X86-64")
    allowed="R_X86_64_PC32 R_X86_64_PLT32 R_X86_64_PC64 R_X86_64_GOTPCREL R_X86_64_GOTPCRELX R_X86_64_REX_GOTPCRELX";;
  AArch64)
    allowed="R_AARCH64_CALL26 R_AARCH64_JUMP26 R_AARCH64_CONDBR19 R_AARCH64_TSTBR14 R_AARCH64_ADR_PREL_LO21
      R_AARCH64_ADR_PREL_PG_HI21 R_AARCH64_ADR_PREL_PG_HI21_NC R_AARCH64_ADD_ABS_LO12_NC
      R_AARCH64_LDST8_ABS_LO12_NC R_AARCH64_LDST16_ABS_LO12_NC R_AARCH64_LDST32_ABS_LO12_NC
      R_AARCH64_LDST64_ABS_LO12_NC R_AARCH64_LDST128_ABS_LO12_NC R_AARCH64_ADR_GOT_PAGE
      R_AARCH64_LD64_GOT_LO12_NC R_AARCH64_PREL32 R_AARCH64_PREL64";;
  *) problem "machine $machine: not x86-64 or AArch64"; allowed="";;
esac

# Sections: [Nr] Name Type Address Off Size ES Flg Lk Inf Al; Flg is absent when there are none.
while read -r name type _ _ size _ seventh _; do
  flags=""; [[ "$seventh" =~ ^[A-Za-z]+$ ]] && flags=$seventh
  case "$flags" in *W*) problem "section $name is writable ($type, flags $flags, size 0x$size)";; esac
  case "$flags" in *T*) problem "section $name is TLS ($type, flags $flags)";; esac
done < <(LC_ALL=C readelf -SW "$file" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk 'NF >= 9')

# Relocations: Offset Info Type Symbol...; names the section they apply to.
section=""
while read -r line; do
  if [[ "$line" =~ ^Relocation\ section\ \'([^\']*)\'\ at\ offset ]]; then section=${BASH_REMATCH[1]}; continue; fi
  read -r offset _ type sym <<<"$line"
  [[ "$type" == R_* ]] || continue
  [[ " $(echo $allowed) " == *" $type "* ]] || problem "$section offset 0x$offset: relocation $type (${sym:-no symbol}) is not one the binder applies"
done < <(LC_ALL=C readelf -rW "$file")

# Symbols: Num: Value Size Type Bind Vis Ndx Name
symbols=$(LC_ALL=C readelf -sW "$file" | awk '$1 ~ /^[0-9]+:$/')
while read -r num _ _ _ _ _ ndx name; do
  [ "$num" = "0:" ] && continue
  [ "$ndx" = UND ] && problem "undefined symbol ${name:-?}"
done <<<"$symbols"
missing=()
for fn in $(sed -n 's/^long \(sl_[a-z0-9_]*\)(.*/\1/p' "$sdk/include/syslayer.h"); do
  awk -v f="$fn" '$4 == "FUNC" && $5 == "GLOBAL" && $7 != "UND" && $8 == f { found = 1 } END { exit !found }' \
    <<<"$symbols" || missing+=("$fn")
done
[ $all_slots = no ] || [ ${#missing[@]} -eq 0 ] || problem "no global function ${missing[*]}"

# NT_SYSLAYER_LAYER, from the section bytes: readelf -n does not know the owner.
hexbytes=$(LC_ALL=C readelf -x .note.syslayer "$file" 2>/dev/null | sed -n 's/^  0x[0-9a-f]* //p' | cut -c1-35 | tr -d ' \n')
u32() { local h=${hexbytes:$1:8}; echo $((16#${h:6:2}${h:4:2}${h:2:2}${h:0:2})); }
summary=""
if [[ "$hexbytes" =~ ^09000000([0-9a-f]{8})020000007379736c6179657200000000 ]]; then
  descsz=$(u32 8)
  abi_min=$(u32 48); abi_max=$(u32 56); kernel=$(u32 64); revision=$(u32 72)
  name_hex=${hexbytes:80:$(((descsz - 16) * 2))}
  name=$(printf '%b' "$(sed 's/\(..\)/\\x\1/g' <<<"$name_hex")" | tr -d '\0')
  [ "$descsz" -gt 16 ] && [ "${name_hex: -2}" = 00 ] || problem "NT_SYSLAYER_LAYER name is not NUL-terminated within descsz $descsz"
  [ "$abi_min" -ge 1 ] && [ "$abi_min" -le "$abi_max" ] || problem "NT_SYSLAYER_LAYER abi range $abi_min..$abi_max"
  summary="$name abi $abi_min..$abi_max kernel $((kernel >> 16)).$(((kernel >> 8) & 255)).$((kernel & 255)) revision $revision"
else
  problem "no NT_SYSLAYER_LAYER note first in .note.syslayer"
fi

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}"
  exit 1
fi
echo "ok $file: $summary${missing:+, without ${missing[*]}}"
