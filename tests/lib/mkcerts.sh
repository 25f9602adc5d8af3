#!/usr/bin/env bash
# tests/lib/mkcerts.sh - makes a throw-away PKI for integration tests with the built medstore-ca.
#
#   tests/lib/mkcerts.sh OUTDIR
#
# medstore-ca is taken from $MEDSTORE_CA, else $MEDSTORE_BUILD_ROOT/tools/medstore-ca (meson
# test sets MEDSTORE_BUILD_ROOT). OUTDIR must not exist yet or be empty. Creates:
#
#   OUTDIR/ca/ca.{key,crt}              the cluster CA
#   OUTDIR/ca/node-<id>.{key,crt}       nodes (ids from $MKCERTS_NODES, default "1"):
#                                       SANs localhost, 127.0.0.1, ::1
#   OUTDIR/ca/meta.{key,crt}            the metadata service (same SANs)
#   OUTDIR/ca/scrubber.{key,crt}        a service principal
#   OUTDIR/ca/alice.{key,crt}           a user
#   OUTDIR/ca/mallory.{key,crt}         a user whose DNS SANs name other principals
#                                       ("scrubber", "meta"): must be authorised by CN only
#   OUTDIR/ca/token-1.{key,pub}         the token signing key (key id 1)
#   OUTDIR/token_pubkey.conf            its node config line: token_pubkey = 1:<base64>
#   OUTDIR/rogue/ca.{key,crt}           a rogue CA with the same name as the cluster CA
#   OUTDIR/rogue/node-1, alice, scrubber  rogue certificates for real principal names
#
# Keys are mode 0600. Exit status: 0 done, 1 failure, 2 bad usage. Nothing here is ever
# committed: tests call this at run time into their own temporary directory.
set -euo pipefail

if [ $# -ne 1 ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,23p' "$0"
  [ "${1:-}" = "--help" ] && exit 0
  exit 2
fi
out=$1

ca_tool=${MEDSTORE_CA:-}
if [ -z "$ca_tool" ]; then
  if [ -z "${MEDSTORE_BUILD_ROOT:-}" ]; then
    echo "mkcerts.sh: set MEDSTORE_CA or MEDSTORE_BUILD_ROOT" >&2
    exit 2
  fi
  ca_tool=$MEDSTORE_BUILD_ROOT/tools/medstore-ca
fi
if [ ! -x "$ca_tool" ]; then
  echo "mkcerts.sh: medstore-ca not found at $ca_tool (build it first)" >&2
  exit 1
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "mkcerts.sh: $out is not empty" >&2
  exit 1
fi

ca() { "$ca_tool" "$@" >/dev/null; }
local_sans=(--dns localhost --ip 127.0.0.1 --ip ::1)

ca init --dir "$out/ca" --name medstore-test-ca --days 2
for id in ${MKCERTS_NODES:-1}; do
  ca issue --dir "$out/ca" --cn "node-$id" "${local_sans[@]}" --days 2
done
ca issue --dir "$out/ca" --cn meta "${local_sans[@]}" --days 2
ca issue --dir "$out/ca" --cn scrubber --days 2
ca issue --dir "$out/ca" --cn alice --days 2
ca issue --dir "$out/ca" --cn mallory --dns scrubber --dns meta --days 2
"$ca_tool" token-key --dir "$out/ca" --key-id 1 > "$out/token_pubkey.conf"

ca init --dir "$out/rogue" --name medstore-test-ca --days 2
ca issue --dir "$out/rogue" --cn node-1 "${local_sans[@]}" --days 2
ca issue --dir "$out/rogue" --cn alice --days 2
ca issue --dir "$out/rogue" --cn scrubber --days 2
