#!/usr/bin/env bash
# tools/quickstart.sh - the main job: install, build, and demonstrate everything medstore has.
#
# At this stage:
#   1. installs the packages (root; --no-deps skips) and builds (build/quickstart)
#   2. runs every sample object of tools/samples through `medstore inspect --pipeline`:
#      detected type, extracted metadata, original and stored size, ratio, verified round trip
#      (object -> 4+2 erasure-coded, compressed, encrypted fragments -> drop two -> object)
#   3. starts a storage node over mutual TLS on 127.0.0.1 and shows a fragment put, a range read
#      and a zero-overwrite delete (tools/demo-node.sh)
# Later issues grow it into the local-cluster demo.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
deps=1
[ "${1:-}" = "--no-deps" ] && deps=0

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

if [ "$deps" = 1 ]; then
  step "installing packages (apt-get)"
  bash tools/deps.sh >/tmp/medstore-deps.log 2>&1 || { tail -30 /tmp/medstore-deps.log; exit 1; }
fi

step "building (meson + ninja, build/quickstart)"
if [ ! -f build/quickstart/build.ninja ]; then
  meson setup build/quickstart -Dtests=false >/dev/null
fi
ninja -C build/quickstart >/dev/null
echo "built: $(ls build/quickstart/tools/ build/quickstart/src/node/ 2>/dev/null | grep -E '^medstore' | sort -u | tr '\n' ' ')"

cli=build/quickstart/tools/medstore
step "codec pipeline on the sample objects (tools/samples)"
echo "each object: detect type, extract metadata, then zstd -> AES-256-GCM -> RS(4+2) -> XXH3"
echo "fragments; two fragments are dropped and the object is rebuilt and compared byte for byte"
fail=0
for f in tools/samples/*; do
  case "$f" in *README.md) continue ;; esac
  echo
  echo "--- $(basename "$f")"
  if ! "$cli" inspect --pipeline "$f"; then
    echo "round trip FAILED for $f" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1

if [ -x tools/demo-node.sh ] && [ -x build/quickstart/src/node/medstore-node ]; then
  step "storage node: fragment put, range read, zero-overwrite delete over mTLS"
  bash tools/demo-node.sh build/quickstart
fi

step "done"
echo "next: tools/check.sh runs the whole test suite; docs/ explains formats and the node"
