# tidy.awk - the mechanical rules of STYLE.md section 10 over C sources (driven by tidy.sh).
#
# Input: the files to check; variable root = prefix stripped to print repository-relative
# paths. Output: "path:line: rule: detail" per problem (unsorted). Written for POSIX awk and
# mawk (Debian's default awk): no gawk extensions.
#
# Rules:
#   line-length     more than 100 columns (UTF-8 sequences count as one column)
#   function-length body longer than 70 lines; up to 100 when the comment right above the
#                   function or its first comment says "tidy: long function: <reason>"
#   banned-call     strcpy, sprintf/vsprintf, strtok, atoi/atol/atoll, rand, assert;
#                   time() outside src/common/clock.c; io_uring_* outside
#                   src/node/io_uring*.[ch] and tests/unit/node/
#   layering        #include "mod/..." against the module order of STYLE.md section 1;
#                   public headers (include/) include only C/POSIX headers and medstore/*
#   fixme           a leftover FIXME (in code or comments)
# Calls are looked for in code only: comments and string/char literals are blanked first.
# Files whose first 5 lines say "DO NOT EDIT" or "@generated" (protoc-c output) are skipped.

function report(line, rule, detail) {
    nhits++
    hit[nhits] = rel ":" line ": " rule ": " detail
}

