#!/usr/bin/env bash
# tidy.sh - the mechanical style rules of STYLE.md section 10, over every C source.
#
#   tests/tidy/tidy.sh [--root DIR] [PATH...]
#
# Checks *.c and *.h under PATH... (default: src include tools tests bench) relative to the
# repository root (or DIR), skipping fuzz corpora and this directory's fixtures. Rules and
# their exact meaning: tidy.awk. Prints "path:line: rule: detail" per problem, sorted, then
# a one-line summary on stderr. Exit 0 when clean, 1 when a rule is broken, 2 on usage error.
# Also: tidy.sh --self-test runs the rules over tests/tidy/fixtures and compares the result
# with fixtures/expected.txt, so a change to a rule shows what it now catches.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
self_test=0
paths=()
while (($# > 0)); do
  case "$1" in
    --root) root="$(cd "$2" && pwd)"; shift 2 ;;
    --self-test) self_test=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tidy.sh: unknown option $1" >&2; exit 2 ;;
    *) paths+=("$1"); shift ;;
  esac
done

if ((self_test)); then
  out="$("$0" --root "$here/fixtures" src include tests 2>/dev/null || true)"
  if diff -u "$here/fixtures/expected.txt" <(printf '%s\n' "$out"); then
    echo "tidy self-test: ok" >&2
    exit 0
  fi
  echo "tidy self-test: output differs from fixtures/expected.txt (diff above)" >&2
  exit 1
fi

if ((${#paths[@]} == 0)); then
  paths=(src include tools tests bench)
fi
dirs=()
for p in "${paths[@]}"; do
  [[ -e "$root/$p" ]] && dirs+=("$root/$p")
done
if ((${#dirs[@]} == 0)); then
  echo "tidy: nothing to check under $root" >&2
  exit 0
fi

files=()
while IFS= read -r -d '' f; do files+=("$f"); done < <(
  find "${dirs[@]}" \( -type d \( -name corpus -o -path "$root/tests/tidy/fixtures" \) -prune \) \
    -o -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
if ((${#files[@]} == 0)); then
  echo "tidy: no C sources under ${paths[*]}" >&2
  exit 0
fi

out="$(LC_ALL=C awk -v root="$root/" -f "$here/tidy.awk" "${files[@]}" |
  LC_ALL=C sort -t: -k1,1 -k2,2n)"
if [[ -z "$out" ]]; then
  echo "tidy: clean (${#files[@]} files)" >&2
  exit 0
fi
printf '%s\n' "$out"
n="$(printf '%s\n' "$out" | wc -l)"
nf="$(printf '%s\n' "$out" | cut -d: -f1 | sort -u | wc -l)"
echo "tidy: $n problems in $nf of ${#files[@]} files" >&2
exit 1
