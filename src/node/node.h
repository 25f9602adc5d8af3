/*
 * node.h - the medstore-node daemon as a library: configuration -> fragment store -> RPC
 * server -> signals -> drain.
 *
 * ms_node_run() is what medstore-node's main() calls; ms_node_start() / ms_node_stop() run
 * the same node inside a test process. Configuration keys (docs/node.md "Configuration",
 * annotated example deploy/config/node.conf):
 *
 *   node_id, rack, data_dir, listen, tls_ca, tls_cert, tls_key, service_principal (list),
 *   token_pubkey (list, at least one), token_skew_ms, meta_address, scrub_rate_bytes_per_s,
 *   log_level, io_queue_depth, cq_threads, max_put_sessions, workers.
 *
 * The node listens only on `listen` (Y-PRC-1) and logs `event=listening addr=HOST:PORT` once
 * it accepts calls (with the real port when `listen` asked for port 0). Without meta_address
 * it runs standalone; registration with the metadata service is a seam for its issue.
 *
 * Thread safety: one node per process at a time (it owns the process's signal handling in
 * ms_node_run); ms_node_request_stop() may be called from any thread.
 */
#ifndef MS_NODE_NODE_H
#define MS_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct ms_node;

struct ms_node_opts {
    const char *config_path;  /* required: the key = value file */
    bool insecure_for_tests;  /* plaintext gRPC; refused unless `listen` is loopback */
};

/* Loads the configuration, opens the store (recovering from any crash), starts the RPC
 * server and logs `event=listening`. Returns 0 and *out (stop with ms_node_stop), or
 * -MEDSTORE_ECONFIG (configuration refused: the error names the line), -EINVAL (insecure on a
 * non-loopback address), -errno / -MEDSTORE_E* from the store or the server. Calls
 * ms_rpc_init(); ms_node_stop() balances it. */
MS_MUST_CHECK int ms_node_start(const struct ms_node_opts *opts, struct ms_node **out);

/* The port the node listens on (the bound one after `listen` asked for port 0). */
int ms_node_port(const struct ms_node *node);

/* Asks a started node to stop; returns at once. Thread safe (not from a signal handler). */
void ms_node_request_stop(struct ms_node *node);

/* Stops (drains in-flight calls for the grace period, then cancels the rest), closes the
 * store and the catalogue, frees the node. Blocks until ms_node_request_stop() was called
 * when wait is true; stops at once otherwise. Returns 0, or the first error met while
 * closing. Accepts NULL (returns 0). */
MS_MUST_CHECK int ms_node_stop(struct ms_node *node, bool wait);

/* The daemon: blocks SIGTERM/SIGINT/SIGPIPE, starts the node, waits for SIGTERM or SIGINT,
 * drains and stops. Returns 0 after a clean stop, else the code that stopped it (the main
 * turns it into the exit status). */
MS_MUST_CHECK int ms_node_run(const struct ms_node_opts *opts);

/* Prints the configuration keys with their types and defaults (for --help). */
void ms_node_config_usage(int fd);

#endif
