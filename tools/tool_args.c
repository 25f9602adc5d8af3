/*
 * tool_args.c - command-line helpers of the tool mains (tool_args.h). Each tool used to carry
 * its own copy of these; one copy keeps their usage messages and number syntax identical.
 * Numbers are parsed strictly (strtoull accepts a sign and leading space, so the first
 * character must be a digit); getopt runs with opterr = 0 so every message is ours.
 */
#include "tool_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/ms_assert.h"

int ms_tool_usage_error(const char *prog, const char *msg, const char *arg)
{
    MS_ASSERT(prog != NULL);
    MS_ASSERT(msg != NULL);
    if (arg != NULL)
        fprintf(stderr, "%s: %s: '%s'\n(run %s --help)\n", prog, msg, arg, prog);
    else
        fprintf(stderr, "%s: %s\n(run %s --help)\n", prog, msg, prog);
    return MS_TOOL_EXIT_USAGE;
}

int ms_tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    MS_ASSERT(s != NULL && out != NULL);
    MS_ASSERT(min <= max);
    if (s[0] < '0' || s[0] > '9')
        return -EINVAL;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int ms_tool_getopt(int argc, char **argv, const struct option *opts, const char *prog,
                   const char *usage_text, int (*apply_cb)(int c, const char *val, void *arg),
                   void *arg)
{
    MS_ASSERT(argc >= 1 && argv != NULL);
    MS_ASSERT(opts != NULL && apply_cb != NULL);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (c == '?' || c == ':')
            return ms_tool_usage_error(prog, "bad or incomplete option", argv[optind - 1]);
        int rc = apply_cb(c, optarg, arg);
        if (rc != 0)
            return rc;
    }
    if (optind != argc)
        return ms_tool_usage_error(prog, "unexpected argument", argv[optind]);
    return 0;
}
