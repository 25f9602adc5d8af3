/*
 * service.h - the storage node's RPC handlers: authorisation, then the fragment store.
 *
 * The service implements the Node service's core ops (rpc/node_rpc.h) on a struct
 * ms_fragstore. Requests reach it already validated field by field; it decides who may do
 * what and runs the store operations on a small pool of worker threads, so completion-queue
 * threads never block on the disk:
 *
 * - Data RPCs (PutFragment, GetFragment, DeleteFragment) need a capability token in
 *   `medstore-cap-bin` granting exactly this node id, object, fragment index and action
 *   (put: put or repair-put; get; delete), checked with the configured clock skew. Any
 *   principal with a valid certificate may present one (Y-TRN-2).
 * - Service RPCs (StatFragment, ListFragments, VerifyFragment, ScrubReport, NodeInfo) are
 *   allowed only to the service principals of the configuration (certificate CN), whatever
 *   token they carry; everyone else gets PERMISSION_DENIED, reason `principal` (Y-QRY-2).
 *
 * Thread safety: create and destroy from one thread; the ops run on any thread.
 */
#ifndef MS_NODE_SERVICE_H
#define MS_NODE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "rpc/node_rpc.h"

struct ms_fragstore;
struct ms_captoken_keyring;
struct ms_clock;
struct ms_node_service;

/* Worker threads running store operations, by default. */
#define MS_NODE_SERVICE_WORKERS_DEFAULT 16u
#define MS_NODE_SERVICE_WORKERS_MAX 64u

struct ms_node_service_opts {
    struct ms_fragstore *store;             /* required; borrowed, outlives the service */
    const struct ms_captoken_keyring *ring; /* required; borrowed (token_pubkey lines) */
    struct ms_clock *clock;                 /* borrowed; NULL = the real clock */
    uint32_t node_id;                       /* this node; never 0 */
    const char *rack;                       /* copied; <= MS_NODE_RACK_MAX characters */
    const char *const *service_principals;  /* copied; n_service_principals names */
    size_t n_service_principals;
    uint64_t token_skew_ms;                 /* <= MS_CAPTOKEN_SKEW_MS_MAX */
    unsigned workers;                       /* 0 = MS_NODE_SERVICE_WORKERS_DEFAULT */
};

/* Counters for logs and tests (monotonic since create). */
struct ms_node_service_counters {
    uint64_t puts_committed;
    uint64_t puts_failed;
    uint64_t gets;
    uint64_t deletes;
    uint64_t denied; /* token or principal refusals */
    uint64_t bytes_in;
    uint64_t bytes_out;
};

/* Creates the service and starts its workers. Returns 0 and *out (free with
 * ms_node_service_destroy), -EINVAL (missing store/ring, node id 0, rack too long, too many
 * principals or workers), -ENOMEM, or -errno from pthread_create. */
MS_MUST_CHECK int ms_node_service_create(const struct ms_node_service_opts *opts,
                                         struct ms_node_service **out);

/* Fills out with the Node service's method table bound to svc (valid while svc lives): give
 * it to ms_rpc_server_create() or ms_rpc_loopback_create(). */
void ms_node_service_methods(struct ms_node_service *svc,
                             struct ms_rpc_method out[MS_NODE_RPC_METHODS]);

/* Copies the counters. Thread safe. */
void ms_node_service_counters(const struct ms_node_service *svc,
                              struct ms_node_service_counters *out);

/* Stops and joins the workers and frees the service. Every call must have ended before (stop
 * the server or destroy the loopback clients first): asserted. Accepts NULL. */
void ms_node_service_destroy(struct ms_node_service *svc);

#endif
