#!/usr/bin/env bash
# traceability.sh - which tests prove which duty of ../shared/REQUIREMENTS.md.
#
# Reads every duty ID (F-XXX-n, Y-XXX-n) from the requirements table, then finds the tests
# under tests/ that cite each ID singly, in either spelling (F-DEL-5 in a comment, F_DEL_5 in
# a test function name). Matching is by exact token: F-DEL-1 does not match F-DEL-10, and a
# range such as "F-DEL-1..5" or "F-DEL-1..F-DEL-5" counts only for its first ID (ranges
# prove nothing about the IDs they skip). Fuzz corpora are not searched.
#
# Output: per duty, its ID, clause and a short text, then each citing file with the test
# functions that cite it (the function whose name or body holds the ID, or the function
# right after a comment that holds it); then the IDs nothing cites yet, and a summary.
#   tools/traceability.sh            full report
#   tools/traceability.sh --uncited  only the IDs nothing cites, one per line
# Exit status 0 (a report, not a gate); 2 when REQUIREMENTS.md cannot be read.
# MEDSTORE_REQUIREMENTS overrides the path of the requirements file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="${MEDSTORE_REQUIREMENTS:-$root/../shared/REQUIREMENTS.md}"
mode=full
case "${1:-}" in
  "") ;;
  --uncited) mode=uncited ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "traceability.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

if [[ ! -r "$req" ]]; then
  echo "traceability.sh: cannot read the requirements file: $req" >&2
  echo "  (expected ../shared/REQUIREMENTS.md beside the repository root;" \
       "set MEDSTORE_REQUIREMENTS to override)" >&2
  exit 2
fi

# Duties: "ID<TAB>clause<TAB>text" from table rows "| F-STO-1 | 8.7.3.2 | text |".
duties="$(awk -F'|' '
  $2 ~ /^[ \t]*[FY]-[A-Z][A-Z][A-Z]-[0-9]+[ \t]*$/ {
    id = $2; gsub(/[ \t]/, "", id)
    clause = $3; gsub(/^[ \t]+|[ \t]+$/, "", clause)
    text = $4; gsub(/^[ \t]+|[ \t]+$/, "", text)
    if (!(id in seen)) { seen[id] = 1; print id "\t" clause "\t" text }
  }' "$req")"
if [[ -z "$duties" ]]; then
  echo "traceability.sh: no duty IDs found in $req" >&2
  exit 2
fi

# Citations: "ID<TAB>file<TAB>function" for every single citation under tests/.
files=()
if [[ -d "$root/tests" ]]; then
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    find "$root/tests" -type d -name corpus -prune -o -type f \
      \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name 'meson.build' \) \
      -print0 | sort -z)
fi
cites=""
if ((${#files[@]} > 0)); then
  cites="$(LC_ALL=C awk -v root="$root/" '
    # Function definitions: C at column 0 ("type name(" not ending in ";"), Python "def name(",
    # shell "name() {". Returns the name or "".
    function defname(line,    s) {
      if (line ~ /^[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*][A-Za-z_][A-Za-z0-9_]*\(/ &&
          line !~ /;[ \t]*$/ && line !~ /^(return|else|typedef)[ \t]/) {
        s = line; sub(/\(.*/, "", s); sub(/.*[ \t*]/, "", s); return s
      }
      if (line ~ /^[ \t]*def [A-Za-z_][A-Za-z0-9_]*\(/) {
        s = line; sub(/^[ \t]*def /, "", s); sub(/\(.*/, "", s); return s
      }
      if (line ~ /^[A-Za-z_][A-Za-z0-9_]*\(\)[ \t]*\{?[ \t]*$/) {
        s = line; sub(/\(.*/, "", s); return s
      }
      return ""
    }
    # Hits outside any function wait for the next definition; a blank line in between
    # makes them file-level citations (a header comment, not a test comment).
    function settle(fn,   i) {
      for (i = 1; i <= npend; i++) print pend[i] "\t" rel "\t" fn
      npend = 0
    }
    FNR == 1 {
      if (NR > 1) settle("(file)")
      rel = FILENAME; sub("^" root, "", rel); cur = ""; inside = 0
    }
    {
      line = $0
      d = defname(line)
      if (d != "") { cur = d; inside = 1; settle(d) }
      else if (line ~ /^\}/) inside = 0
      else if (line ~ /^[ \t]*$/) settle("(file)")
      # Tokens [FY][-_]XXX[-_]n, not preceded by an identifier character or "..",
      # not followed by a digit.
      s = line
      while (match(s, /[FY][-_][A-Z][A-Z][A-Z][-_][0-9]+/)) {
        tok = substr(s, RSTART, RLENGTH)
        before = RSTART > 1 ? substr(s, RSTART - 1, 1) : ""
        before2 = RSTART > 2 ? substr(s, RSTART - 2, 2) : ""
        after = substr(s, RSTART + RLENGTH, 1)
        if (before !~ /[A-Za-z0-9]/ && before2 != ".." && after !~ /[0-9]/) {
          id = tok; gsub(/_/, "-", id)
          # In main, an ID glued to an identifier names a test being registered
          # (cmocka_unit_test(test_x__F_DEL_3)): that test is credited already.
          if (inside && !(cur == "main" && before == "_")) print id "\t" rel "\t" cur
          else if (!inside) pend[++npend] = id
        }
        s = substr(s, RSTART + RLENGTH)
      }
    }
    END { if (NR > 0) settle("(file)") }
  ' "${files[@]}" | sort -u)"
fi

LC_ALL=C awk -F'\t' -v mode="$mode" -v cites="$cites" '
  BEGIN {
    n = split(cites, lines, "\n")
    for (i = 1; i <= n; i++) {
      if (lines[i] == "") continue
      split(lines[i], f, "\t")
      key = f[1] SUBSEP f[2]
      if (!(key in fns)) { order[f[1]] = order[f[1]] f[2] "\n"; fns[key] = "" }
      if (f[3] != "" && index(" " fns[key] ", ", " " f[3] ", ") == 0)
        fns[key] = fns[key] (fns[key] == "" ? "" : ", ") f[3]
      cited[f[1]] = 1
    }
  }
  {
    id = $1; total++
    if (id in cited) ncited++
    else uncited[++nu] = id
    if (mode == "full") {
      printf "%-8s %-13s %s\n", id, $2, short($3)
      if (!(id in cited)) print "    (no test cites it yet)"
      m = split(order[id], fl, "\n")
      for (j = 1; j <= m; j++) if (fl[j] != "") printf "    %s: %s\n", fl[j], fns[id SUBSEP fl[j]]
    }
  }
  function short(t) { return length(t) > 80 ? substr(t, 1, 77) "..." : t }
  END {
    if (mode == "uncited") { for (i = 1; i <= nu; i++) print uncited[i]; exit 0 }
    printf "\nnot yet cited (%d):", nu
    for (i = 1; i <= nu; i++) printf " %s", uncited[i]
    printf "\n\nsummary: %d of %d duties cited by at least one test\n", ncited, total
  }
' <<<"$duties"
exit 0
