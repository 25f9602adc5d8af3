#!/usr/bin/python3
"""inspect_corpus.py - the built `medstore inspect` over every file of the shared corpus.

For each file: the exit status is 0, or 1 exactly when tests/unit/formats/expect/*.tsv
expects an error; stdout is one JSON object (python's json parses it) whose "type" is the
expected type and whose keys are the expected keys; a refused file writes exactly one line
to stderr, "medstore: FILE: <reason> (<ERRNAME>)". `--help` exits 0. With --pipeline (when
the build has the codec), every file also makes the codec round trip: encode, drop two
fragments, decode, compare; the exit status must not be 3 and "roundTrip" must be "ok".

Usage: inspect_corpus.py MEDSTORE_BINARY EXPECT_DIR [--pipeline]
Skips (77) without the corpus unless CI=true.
"""

import json
import os
import subprocess
import sys


def load_expectations(expect_dir):
    exp = {}
    for name in sorted(os.listdir(expect_dir)):
        if not name.endswith(".tsv"):
            continue
        with open(os.path.join(expect_dir, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                path, key, value = line.rstrip("\n").split("\t")
                value = (value.replace("\\\\", "\0").replace("\\t", "\t").replace("\\n", "\n")
                         .replace("\\r", "\r").replace("\0", "\\"))
                exp.setdefault(path, {})[key] = value
    return exp


def check_file(binary, corpus, rel, want, pipeline):
    path = os.path.join(corpus, rel)
    args = [binary, "inspect", path] + (["--pipeline"] if pipeline else [])
    r = subprocess.run(args, capture_output=True, timeout=300)
    errs = []
    try:
        doc = json.loads(r.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return ["%s: stdout is not JSON (%s)" % (rel, e)]
    refused = "error" in want
    want_status = 1 if refused else 0
    if pipeline and doc.get("pipeline", {}).get("roundTrip") != "ok":
        errs.append("%s: codec round trip: %s" % (rel, doc.get("pipeline")))
        want_status = 3
    if r.returncode != want_status:
        errs.append("%s: exit %d, expected %d" % (rel, r.returncode, want_status))
    if doc.get("type") != want["type"] or doc.get("size") != os.path.getsize(path):
        errs.append("%s: type/size %s/%s" % (rel, doc.get("type"), doc.get("size")))
    stderr = r.stderr.decode("utf-8", "replace").splitlines()
    if refused:
        ok = (len(stderr) == 1 and stderr[0].startswith("medstore: %s: " % path) and
              stderr[0].endswith("(%s)" % want["error"]) and
              doc.get("formatError") == want["error"] and
              doc.get("detectedType") == want["detected"])
        if not ok:
            errs.append("%s: refusal not reported as expected: %r" % (rel, stderr))
    else:
        keys = {k for k in doc if k not in ("type", "size", "pipeline")}
        want_keys = {k for k in want if k != "type"}
        if keys != want_keys:
            errs.append("%s: keys %s, expected %s" % (rel, sorted(keys), sorted(want_keys)))
        for k in want_keys & keys:
            if str(doc[k]) != want[k]:
                errs.append("%s: %s differs" % (rel, k))
    return errs


def main():
    binary, expect_dir = sys.argv[1], sys.argv[2]
    pipeline = "--pipeline" in sys.argv[3:]
    corpus = os.environ.get("MEDSTORE_TESTDATA", "")
    if not os.path.isdir(corpus):
        print("SKIP: shared test corpus not found (MEDSTORE_TESTDATA)")
        sys.exit(1 if os.environ.get("CI") == "true" else 77)
    r = subprocess.run([binary, "--help"], capture_output=True)
    assert r.returncode == 0 and b"inspect" in r.stdout, "--help must exit 0"
    r = subprocess.run([binary, "inspect"], capture_output=True)
    assert r.returncode == 2, "a missing FILE is a usage error"
    if pipeline:
        probe = subprocess.run([binary, "inspect", os.path.join(corpus, "README.md"),
                                "--pipeline"], capture_output=True)
        if b'"ENOSYS"' in probe.stdout:
            sys.exit("FAIL: --pipeline asked for but this medstore has no codec library")
    exp = load_expectations(expect_dir)
    errs, n = [], 0
    for d, _, names in os.walk(corpus):
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(d, name), corpus)
            if rel not in exp:
                errs.append("%s: no expectation" % rel)
                continue
            errs += check_file(binary, corpus, rel, exp[rel], pipeline)
            n += 1
    for e in errs:
        print("FAIL", e)
    print("inspected %d corpus files%s, %d problems" % (n, " with --pipeline" if pipeline else "",
                                                       len(errs)))
    sys.exit(1 if errs or n != len(exp) else 0)


if __name__ == "__main__":
    main()
