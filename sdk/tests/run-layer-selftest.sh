#!/usr/bin/env bash
# Runs the reference layers before any binder exists: links tests/layer-selftest.c statically with
# each prebuilt layer object (sdk/prebuilt/<arch>/layers/*.o), runs it natively on x86-64 and
# under qemu-aarch64, and checks with oracles we did not write:
#   - the program's own checks against libc and the kernel (exit status 0);
#   - every stat line against the `stat` command;
#   - which system calls each slot made, from `strace -f` (x86-64) and `qemu-aarch64 -strace`:
#     linux-3.2 reads /dev/urandom for getrandom and stats with newfstatat; linux-4.11 calls
#     getrandom and statx; exit is exit_group.
# usage: sdk/tests/run-layer-selftest.sh [PREBUILT_DIR]     (needs gcc, aarch64-linux-gnu-gcc,
#        strace, qemu-user)
set -uo pipefail
export LC_ALL=C
sdk=$(cd "$(dirname "$0")/.." && pwd)
prebuilt=${1:-$sdk/prebuilt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
paths=(/ /etc/passwd /usr/bin/env /bin /usr/lib) # not /tmp: the self-test changes it
failed=0
fail() { echo "FAIL $*"; failed=1; }
pass() { echo "ok   $*"; }

# The syscalls each slot made, as "slot<TAB>line", from a strace or qemu -strace log: the
# self-test brackets each slot call with access("/sl-mark/begin/<slot>") and access("/sl-mark/end").
segments() {
  awk '{ pid = $1 }
       match($0, /"\/sl-mark\/begin\/[a-z0-9_]+"/) { seg[pid] = substr($0, RSTART + 16, RLENGTH - 17); next }
       /"\/sl-mark\/end"/ { seg[pid] = ""; next }
       seg[pid] != "" { print seg[pid] "\t" $0 }' "$1"
}

# slot pattern must-or-mustnot: checks every segment of a slot that made system calls.
expect_calls() { # label segfile slot regex yes|no
  local label=$1 file=$2 slot=$3 re=$4 want=$5 lines
  lines=$(awk -F'\t' -v s="$slot" '$1 == s { print $2 }' "$file")
  if [ -z "$lines" ]; then fail "$label: no system calls traced for $slot"; return; fi
  if [ "$want" = yes ]; then
    if grep -qE "$re" <<<"$lines"; then pass "$label: $slot makes $re"; else fail "$label: $slot never makes $re"; fi
  else
    if grep -qE "$re" <<<"$lines"; then fail "$label: $slot makes $re: $(grep -m1 -E "$re" <<<"$lines")"; else pass "$label: $slot never makes $re"; fi
  fi
}

for arch in x86_64 aarch64; do
  case $arch in
    x86_64) cc=gcc; run=(); tracer() { strace -f -qq -o "$1" "${@:2}"; } ;;
    aarch64) cc=aarch64-linux-gnu-gcc; run=(qemu-aarch64); tracer() { qemu-aarch64 -strace -D "$1" "${@:2}"; } ;;
  esac
  for layer in linux-3.2 linux-4.11; do
    label="$arch $layer"
    exe=$work/selftest-$arch-$layer
    if ! $cc -O2 -Wall -Wextra -Werror -static -I"$sdk/include" "$sdk/tests/layer-selftest.c" \
         "$prebuilt/$arch/layers/$layer.o" -o "$exe" 2>"$exe.log"; then
      fail "$label: cannot link the self-test: $(head -3 "$exe.log")"; continue
    fi
    "${run[@]}" "$exe" "${paths[@]}" >"$exe.out" 2>&1
    status=$?
    if [ $status -eq 0 ]; then
      pass "$label: self-test, $(grep -c '^ok ' "$exe.out") checks against libc and the kernel"
    else
      fail "$label: self-test exit $status"; grep -v '^ok ' "$exe.out"
    fi

    for path in "${paths[@]}"; do
      read -r d i f h u g s y < <(stat -L -c '%d %i %f %h %u %g %s %Y' "$path")
      mode=$(printf '%o' "0x$f")
      want2="stat2: $path: dev=$d ino=$i mode=$mode nlink=$h uid=$u gid=$g size=$s mtime=$y."
      want1="stat1: $path: dev=$d ino=$i mode=$mode nlink=$h uid=$u gid=$g size=$s mtime=$y"
      if grep -qF "ok   $want2" "$exe.out" && grep -qxF "ok   $want1" "$exe.out"; then
        pass "$label: stat1 and stat2 of $path agree with stat(1)"
      else
        fail "$label: stat of $path: stat(1) says dev=$d ino=$i mode=$mode nlink=$h uid=$u gid=$g size=$s mtime=$y"
        grep -E "stat[12]: $path:" "$exe.out"
      fi
    done

    tracer "$exe.trace" "$exe" / >/dev/null 2>&1
    segments "$exe.trace" >"$exe.seg"
    if [ $layer = linux-3.2 ]; then
      expect_calls "$label" "$exe.seg" getrandom 'openat\(AT_FDCWD, ?"/dev/urandom", ?O_RDONLY\|O_CLOEXEC\)' yes
      expect_calls "$label" "$exe.seg" getrandom 'getrandom\(' no
      for slot in stat1 stat2; do
        expect_calls "$label" "$exe.seg" $slot 'newfstatat\(AT_FDCWD, ?"/"' yes
        expect_calls "$label" "$exe.seg" $slot 'statx\(' no
      done
    else
      expect_calls "$label" "$exe.seg" getrandom 'getrandom\(' yes
      expect_calls "$label" "$exe.seg" getrandom 'urandom' no
      for slot in stat1 stat2; do
        expect_calls "$label" "$exe.seg" $slot 'statx\(AT_FDCWD, ?"/", ?(AT_STATX_SYNC_AS_STAT|0), ?STATX_BASIC_STATS' yes
        expect_calls "$label" "$exe.seg" $slot 'newfstatat\(' no
      done
    fi
    expect_calls "$label" "$exe.seg" exit 'exit_group\(37\)' yes
    expect_calls "$label" "$exe.seg" open 'openat\(AT_FDCWD' yes
    expect_calls "$label" "$exe.seg" clock_gettime 'clock_gettime\(CLOCK_MONOTONIC' yes
    expect_calls "$label" "$exe.seg" mmap 'mmap\(' yes
  done
done
[ $failed -eq 0 ] && echo "all layer self-tests passed" || echo "some layer self-tests FAILED"
exit $failed
