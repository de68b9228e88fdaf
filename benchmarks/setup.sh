#!/usr/bin/env bash
# What `npm run bench` needs besides syslayer's own build, installed when missing (Debian, as
# root): mmdebstrap builds the rootfs image the first time (rootfs/build-rootfs.sh); pax-utils
# (scanelf), binutils (readelf), patchelf, coreutils (cp), tar and libarchive-tools (bsdtar, the
# peer of tar -> tar rewriting) are the peers; time (GNU time) gives peak RSS and CPU; gzip for
# the .tar.gz rows. Without root or apt-get it only says what is missing: the suite then
# skips the rows of a missing peer, and stops only when it has to build the rootfs without
# mmdebstrap. Arguments name more packages a benchmark needs (`npm run bench:oci`: skopeo, zstd).
set -euo pipefail

packages=(mmdebstrap pax-utils binutils patchelf time tar coreutils libarchive-tools gzip "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "[bench setup] installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[bench setup] missing: ${missing[*]} (apt-get install them as root)" >&2
fi
