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
results=$(mktemp)
for f in tools/samples/*; do
  case "$f" in *README.md) continue ;; esac
  echo
  echo "--- $(basename "$f")"
  if ! "$cli" inspect --pipeline "$f" | tee -a "$results"; then
    echo "round trip FAILED for $f" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1
echo
/usr/bin/python3 - "$results" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, rows = json.JSONDecoder(), 0, []
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    rows.append(obj)
print(f"{'type':<12} {'original':>10} {'stored':>10} {'stored/orig':>11}  {'dropped':<8} round trip")
for r in rows:
    p = r.get("pipeline", {})
    print(f"{r['type']:<12} {r['size']:>10} {p.get('storedBytes', 0):>10} {p.get('ratio', 0):>11.3f}"
          f"  {str(p.get('dropped', '')):<8} {p.get('roundTrip', '?')}")
print("stored = all 6 fragments (4 data + 2 parity) after zstd and AES-256-GCM; 1.5x is the EC cost")
PY
rm -f "$results"

if [ -x tools/demo-node.sh ] && [ -x build/quickstart/src/node/medstore-node ]; then
  step "storage node: fragment put, range read, zero-overwrite delete over mTLS"
  bash tools/demo-node.sh build/quickstart
fi

step "done"
echo "next: tools/check.sh runs the whole test suite; docs/ explains formats and the node"
