/*
 * rpc_fixture.h - shared by the src/rpc tests: certificates made at run time and a test service.
 *
 * Certificates come from the cluster CA library (src/rpc/certs.c, the code behind medstore-ca)
 * in a private temporary directory; nothing is committed. The set:
 *   ca/      the cluster CA; node-1 (SAN DNS localhost, IP 127.0.0.1), alice (IP 127.0.0.1),
 *            mallory (CN mallory but SAN DNS "admin": another principal's name), node-2 (SAN
 *            DNS node-2.cluster only, for the target name override)
 *   rogue/   another CA with its own "alice"
 *
 * The echo service (package medstore.test, raw bytes unless said otherwise):
 *   Unary     echoes the request
 *   Upload    client streaming of node.proto PutFragmentRequest messages (header, then data
 *             chunks found with ms_rpc_pb_scan, no copy); replies 16 bytes: u64 bytes, u64 FNV-1a
 *   UploadHold     same, but every data message is held (MS_RPC_HOLD) and resumed from another
 *                  thread, and the reply is sent from another thread after the end
 *   Download  server streaming: request u64 total, u32 chunk; sends fx_pattern bytes
 *   Fail      request i32 code + reason text (may be empty): finishes with them
 *   Sleep     request u32 ms: replies from another thread after that long
 *   Whoami    replies principal, '\n', then the raw value of medstore-cap-bin (if any)
 */
#ifndef MS_TESTS_RPC_FIXTURE_H
#define MS_TESTS_RPC_FIXTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"

#define FX_PATH_MAX 512

#define FX_UNARY "/medstore.test.Echo/Unary"
#define FX_UPLOAD "/medstore.test.Echo/Upload"
#define FX_UPLOAD_HOLD "/medstore.test.Echo/UploadHold"
#define FX_DOWNLOAD "/medstore.test.Echo/Download"
#define FX_FAIL "/medstore.test.Echo/Fail"
#define FX_SLEEP "/medstore.test.Echo/Sleep"
#define FX_WHOAMI "/medstore.test.Echo/Whoami"

struct fx_certs {
    char *dir;
    char ca[FX_PATH_MAX];
    char rogue_ca[FX_PATH_MAX];
    struct ms_rpc_tls_files node1, node2, alice, mallory, rogue_alice;
    char paths[16][FX_PATH_MAX];
};

/* Makes the certificate set in a fresh temporary directory; asserts on failure. */
void fx_certs_make(struct fx_certs *c);
/* Removes the directory. */
void fx_certs_free(struct fx_certs *c);

/* The echo service's method table (static storage). */
const struct ms_rpc_method *fx_methods(size_t *n);

/* Calls whose on_done_cb ran, and the code of the last one. */
extern atomic_int fx_done_calls;
extern atomic_int fx_last_done_code;
/* Handler callbacks run (to prove refused calls never reach a handler). */
extern atomic_int fx_handler_calls;

/* Byte i of the Download stream and of test payloads. */
static inline uint8_t fx_pattern(uint64_t i)
{
    return (uint8_t)(i * 131u + (i >> 9));
}

/* FNV-1a 64 over bytes, continuing from h (start with FX_FNV_INIT). */
#define FX_FNV_INIT 0xcbf29ce484222325ull
uint64_t fx_fnv(uint64_t h, const uint8_t *p, size_t n);

/* Starts a server with the echo service on 127.0.0.1:0 (mTLS with tls, else insecure); asserts.
 * Returns the port. */
int fx_server_start(const struct ms_rpc_tls_files *tls, struct ms_rpc_server **out);

/* A gRPC client for 127.0.0.1:port with tls (NULL = insecure); asserts. */
struct ms_rpc_client *fx_client(int port, const struct ms_rpc_tls_files *tls, unsigned conns);

/* Uploads total bytes of fx_pattern in chunks of chunk bytes to method as PutFragmentRequest
 * messages (header first); payloads are lent, not copied. Returns the call's code and, on
 * success, the server's byte count and hash; *released counts payload releases. */
int fx_upload(struct ms_rpc_client *c, const char *method, uint64_t total, size_t chunk,
              uint64_t *bytes, uint64_t *hash, int *released);

/* Sends the first PutFragmentRequest (header announcing total bytes), packed with protobuf-c. */
int fx_send_header(struct ms_rpc_stream *s, uint64_t total);

/* Downloads total bytes in chunk-byte messages; checks every byte; returns the call's code
 * (or -EBADMSG when a byte is wrong) and the number of messages received. */
int fx_download(struct ms_rpc_client *c, uint64_t total, uint32_t chunk, unsigned *messages);

/* Unary helpers: Fail(code, reason) and Sleep(ms) with a deadline; return the code. */
int fx_fail(struct ms_rpc_client *c, int code, const char *reason, struct ms_rpc_status *st);
int fx_sleep(struct ms_rpc_client *c, uint32_t ms, unsigned deadline_ms);

/* A test group's world: certificates and one echo server over mTLS on 127.0.0.1. */
struct fx_env {
    struct fx_certs certs;
    struct ms_rpc_server *srv;
    int port;
};

/* cmocka group setup/teardown: makes certificates, starts the server as node-1 (*state is a
 * calloc'd struct fx_env), and stops and frees it all again. */
int fx_env_setup(void **state);
int fx_env_teardown(void **state);

/* Whoami: copies the principal into who (cap bytes) and the cap metadata into md. */
int fx_whoami(struct ms_rpc_client *c, const struct ms_rpc_call_opts *opts, char *who,
              size_t cap, uint8_t *md, size_t *md_len);

#endif
