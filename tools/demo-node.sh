#!/usr/bin/env bash
# tools/demo-node.sh BUILD_DIR - a storage node demo on 127.0.0.1 with mutual TLS:
#   1. a throw-away cluster CA, certificates (node-1, meta, alice) and a token signing key
#      (medstore-ca), all in a temporary directory;
#   2. medstore-node started on a free port;
#   3. a sample object encoded by the codec (segments, zstd, AES-256-GCM, RS 4+2, XXH3
#      records) and its six fragments put to the node (capability token per fragment);
#   4. a byte-range read and a segment-range read of fragment 0, compared with the local copy;
#   5. a zero-overwrite delete of fragment 0 while a hard link keeps its file: the link then
#      holds the same number of bytes, all zero;
#   6. the node stopped with SIGTERM (drain, exit 0).
# Needs a built tree (meson + ninja) with bench enabled (default): BUILD_DIR/src/node/
# medstore-node, BUILD_DIR/tools/medstore-ca, BUILD_DIR/bench/node/medstore-nodectl.
set -euo pipefail

build=${1:-build/quickstart}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$build" ] || build=$root/$build
node=$build/src/node/medstore-node
ca=$build/tools/medstore-ca
ctl=$build/bench/node/medstore-nodectl
for b in "$node" "$ca" "$ctl"; do
  [ -x "$b" ] || { echo "demo-node.sh: $b not built (meson setup + ninja first)" >&2; exit 1; }
done
sample=${MEDSTORE_DEMO_SAMPLE:-$root/tools/samples/CT_small.dcm}

work=$(mktemp -d /tmp/medstore-demo.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '  %s\n' "$*"; }

echo "-- 1. cluster CA, certificates and token key (medstore-ca) in $work/pki"
"$ca" init --dir "$work/pki" >/dev/null
"$ca" issue --dir "$work/pki" --cn node-1 --ip 127.0.0.1 --dns localhost >/dev/null
"$ca" issue --dir "$work/pki" --cn meta --ip 127.0.0.1 >/dev/null
"$ca" issue --dir "$work/pki" --cn alice >/dev/null
pubkey=$("$ca" token-key --dir "$work/pki" --key-id 1 | grep '^token_pubkey')
say "CA, node-1, meta (service principal), alice (a user), token key 1"

port=$(/usr/bin/python3 -c \
  'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/node.conf" <<CONF
node_id = 1
rack = rack-a
data_dir = $work/data
listen = 127.0.0.1:$port
tls_ca = $work/pki/ca.crt
tls_cert = $work/pki/node-1.crt
tls_key = $work/pki/node-1.key
service_principal = meta
$pubkey
CONF

echo "-- 2. medstore-node on 127.0.0.1:$port (mutual TLS)"
"$node" --config "$work/node.conf" 2>"$work/node.log" &
pid=$!
for _ in $(seq 1 200); do
  grep -q 'event=listening' "$work/node.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/node.log" >&2; exit 1; }
  sleep 0.05
done
grep -q 'event=listening' "$work/node.log" || { cat "$work/node.log" >&2; exit 1; }
say "$(grep -o 'event=listening.*' "$work/node.log")"

common=(--target "127.0.0.1:$port" --pki "$work/pki" --node 1)
oid=$(/usr/bin/python3 -c 'import os; print(os.urandom(16).hex())')

echo "-- 3. put $(basename "$sample") as object $oid"
mkdir "$work/local"
"$ctl" put "${common[@]}" --as alice --object "$oid" --file "$sample" --save "$work/local" \
  | sed 's/^/  /'
"$ctl" info "${common[@]}" --as meta | sed 's/^/  /'

echo "-- 4. range reads of fragment 0"
"$ctl" get "${common[@]}" --as alice --object "$oid" --frag 0 --bytes 100:2000 \
  --out "$work/range.bin" | sed 's/^/  /'
expect() { dd if="$work/local/frag.0" bs=1 skip="$1" count="$2" 2>/dev/null; }
if cmp -s "$work/range.bin" <(expect 100 2000); then
  say "bytes 100..2099 equal the local fragment"
else
  echo "demo-node.sh: byte range differs" >&2; exit 1
fi
"$ctl" get "${common[@]}" --as alice --object "$oid" --frag 0 --segments 0:1 \
  --out "$work/seg.bin" | sed 's/^/  /'
seglen=$(stat -c %s "$work/seg.bin")
if cmp -s "$work/seg.bin" <(expect 128 "$seglen"); then
  say "segment 0 = the shard record right after the 128-byte header of the local fragment"
else
  echo "demo-node.sh: segment range differs" >&2; exit 1
fi

echo "-- 5. zero-overwrite delete of fragment 0 (a hard link keeps its file)"
file=$(find "$work/data/frags" -name "$oid.0")
ln "$file" "$work/kept-link"
size=$(stat -c %s "$work/kept-link")
say "before: $file, $size bytes, $(tr -d '\0' <"$work/kept-link" | wc -c) non-zero bytes"
"$ctl" delete "${common[@]}" --as alice --object "$oid" --frag 0 | sed 's/^/  /'
[ ! -e "$file" ] || { echo "demo-node.sh: file still there" >&2; exit 1; }
nonzero=$(tr -d '\0' <"$work/kept-link" | wc -c)
say "after: the file is unlinked; the hard link still has" \
  "$(stat -c %s "$work/kept-link") bytes, $nonzero non-zero"
[ "$nonzero" = 0 ] || { echo "demo-node.sh: deleted bytes are not all zero" >&2; exit 1; }

echo "-- 6. SIGTERM: drain and stop"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
say "medstore-node exited with status $rc; $(grep -o 'event=stopped.*' "$work/node.log")"
[ "$rc" = 0 ]
