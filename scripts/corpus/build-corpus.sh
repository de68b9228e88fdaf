#!/usr/bin/env bash
# Re-create (or verify) the ELF test corpus under corpus/ from pinned Debian
# bookworm packages listed in corpus/manifest.tsv.
#
#   scripts/corpus/build-corpus.sh                  rebuild corpus/<arch>/ and corpus/copyright/,
#                                                   failing (and leaving corpus/ untouched) if any
#                                                   sha256 differs from the manifest
#   scripts/corpus/build-corpus.sh --check          only verify the committed files (offline)
#   scripts/corpus/build-corpus.sh --update-hashes  rebuild and write the new sha256s into the
#                                                   manifest (use after changing a version/row)
#
# Building needs apt-get, dpkg-deb and the foreign architectures enabled:
#   dpkg --add-architecture <arch> && apt-get update
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
CORPUS="$ROOT/corpus"
MANIFEST="$CORPUS/manifest.tsv"
HEADER=$'arch\tpackage\tversion\tpath_in_package\tfile\tsha256\tkind'
KINDS=" pie-exe exe static-exe static-pie shlib interp "

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "build-corpus: $*" >&2; exit 1; }
log() { echo "build-corpus: $*" >&2; }

mode=build
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --update-hashes) mode=update ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

[ -f "$MANIFEST" ] || die "missing $MANIFEST"
[ "$(head -n1 "$MANIFEST")" = "$HEADER" ] || die "unexpected header in $MANIFEST"

# ---- read the manifest -----------------------------------------------------
ROWS=()   # "arch<TAB>package<TAB>version<TAB>path<TAB>file<TAB>sha<TAB>kind"
ARCHES=()
PKGS=()
declare -A seen_file=() seen_arch=() seen_pkg=()
lineno=1
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  [ -z "$line" ] && continue
  case "$line" in \#*) continue ;; esac
  IFS=$'\t' read -r arch pkg ver path file sha kind extra <<<"$line"
  [ -n "${kind:-}" ] && [ -z "${extra:-}" ] || die "manifest line $lineno: expected 7 tab-separated fields"
  case "$file" in "$arch"/*) ;; *) die "manifest line $lineno: file '$file' must be under '$arch/'" ;; esac
  case "$file" in *..* | *//* | */) die "manifest line $lineno: bad file path '$file'" ;; esac
  case "$KINDS" in *" $kind "*) ;; *) die "manifest line $lineno: unknown kind '$kind'" ;; esac
  [ -z "${seen_file[$file]:-}" ] || die "manifest line $lineno: duplicate file '$file'"
  seen_file[$file]=1
  if [ -z "${seen_arch[$arch]:-}" ]; then seen_arch[$arch]=1; ARCHES+=("$arch"); fi
  if [ -z "${seen_pkg[$pkg]:-}" ]; then seen_pkg[$pkg]=1; PKGS+=("$pkg"); fi
  ROWS+=("$line")
