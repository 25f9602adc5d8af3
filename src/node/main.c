/*
 * main.c - medstore-node: parses flags, then hands over to ms_node_run() (node.c).
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT drained), 0 for --help, 2 for bad flags,
 * 1 when the node could not start or stopped on an error (the log line says why).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ms_assert.h"
#include "node/node.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: medstore-node --config FILE [--insecure-for-tests]\n"
            "       medstore-node --help\n"
            "\n"
            "Runs a medstore storage node: fragments on io_uring behind gRPC with mutual TLS.\n"
            "\n"
            "  --config FILE          key = value configuration (example:\n"
            "                         deploy/config/node.conf)\n"
            "  --insecure-for-tests   plaintext gRPC, for tests only; refused unless the\n"
            "                         listen address is loopback\n"
            "  --help                 this text\n"
            "\n"
            "Logs are key=value lines on stderr. SIGTERM or SIGINT drains in-flight calls and\n"
            "exits 0.\n\n");
    fflush(out);
    ms_node_config_usage(fileno(out));
}

int main(int argc, char **argv)
{
    struct ms_node_opts opts = {0};
    MS_ASSERT(argc >= 1 && argv != NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            opts.config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            opts.config_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--insecure-for-tests") == 0) {
            opts.insecure_for_tests = true;
        } else {
            fprintf(stderr, "medstore-node: unknown or incomplete argument: %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (opts.config_path == NULL) {
        fprintf(stderr, "medstore-node: --config FILE is required\n");
        usage(stderr);
        return 2;
    }
    int rc = ms_node_run(&opts);
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=exit code=%s", ms_err_name(rc));
        return 1;
    }
    return 0;
}
