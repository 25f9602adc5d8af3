/*
 * tls_socket.c - the comparison point of bench-rpc: the same bytes over a plain TLS 1.3 socket
 * (OpenSSL, the same certificates, mutual authentication), without HTTP/2 or gRPC.
 *
 * Framing: u32 little-endian length + payload; length 0 ends the stream and the server answers
 * the u64 count of payload bytes. The server runs a thread per connection and reads into one
 * MS_RPC_MAX_CHUNK_BYTES buffer; it stops on SIGTERM (blocked, taken by sigwait).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_rpc.h"
#include "common/ms_assert.h"

static SSL_CTX *tls_ctx(const struct bench_certs *bc, bool server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    MS_ASSERT(ctx != NULL);
    const struct ms_rpc_tls_files *f = server ? &bc->server : &bc->client;
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
              SSL_CTX_use_certificate_chain_file(ctx, f->cert_path) == 1 &&
              SSL_CTX_use_PrivateKey_file(ctx, f->key_path, SSL_FILETYPE_PEM) == 1 &&
              SSL_CTX_load_verify_locations(ctx, f->ca_path, NULL) == 1;
    MS_ASSERT(ok);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                       NULL);
    return ctx;
}

static bool read_full(SSL *ssl, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        int got = SSL_read(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (got <= 0)
            return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

static bool write_full(SSL *ssl, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        int put = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
        if (put <= 0)
            return false;
        p += put;
        n -= (size_t)put;
    }
    return true;
}

struct conn {
    SSL_CTX *ctx;
    int fd;
};

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    SSL *ssl = SSL_new(c->ctx);
    uint8_t *buf = malloc(MS_RPC_MAX_CHUNK_BYTES);
    MS_ASSERT(ssl != NULL && buf != NULL);
    SSL_set_fd(ssl, c->fd);
    uint64_t total = 0;
    if (SSL_accept(ssl) == 1) {
        for (;;) {
            uint32_t len;
            if (!read_full(ssl, &len, 4) || len > MS_RPC_MAX_CHUNK_BYTES)
                break;
            if (len == 0) {
                (void)write_full(ssl, &total, sizeof(total));
                break;
            }
            if (!read_full(ssl, buf, len))
                break;
            total += len;
        }
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(c->fd);
    free(buf);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct conn *proto = arg;
    for (;;) {
        int fd = accept(proto->fd, NULL, NULL);
        if (fd < 0)
            break;
        int one = 1; /* the 4-byte frame header must not wait for Nagle */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = malloc(sizeof(*c));
        MS_ASSERT(c != NULL);
        *c = (struct conn){.ctx = proto->ctx, .fd = fd};
        pthread_t t;
        MS_ASSERT(pthread_create(&t, NULL, conn_main, c) == 0);
        pthread_detach(t);
    }
    return NULL;
}

int bench_tls_serve(const struct bench_certs *bc)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        return 1;
    struct conn proto = {.ctx = tls_ctx(bc, true), .fd = lfd};
    pthread_t t;
    MS_ASSERT(pthread_create(&t, NULL, accept_main, &proto) == 0);
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int signo;
    sigwait(&set, &signo);
    shutdown(lfd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(lfd);
    SSL_CTX_free(proto.ctx);
    return 0;
}

static int tls_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

void *bench_tls_stream_main(void *arg)
{
    struct stream_job *j = arg;
    static const uint8_t zero[MS_RPC_MAX_CHUNK_BYTES];
    SSL_CTX *ctx = tls_ctx(j->bc, false);
    int fd = tls_connect(j->port);
    SSL *ssl = SSL_new(ctx);
    j->rc = fd >= 0 && ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1 ? 0 : -EIO;
    uint32_t len = (uint32_t)j->msg_bytes;
    while (j->rc == 0 && bench_now_s() < j->t_end) {
        if (!write_full(ssl, &len, 4) || !write_full(ssl, zero, len))
            j->rc = -EIO;
    }
    uint32_t end = 0;
    if (j->rc == 0 && (!write_full(ssl, &end, 4) || !read_full(ssl, &j->acked, 8)))
        j->rc = -EIO;
    if (ssl != NULL) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return NULL;
}
