#!/usr/bin/env bash
# tools/check.sh - build medstore and run its test suite.
#
#   tools/check.sh           the whole suite, as CI runs it (.ci/run calls exactly this):
#                            1. deps        install packages (root; skipped with --no-deps)
#                            2. gcc         -Werror build, every suite (unit, fault, fuzz replay,
#                                           integration, smoke, tidy)
#                            3. asan        ASan+UBSan build: unit, fault, fuzz replay, smoke
#                            4. fuzz        clang libFuzzer build, live fuzzing, <= 5 min in all
#   tools/check.sh --quick   gcc build + unit tests, for the edit-test loop.
#
# Options: --quick, --no-deps, --fuzz-seconds N (total live fuzzing budget, default 240).
# Each stage prints how long it took. Build trees live under build/check-*.
# The shared corpus (../shared/testdata) is found by meson; with CI=true its absence fails.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0
deps=1
fuzz_total=240
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-deps) deps=0 ;;
    --fuzz-seconds) fuzz_total=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

declare -a stage_names=() stage_secs=()
stage_start=0
begin() { echo; echo "=== stage: $1 ==="; stage_start=$(date +%s); cur_stage=$1; }
end() {
  local s=$(( $(date +%s) - stage_start ))
  stage_names+=("$cur_stage"); stage_secs+=("$s")
  echo "=== stage $cur_stage done in ${s}s ==="
  cur_stage=""
}
cur_stage=""
summary() {
  local rc=$?
  echo
  echo "=== summary ==="
  for i in "${!stage_names[@]}"; do printf '  %-8s %5ss  ok\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done
  if [ "$rc" != 0 ] && [ -n "$cur_stage" ]; then
    printf '  %-8s %5ss  FAILED\n' "$cur_stage" "$(( $(date +%s) - stage_start ))"
  fi
}
trap summary EXIT

jobs=$(nproc 2>/dev/null || echo 2)

setup() { # dir, extra meson args...
  local dir=$1; shift
  if [ -d "$dir" ] && [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || { tail -20 "$dir.setup.log"; return 1; }
  else
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { tail -20 "$dir.setup.log"; return 1; }
  fi
}

if [ "$deps" = 1 ] && [ "$(id -u)" = 0 ]; then
  begin deps
  bash tools/deps.sh >/tmp/medstore-deps.log 2>&1 || { cat /tmp/medstore-deps.log; exit 1; }
  end
fi

if [ "$quick" = 1 ]; then
  begin gcc
  setup build/check-gcc -Dwerror=true
  ninja -C build/check-gcc
  meson test -C build/check-gcc --suite unit --print-errorlogs --num-processes "$jobs"
  end
  exit 0
fi

begin gcc
setup build/check-gcc -Dwerror=true
ninja -C build/check-gcc
meson test -C build/check-gcc --print-errorlogs --num-processes "$jobs" --no-suite bench
end

begin asan
# ASan+UBSan over our code; gRPC and RocksDB are not instrumented (no TSan: see STYLE.md 10).
setup build/check-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false \
  -Dbuildtype=debug
ninja -C build/check-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build/check-asan --print-errorlogs --num-processes "$jobs" \
  --suite unit --suite fault --suite fuzz --suite smoke
end

begin fuzz
CC=clang setup build/check-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
  -Dc_args=-fsanitize=fuzzer-no-link \
  -Dbench=false -Dtests=true
ninja -C build/check-fuzz
mapfile -t targets < <(find build/check-fuzz/tests/fuzz -maxdepth 2 -type f -name 'fuzz-*' -perm -u+x | sort)
if [ "${#targets[@]}" -gt 0 ]; then
  per=$(( fuzz_total / ${#targets[@]} ))
  [ "$per" -ge 5 ] || per=5
  total_execs=0
  for t in "${targets[@]}"; do
    name=$(basename "$t"); name=${name#fuzz-}
    corpus=$(find tests/fuzz -type d -path "*/$name/corpus" | head -1)
    work=$(mktemp -d)
    [ -n "$corpus" ] && cp -r "$corpus"/. "$work"/
    log=$(mktemp)
    if ! "$t" -max_total_time="$per" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        "$work" >"$log" 2>&1; then
      tail -50 "$log"
      echo "fuzz: $name found a failure; crashing input saved beside the log above" >&2
      exit 1
    fi
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
    echo "fuzz: $name ${per}s ${execs:-0} executions"
    total_execs=$(( total_execs + ${execs:-0} ))
    rm -rf "$work" "$log"
  done
  echo "fuzz: ${#targets[@]} targets, $total_execs executions in total"
else
  echo "fuzz: no targets built" >&2
  [ "${CI:-}" != true ] || exit 1
fi
end
