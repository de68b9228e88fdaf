#!/usr/bin/env bash
# The committed fixtures are what their sources and manifests say, checked before the tests run
# (`npm test`): the Debian corpus against corpus/manifest.tsv (sha256 of every file, offline), and
# sdk/prebuilt and sdk/include/syslayer.h against a rebuild from source. These are checks of the
# fixtures, not of syslayer, so they fail here, loudly, rather than as a test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/corpus/build-corpus.sh" --check >/dev/null
bash "$root/sdk/build.sh" --check
