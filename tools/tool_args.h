/*
 * tool_args.h - command-line helpers shared by the thin tool mains (medstore-ca,
 * medstore-token): the usage-error message, a strict decimal number parser and the getopt_long
 * loop with --help. Messages go to stderr/stdout only; nothing here logs or keeps state
 * beyond getopt's own globals, so none of it is thread safe (mains call it once, early).
 */
#ifndef MS_TOOLS_TOOL_ARGS_H
#define MS_TOOLS_TOOL_ARGS_H

#include <getopt.h>
#include <stdint.h>

#include "common/err.h"

/* Exit status of every usage error (bad, missing or extra arguments). */
#define MS_TOOL_EXIT_USAGE 2

/* Prints "PROG: MSG: 'ARG'" (or "PROG: MSG" when arg is NULL) and "(run PROG --help)" to
 * stderr. Returns MS_TOOL_EXIT_USAGE, so callers can return it as the exit status. */
int ms_tool_usage_error(const char *prog, const char *msg, const char *arg);

/* Strict decimal parse of s into *out: digits only (no sign, space or suffix), the value in
 * [min, max]. Returns 0, or -EINVAL with *out untouched. */
MS_MUST_CHECK int ms_tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Runs getopt_long over argv[1..argc) with the long options opts (the option "help" must
 * map to 'h'): --help prints usage_text on stdout and exits 0; an unknown option, a missing
 * value or a leftover non-option argument is a usage error of prog. Every other option is
 * handed to apply_cb(c, value, arg), which returns 0 or an exit status that stops the loop.
 * Returns 0 or the exit status to end with. opts and argv are borrowed for the call. */
MS_MUST_CHECK int ms_tool_getopt(int argc, char **argv, const struct option *opts,
                                 const char *prog, const char *usage_text,
                                 int (*apply_cb)(int c, const char *val, void *arg), void *arg);

#endif
