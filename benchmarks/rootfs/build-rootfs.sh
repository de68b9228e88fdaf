#!/usr/bin/env bash
# Build (once) a Debian bookworm amd64 root file system used as a realistic
# benchmark / oracle corpus for syslayer.
#
#   benchmarks/rootfs/build-rootfs.sh            # build if missing, print path
#   SYSLAYER_CACHE=/work/cache benchmarks/rootfs/build-rootfs.sh
#
# Output (outside the repo):
#   $CACHE/rootfs-bookworm/        the unpacked root file system
#   $CACHE/rootfs-bookworm.tar     a tarball of it (numeric owners, xattrs)
#   $CACHE/rootfs-bookworm.stamp   written last; holds the build parameters and
#                                  package list. If it matches, nothing is done.
#
# The build happens in a temporary directory beside the final one and is
# renamed into place at the end, so an interrupted build never leaves a
# half-built cache behind.
#
# Environment:
#   SYSLAYER_CACHE                  cache root (default ~/.cache/syslayer)
#   SYSLAYER_DEBIAN_MIRROR          Debian mirror URI (default: from apt sources)
#   SYSLAYER_DEBIAN_SECURITY_MIRROR security mirror URI (default: from apt sources)
#   SYSLAYER_ROOTFS_SECURITY=0      do not use bookworm-security / -updates
#   SYSLAYER_ROOTFS_MODE            mmdebstrap --mode (default: root)
#   SYSLAYER_ROOTFS_FORCE=1         rebuild even if the stamp matches
#
# Requirements: root, mmdebstrap, tar. The last line of stdout is the rootfs path;
# all progress goes to stderr.
set -euo pipefail

SUITE=bookworm
ARCH=amd64
VARIANT=minbase
PACKAGES=(coreutils bash python3 perl openssl curl git systemd)

CACHE="${SYSLAYER_CACHE:-$HOME/.cache/syslayer}"
NAME="rootfs-$SUITE"
MODE="${SYSLAYER_ROOTFS_MODE:-root}"
USE_SECURITY="${SYSLAYER_ROOTFS_SECURITY:-1}"

log() { printf '[build-rootfs] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Find the URI of a Debian repository that serves SUITE in the configured apt
# sources (both one-line *.list and deb822 *.sources formats).
find_mirror() {
    local want="$1" f
    local files=()
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    for f in "${files[@]}"; do
        if [[ "$f" == *.sources ]]; then
            awk -v want="$want" '
                function flush() {
                    if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                        n = split(suites, s, " ")
                        for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, " "); print u[1]; exit }
                    }
                    types = ""; suites = ""; uris = ""; enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                { line = $0; key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val) }
                key == "types"   { types = val }
                key == "suites"  { suites = val }
                key == "uris"    { uris = val }
                key == "enabled" { enabled = tolower(val) }
                END { flush() }
            ' "$f"
        else
            awk -v want="$want" '
                /^[ \t]*#/ { next }
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == want) { print $i; exit }
                }
            ' "$f"
        fi
    done | head -n1
}

[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap --mode=$MODE)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not installed (apt-get install mmdebstrap)"

MIRROR="${SYSLAYER_DEBIAN_MIRROR:-$(find_mirror "$SUITE")}"
[[ -n "$MIRROR" ]] || die "no apt source for $SUITE in this machine's configuration: set SYSLAYER_DEBIAN_MIRROR"
SOURCES=("deb $MIRROR $SUITE main")
if [[ "$USE_SECURITY" != 0 ]]; then
    SOURCES+=("deb $MIRROR $SUITE-updates main")
    SEC_MIRROR="${SYSLAYER_DEBIAN_SECURITY_MIRROR:-$(find_mirror "$SUITE-security")}"
    [[ -n "$SEC_MIRROR" ]] || die "no apt source for $SUITE-security in this machine's configuration: set SYSLAYER_DEBIAN_SECURITY_MIRROR (or SYSLAYER_ROOTFS_SECURITY=0)"
    SOURCES+=("deb $SEC_MIRROR $SUITE-security main")
fi

FINAL="$CACHE/$NAME"
TARBALL="$CACHE/$NAME.tar"
STAMP="$CACHE/$NAME.stamp"

# The stamp describes what was built; any difference triggers a rebuild.
# Mirrors are deliberately not part of it (same content from any mirror).
expected_stamp() {
    printf 'suite=%s\narch=%s\nvariant=%s\nsecurity=%s\n' "$SUITE" "$ARCH" "$VARIANT" "$USE_SECURITY"
    printf 'packages=%s\n' "$(printf '%s\n' "${PACKAGES[@]}" | sort | paste -sd, -)"
}

stamp_ok() {
    [[ -f "$STAMP" && -d "$FINAL" && -f "$TARBALL" ]] || return 1
    # The stamp holds the parameters followed by the installed package list.
    local want
    want="$(expected_stamp)"
    [[ "$(head -n "$(wc -l <<<"$want")" "$STAMP")" == "$want" ]]
}

mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd -P)"
FINAL="$CACHE/$NAME"; TARBALL="$CACHE/$NAME.tar"; STAMP="$CACHE/$NAME.stamp"

# Serialise concurrent invocations on the same cache.
exec 9>"$CACHE/.$NAME.lock"
flock 9

if [[ "${SYSLAYER_ROOTFS_FORCE:-0}" != 1 ]] && stamp_ok; then
    log "up to date: $FINAL"
    printf '%s\n' "$FINAL"
    exit 0
fi

TMP="$(mktemp -d "$CACHE/.$NAME.tmp.XXXXXX")"
cleanup() {
    # --one-file-system: never descend into a mount left behind (/proc, /dev ...)
    [[ -n "${TMP:-}" && -d "$TMP" ]] && rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
chmod 755 "$TMP"   # apt's _apt user must be able to reach the download dir
trap 'exit 130' INT TERM

log "building $SUITE/$ARCH ($VARIANT + ${PACKAGES[*]}) in $TMP (mode=$MODE)"
for s in "${SOURCES[@]}"; do log "  source: $s"; done
start=$SECONDS

sources_file="$TMP/sources.list"
printf '%s\n' "${SOURCES[@]}" >"$sources_file"
mkdir "$TMP/root"

mmdebstrap \
    --mode="$MODE" \
    --variant="$VARIANT" \
    --architectures="$ARCH" \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --aptopt='Acquire::Retries "5"' \
    --aptopt='Acquire::Languages "none"' \
    --customize-hook='dpkg-query --admindir="$1/var/lib/dpkg" -W -f="\${Package}\t\${Version}\n" > "$1.packages"' \
    "$SUITE" "$TMP/root" "$sources_file" >&2

# mmdebstrap points /etc/resolv.conf etc. at the host's during the build and
# cleans up afterwards; nothing else to fix up here.
log "writing tarball"
tar --numeric-owner --xattrs --xattrs-include='*' --acls --one-file-system \
    -C "$TMP/root" -cf "$TMP/root.tar" .

# Swap into place: remove any stale (unstamped) result first.
rm -f "$STAMP"
[[ -e "$FINAL" ]] && rm -rf --one-file-system "$FINAL"
rm -f "$TARBALL"
mv -T "$TMP/root" "$FINAL"
mv -T "$TMP/root.tar" "$TARBALL"
{ expected_stamp; echo "# installed packages"; sort "$TMP/root.packages"; } >"$TMP/stamp"
mv -T "$TMP/stamp" "$STAMP"
sync -f "$CACHE" 2>/dev/null || true

log "done in $((SECONDS - start))s: $FINAL ($(du -sh "$FINAL" | cut -f1)), $TARBALL"
printf '%s\n' "$FINAL"