# Returns line with comments replaced by a space and literals emptied; keeps in_comment
# across lines.
function strip(line,    out, tok, i, n, c) {
    out = ""
    while (line != "") {
        if (in_comment) {
            i = index(line, "*/")
            if (i == 0)
                return out
            in_comment = 0
            line = substr(line, i + 2)
            out = out " "
            continue
        }
        if (!match(line, /\/\*|\/\/|"|'/)) {
            out = out line
            break
        }
        out = out substr(line, 1, RSTART - 1)
        tok = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
        if (tok == "/*") {
            in_comment = 1
            continue
        }
        if (tok == "//")
            break
        n = length(line)
        for (i = 1; i <= n; i++) {
            c = substr(line, i, 1)
            if (c == "\\") {
                i++
                continue
            }
            if (c == tok)
                break
        }
        out = out tok tok
        line = substr(line, i + 1)
    }
    return out
}

function module_of(path,    m) {
    if (path !~ /^src\/[^\/]+\//)
        return ""
    m = path
    sub(/^src\//, "", m)
    sub(/\/.*/, "", m)
    return m
}

function check_include(raw,    inc, top, mod) {
    if (raw !~ /^[ \t]*#[ \t]*include[ \t]*["<]/)
        return
    if (rel ~ /^include\//) {
        if (raw ~ /^[ \t]*#[ \t]*include[ \t]*"/ && raw !~ /"medstore\//)
            report(FNR, "layering", "public header includes a private header")
        if (raw ~ /<(sodium|grpc|zstd|rocksdb|protobuf-c|isa-l|openssl|liburing)/ ||
            raw ~ /<(json-c|libxml|xxhash|zlib)/)
            report(FNR, "layering", "public header includes a third-party header")
        return
    }
    if (!match(raw, /"[^"]+"/))
        return
    inc = substr(raw, RSTART + 1, RLENGTH - 2)
    while (inc ~ /^\.\.\//)
        sub(/^\.\.\//, "", inc)
    top = inc
    sub(/\/.*/, "", top)
    mod = module_of(rel)
    if (mod == "" || !((mod SUBSEP top) in forbidden))
        return
    report(FNR, "layering", "src/" mod " must not include " top "/ (" inc ")")
}

function check_calls(code) {
    if (code ~ /(^|[^A-Za-z0-9_])strcpy[ \t]*\(/)
        report(FNR, "banned-call", "strcpy (use memcpy with a checked length, or snprintf)")
    if (code ~ /(^|[^A-Za-z0-9_])v?sprintf[ \t]*\(/)
        report(FNR, "banned-call", "sprintf (use snprintf)")
    if (code ~ /(^|[^A-Za-z0-9_])strtok[ \t]*\(/)
        report(FNR, "banned-call", "strtok (not reentrant; scan with memchr/strcspn)")
    if (code ~ /(^|[^A-Za-z0-9_])atoll?[ \t]*\(/ || code ~ /(^|[^A-Za-z0-9_])atoi[ \t]*\(/)
        report(FNR, "banned-call", "atoi/atol (no error checking; use strtoull with checks)")
    if (code ~ /(^|[^A-Za-z0-9_])rand[ \t]*\(/)
        report(FNR, "banned-call", "rand (use the ms_rng port)")
    if (code ~ /(^|[^A-Za-z0-9_])assert[ \t]*\(/)
        report(FNR, "banned-call", "assert (NDEBUG erases it; use MS_ASSERT)")
    if (rel != "src/common/clock.c" && code ~ /(^|[^A-Za-z0-9_.>])time[ \t]*\(/)
        report(FNR, "banned-call", "time() outside src/common/clock.c (use the ms_clock port)")
    if (rel !~ /^src\/node\/io_uring[^\/]*\.[ch]$/ && rel !~ /^tests\/unit\/node\// &&
        code ~ /(^|[^A-Za-z0-9_])io_uring_[A-Za-z0-9_]/)
        report(FNR, "banned-call", "io_uring_* outside the node io_uring port")
}

function marker_ok(s) {
    return s ~ /tidy: long function[ \t]*[:(,-][ \t]*[A-Za-z]/
}

# Function boundaries. A definition starts at a column-0 line naming a function (its
# signature may continue on later lines) and its body runs from a column-0 "{" (or a
# signature line ending in "{") to the next column-0 "}".
function track_function(raw, code, was_comment,    name) {
    if (in_fn) {
        if (!first_comment_done && (was_comment || raw ~ /\/\*|\/\//)) {
            if (marker_ok(raw))
                fn_allow = 1
            if (!in_comment)
                first_comment_done = 1
        }
        if (code ~ /^\}/) {
            in_fn = 0
            len = FNR - fn_open - 1
            if (len > 100 || (len > 70 && !fn_allow))
                report(fn_start, "function-length", fn_name " body is " len \
                       " lines (max 70; up to 100 with a \"tidy: long function: <reason>\" comment)")
        }
        return
    }
    if (code ~ /^[A-Za-z_][A-Za-z0-9_ \t*]*[ \t*]\(?[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/ && \
        code !~ /;[ \t]*$/ && code !~ /=/ && code !~ /^(return|else|typedef|do)[ \t]/) {
        name = code
        sub(/[ \t]*\(.*/, "", name)
        sub(/.*[ \t*(]/, "", name)
        sig_name = name
        sig_line = FNR
        sig_allow = marker_above
    }
    if (sig_line > 0 && (code ~ /^\{/ || (FNR == sig_line && code ~ /\)[ \t]*\{[ \t]*$/) || \
        (code ~ /\)[ \t]*\{[ \t]*$/ && code !~ /^[ \t]/ && FNR > sig_line))) {
        in_fn = 1
        fn_open = FNR
        fn_start = sig_line
        fn_name = sig_name
        fn_allow = sig_allow
        first_comment_done = 0
        sig_line = 0
        return
    }
    # A prototype or declaration ends the candidate; a signature has no ";" or blank line.
    if (code ~ /;[ \t]*$/ || raw ~ /^[ \t]*$/)
        sig_line = 0
}

# Remembers whether the comment block right above the current line has the marker; runs
# after track_function, which reads it on a signature's first line.
function track_marker_above(raw, was_comment) {
    if (in_fn || sig_line > 0)
        return
    if (was_comment || raw ~ /^[ \t]*(\/\*|\/\/|\*)/) {
        if (marker_ok(raw))
            marker_above = 1
        return
    }
    marker_above = 0
}

function flush_file(   i) {
    if (!generated)
        for (i = 1; i <= nhits; i++)
            print hit[i]
    nhits = 0
}

BEGIN {
    split("codec formats rpc node client meta ops", a, " ")
    for (i in a) forbidden["common" SUBSEP a[i]] = 1
    split("rpc node client meta ops", a, " ")
    for (i in a) {
        forbidden["codec" SUBSEP a[i]] = 1
        forbidden["formats" SUBSEP a[i]] = 1
    }
    split("node client meta ops", a, " ")
    for (i in a) forbidden["rpc" SUBSEP a[i]] = 1
    split("client meta ops", a, " ")
    for (i in a) forbidden["node" SUBSEP a[i]] = 1
    split("node meta ops", a, " ")
    for (i in a) forbidden["client" SUBSEP a[i]] = 1
    split("node client meta", a, " ")
    for (i in a) forbidden["ops" SUBSEP a[i]] = 1
    split("node client", a, " ")
    for (i in a) forbidden["meta" SUBSEP a[i]] = 1
}

FNR == 1 {
    if (NR > 1)
        flush_file()
    rel = FILENAME
    if (index(rel, root) == 1)
        rel = substr(rel, length(root) + 1)
    nfiles++
    generated = 0
    in_comment = 0
    in_fn = 0
    sig_line = 0
    marker_above = 0
}

FNR <= 5 && $0 ~ /DO NOT EDIT|@generated/ {
    generated = 1
}

{
    raw = $0
    cols = raw
    gsub(/[\200-\277]/, "", cols)
    if (length(cols) > 100)
        report(FNR, "line-length", length(cols) " columns (max 100)")
    if (raw ~ /FIXME/)
        report(FNR, "fixme", "leftover FIXME (fix it, or a TODO with an issue number)")
    was_comment = in_comment
    code = strip(raw)
    check_include(raw)
    check_calls(code)
    track_function(raw, code, was_comment)
    track_marker_above(raw, was_comment)
}

END {
    if (NR > 0)
        flush_file()
}
