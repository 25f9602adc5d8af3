#!/usr/bin/env bash
# bench/run-node.sh BUILD_DIR [bench-node options...]
# Runs bench-rpc, then bench-node with bench-rpc's figures from the same run, so every node
# ratio is against a transport ceiling measured minutes earlier on the same machine.
set -euo pipefail
build=${1:?usage: bench/run-node.sh BUILD_DIR [bench-node options]}
shift
rpc_out=$("$build/bench/rpc/bench-rpc")
echo "$rpc_out"
result=$(grep '^RESULT ' <<<"$rpc_out")
val() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$result"; }
exec "$build/bench/node/bench-node" --rpc-mib-s "$(val rpc_mib_s)" \
  --rpc-cpu-s-per-gib "$(val rpc_cpu_s_per_gib)" \
  --rpc-server-cpu-s-per-gib "$(val rpc_server_cpu_s_per_gib)" \
  --rpc-client-cpu-s-per-gib "$(val rpc_client_cpu_s_per_gib)" \
  --rpc-put-mib-s "$(val put_mib_s)" \
  --unary-calls-s "$(val unary_calls_s)" "$@"