done < <(tail -n +2 "$MANIFEST")
[ ${#ROWS[@]} -gt 0 ] || die "manifest has no rows"

# ---- --check: verify committed files only ------------------------------------
if [ "$mode" = check ]; then
  fail=0
  for line in "${ROWS[@]}"; do
    IFS=$'\t' read -r arch pkg ver path file sha kind <<<"$line"
    f="$CORPUS/$file"
    if [ ! -f "$f" ]; then
      echo "MISSING  $file"; fail=1; continue
    fi
    got=$(sha256sum "$f" | cut -d' ' -f1)
    if [ "$got" = "$sha" ]; then
      echo "OK       $file"
    else
      echo "MISMATCH $file (manifest $sha, file $got)"; fail=1
    fi
  done
  for arch in "${ARCHES[@]}"; do
    [ -d "$CORPUS/$arch" ] || continue
    while IFS= read -r -d '' f; do
      rel=${f#"$CORPUS/"}
      [ -n "${seen_file[$rel]:-}" ] || { echo "EXTRA    $rel (not in manifest)"; fail=1; }
    done < <(find "$CORPUS/$arch" -type f -print0)
  done
  for pkg in "${PKGS[@]}"; do
    [ -s "$CORPUS/copyright/$pkg" ] || { echo "MISSING  copyright/$pkg"; fail=1; }
  done
  if [ $fail -eq 0 ]; then
    echo "corpus check: ${#ROWS[@]} files OK"
  else
    echo "corpus check: FAILED" >&2
  fi
  exit $fail
fi

# ---- build / update ------------------------------------------------------------
for tool in apt-get dpkg-deb sha256sum dpkg; do
  command -v "$tool" >/dev/null || die "'$tool' not found (needs a Debian system)"
done
native=$(dpkg --print-architecture)
foreign=" $(dpkg --print-foreign-architectures | tr '\n' ' ') "
for arch in "${ARCHES[@]}"; do
  if [ "$arch" != "$native" ] && [[ "$foreign" != *" $arch "* ]]; then
    die "architecture '$arch' is not enabled: run 'dpkg --add-architecture $arch && apt-get update'"
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/build-corpus.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
STAGE="$WORK/stage"
mkdir -p "$STAGE/copyright"

APT_OPTS=(-q)
# As root apt drops to the _apt user for downloads, which cannot write to our temp dir.
[ "$(id -u)" -eq 0 ] && APT_OPTS+=(-o APT::Sandbox::User=root)

# fetch PKG ARCH VERSION -> prints the directory the .deb was extracted into.
# Each (package, arch, version) is downloaded and extracted only once.
fetch() {
  local pkg=$1 arch=$2 ver=$3
  local key="${pkg}_${ver//:/%3a}_${arch}"
  local dir="$WORK/x/$key" dl="$WORK/dl/$key"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dl"
    log "downloading $pkg:$arch=$ver"
    if ! (cd "$dl" && apt-get download "${APT_OPTS[@]}" "$pkg:$arch=$ver" >&2); then
      die "apt-get download $pkg:$arch=$ver failed (run 'apt-get update'; superseded versions disappear from the mirror - bump the version in the manifest and use --update-hashes)"
    fi
    local debs=("$dl"/*.deb)
    [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || die "expected one .deb for $pkg:$arch=$ver in $dl"
    mkdir -p "$dir.tmp"
    dpkg-deb -x "${debs[0]}" "$dir.tmp"
    cp "${debs[0]}" "$dir.tmp.deb"
    mv "$dir.tmp" "$dir"
    mv "$dir.tmp.deb" "$dir.deb"
  fi
  printf '%s\n' "$dir"
}

# stage_copyright PKG ARCH VERSION DIR: copy /usr/share/doc/PKG/copyright into the stage.
# If the doc dir is a symlink to another package's (e.g. gcc-12 -> gcc-12-base), fetch that
# package at the version PKG depends on (falling back to PKG's own version).
stage_copyright() {
  local pkg=$1 arch=$2 ver=$3 dir=$4
  local out="$STAGE/copyright/$pkg"
  [ -f "$out" ] && return 0
  local doc="$dir/usr/share/doc/$pkg"
  if [ -L "$doc" ]; then
    local target pkg2 ver2 dir2
    target=$(readlink "$doc")
    pkg2=$(basename "$target")
    ver2=$(dpkg-deb -f "$dir.deb" Depends Pre-Depends |
      tr ',' '\n' | sed -n "s/^[[:space:]]*\(Depends: \|Pre-Depends: \)\{0,1\}$pkg2\(:any\)\{0,1\} (= \([^)]*\)).*/\3/p" | head -n1)
    [ -n "$ver2" ] || ver2=$ver
    dir2=$(fetch "$pkg2" "$arch" "$ver2")
    doc="$dir2/usr/share/doc/$pkg2"
  fi
  [ -f "$doc/copyright" ] || die "no copyright file for $pkg ($doc/copyright)"
  cp "$doc/copyright" "$out"
  chmod 0644 "$out"
}

fail=0
NEW_ROWS=()
for line in "${ROWS[@]}"; do
  IFS=$'\t' read -r arch pkg ver path file sha kind <<<"$line"
  dir=$(fetch "$pkg" "$arch" "$ver")
  src="$dir/$path"
  [ -f "$src" ] && [ ! -L "$src" ] || die "$pkg:$arch=$ver has no regular file '$path'"
  [ "$(head -c4 "$src" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || die "$pkg:$arch: '$path' is not an ELF file"
  install -D -m 0644 "$src" "$STAGE/$file"
  got=$(sha256sum "$STAGE/$file" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    if [ "$mode" = update ]; then
      log "updated sha256 of $file"
    else
      log "sha256 MISMATCH for $file: manifest $sha, got $got"
      fail=1
    fi
  fi
  stage_copyright "$pkg" "$arch" "$ver" "$dir"
  NEW_ROWS+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$arch" "$pkg" "$ver" "$path" "$file" "$got" "$kind")")
done

[ $fail -eq 0 ] || die "sha256 mismatches: corpus left unchanged (use --update-hashes if the change is intended)"

# Everything verified: replace the corpus directories with the staged ones.
for arch in "${ARCHES[@]}"; do
  rm -rf "$CORPUS/$arch"
  mv "$STAGE/$arch" "$CORPUS/$arch"
done
rm -rf "$CORPUS/copyright"
mv "$STAGE/copyright" "$CORPUS/copyright"

if [ "$mode" = update ]; then
  { printf '%s\n' "$HEADER"; printf '%s\n' "${NEW_ROWS[@]}"; } >"$WORK/manifest.tsv"
  cat "$WORK/manifest.tsv" >"$MANIFEST"
  log "wrote $MANIFEST"
fi
log "corpus rebuilt: ${#ROWS[@]} files in ${#ARCHES[@]} architectures"
