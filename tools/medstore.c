/*
 * medstore.c - the medstore command line client. Today: `medstore inspect FILE [--pipeline]`.
 *
 * inspect reads FILE (mapped, never copied), detects its type and extracts its metadata
 * (src/formats), and prints one JSON object on stdout: "type", "size", then every extracted
 * key (DICOM keywords such as "PatientID", "resourceType" for FHIR, "patientKey", ...), each
 * value escaped for JSON (quotes, control characters; invalid UTF-8 becomes U+FFFD).
 * With --pipeline it also runs the object through the codec as a put would (random key and
 * object id, k+m fragments), drops two fragments, decodes from the rest and compares, and
 * adds a "pipeline" object: k, m, storedBytes, ratio, the dropped fragments, roundTrip.
 *
 * Malformed input is still storable (as type "other"): the JSON says so ("type": "other",
 * "detectedType", "formatError") and one line goes to stderr:
 *   medstore: FILE: <reason> (<ERRNAME>)
 * Exit status: 0 ok; 1 the file's format is malformed; 2 usage error or unreadable file;
 * 3 the codec round trip failed.
 *
 * The output is patient data shown to the user who asked for it: that is inspect's job. It
 * is never logged. The object key lives in locked memory (struct ms_secret) and is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/ms_assert.h"
#include "formats/formats.h"

#if defined(MS_HAVE_CODEC) && MS_HAVE_CODEC
#include "codec/codec.h"
#include "common/ids.h"
#include "common/rng.h"
#include "common/secret.h"
#endif

enum {
    EXIT_MALFORMED = 1,
    EXIT_USAGE = 2,
    EXIT_ROUNDTRIP = 3,
};

static const char usage_text[] =
    "usage: medstore inspect FILE [--pipeline]\n"
    "       medstore --help\n"
    "\n"
    "inspect   detect FILE's type (dicom, fhir-json, fhir-ndjson, fhir-xml, cda, hl7v2, pdf,\n"
    "          mp4, other) and print its metadata as one JSON object: \"type\", \"size\",\n"
    "          \"patientKey\" and the extracted keys (DICOM keywords, \"resourceType\", ...).\n"
    "          --pipeline  also encode FILE as a put would (random key, k+m fragments),\n"
    "                      drop two fragments, decode and compare; prints stored size and\n"
    "                      ratio.\n"
    "\n"
    "exit status: 0 ok, 1 malformed file (stored as type other; reason on stderr),\n"
    "             2 usage error or unreadable file, 3 codec round trip failed.\n";

/* An input file: mapped when it is a regular non-empty file, else read into memory. */
struct input {
    const uint8_t *data;
    size_t len;
    void *map;
    uint8_t *heap;
};

/* Reads what remains of fd into a malloc'd buffer (pipes, character devices). */
static int read_all(int fd, struct input *in)
{
    MS_ASSERT(fd >= 0);
    MS_ASSERT(in != NULL && in->data == NULL);
    size_t cap = 1u << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            uint8_t *n = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (n == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    in->heap = buf;
    in->data = buf;
    in->len = len;
    return 0;
}

static int input_open(const char *path, struct input *in)
{
    MS_ASSERT(path != NULL && in != NULL);
    memset(in, 0, sizeof(*in));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = -errno;
        } else {
            in->map = p;
            in->data = p;
            in->len = (size_t)st.st_size;
        }
    } else if (!S_ISREG(st.st_mode)) {
        rc = read_all(fd, in);
    }
    close(fd);
    static const uint8_t empty[1];
    if (rc == 0 && in->data == NULL)
        in->data = empty;
    MS_ASSERT(rc != 0 || in->data != NULL);
    return rc;
}

static void input_close(struct input *in)
{
    if (in->map != NULL)
        munmap(in->map, in->len);
    free(in->heap);
    memset(in, 0, sizeof(*in));
}

/* Prints s as a JSON string literal. */
static void put_json_string(FILE *out, const char *s, size_t len)
{
    char small[512];
    size_t need = ms_json_escape(s, len, small, sizeof(small));
    fputc('"', out);
    if (need < sizeof(small)) {
        fwrite(small, 1, need, out);
    } else {
        char *big = malloc(need + 1);
        if (big != NULL) {
            size_t got = ms_json_escape(s, len, big, need + 1);
            MS_ASSERT(got == need);
            fwrite(big, 1, need, out);
            free(big);
        }
    }
    fputc('"', out);
}

/* Result of the codec round trip, for printing. */
struct pipeline_result {
    bool ran;
    int rc;            /* 0 when the object came back identical */
    const char *stage; /* where it failed */
    unsigned k, m;
    uint64_t stored_bytes;
    unsigned dropped[2];
};

#if defined(MS_HAVE_CODEC) && MS_HAVE_CODEC
/* Encodes, drops two fragments, decodes and compares. */
static void run_codec(struct ms_codec_ctx *ctx, const struct ms_secret *key,
                      const struct input *in, enum ms_fmt_type type, struct pipeline_result *r)
{
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    if (type == MS_FMT_MP4)
        p.hint = MS_CODEC_HINT_RAW;
    struct ms_oid oid;
    struct ms_rng *rng = ms_rng_real();
    ms_rng_fill(rng, oid.b, sizeof(oid.b));
    struct ms_codec_fragments f;
    memset(&f, 0, sizeof(f));
    r->k = p.k;
    r->m = p.m;
    r->stage = "encode";
    r->rc = ms_codec_encode(ctx, &p, &oid, ms_secret_data(key), in->data, in->len, &f);
    if (r->rc < 0)
        return;
    r->stored_bytes = f.manifest_len;
    const uint8_t *frags[MS_FRAG_MAX_SHARDS];
    size_t lens[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < f.n; i++) {
        r->stored_bytes += f.frag_len[i];
        frags[i] = f.frag[i];
        lens[i] = f.frag_len[i];
    }
    r->dropped[0] = (unsigned)ms_rng_below(rng, f.n);
    r->dropped[1] = (r->dropped[0] + 1 + (unsigned)ms_rng_below(rng, f.n - 1)) % f.n;
    MS_ASSERT(r->dropped[0] != r->dropped[1]);
    frags[r->dropped[0]] = frags[r->dropped[1]] = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    r->stage = "decode";
    r->rc = ms_codec_decode(ctx, f.manifest, f.manifest_len, &oid, ms_secret_data(key), frags,
                            lens, f.n, &out, &out_len, NULL);
    bool same = out_len == in->len && (out_len == 0 || memcmp(out, in->data, out_len) == 0);
    if (r->rc == 0 && !same) {
        r->stage = "compare";
        r->rc = -MEDSTORE_ECORRUPT;
    }
    ms_codec_plain_free(out, out_len);
    ms_codec_fragments_free(&f);
}

static void run_pipeline(const struct input *in, enum ms_fmt_type type,
                         struct pipeline_result *r)
{
    MS_ASSERT(in != NULL && in->data != NULL);
    memset(r, 0, sizeof(*r));
    r->ran = true;
    r->stage = "setup";
    struct ms_codec_ctx *ctx = NULL;
    struct ms_secret *key = NULL;
    r->rc = ms_codec_ctx_create(&ctx);
    if (r->rc == 0)
        r->rc = ms_secret_create(MS_CODEC_KEY_BYTES, &key);
    if (r->rc == 0) {
        ms_rng_fill(ms_rng_real(), ms_secret_data_mut(key), MS_CODEC_KEY_BYTES);
        run_codec(ctx, key, in, type, r);
    }
    ms_secret_destroy(key);
    ms_codec_ctx_destroy(ctx);
    MS_ASSERT(r->rc <= 0);
}
#else
static void run_pipeline(const struct input *in, enum ms_fmt_type type,
                         struct pipeline_result *r)
{
    (void)in;
    (void)type;
    memset(r, 0, sizeof(*r));
    r->ran = true;
    r->stage = "setup";
    r->rc = -ENOSYS; /* this build has no codec library */
}
#endif

static void print_pipeline(FILE *out, const struct pipeline_result *r, uint64_t size)
{
    MS_ASSERT(r->ran);
    MS_ASSERT(r->rc == 0 || r->stage != NULL);
    fprintf(out, ",\n  \"pipeline\": {\"k\": %u, \"m\": %u, \"storedBytes\": %llu, ", r->k, r->m,
            (unsigned long long)r->stored_bytes);
    if (size > 0 && r->rc == 0)
        fprintf(out, "\"ratio\": %.4f, ", (double)r->stored_bytes / (double)size);
    else
        fputs("\"ratio\": null, ", out);
    fprintf(out, "\"dropped\": [%u, %u], \"roundTrip\": ", r->dropped[0], r->dropped[1]);
    if (r->rc == 0) {
        fputs("\"ok\"}", out);
        return;
    }
    fprintf(out, "\"failed\", \"stage\": \"%s\", \"error\": \"%s\"}", r->stage,
            ms_err_name(r->rc));
}

/* Counts we computed ourselves print as JSON numbers; everything read from the file is a
 * string, even when it looks numeric (DICOM IS values keep their exact text). */
static bool is_count(const struct ms_meta_kv *kv)
{
    if (kv->key != MS_META_ENTRY_COUNT && kv->key != MS_META_DURATION_MS)
        return false;
    if (kv->val.len == 0 || kv->val.len > 20)
        return false;
    for (size_t i = 0; i < kv->val.len; i++)
        if (kv->val.ptr[i] < '0' || kv->val.ptr[i] > '9')
            return false;
    return true;
}

static void print_meta(FILE *out, const struct ms_meta *m, int rc,
                       const struct pipeline_result *pr)
{
    MS_ASSERT(m != NULL && pr != NULL);
    MS_ASSERT(rc == 0 ? m->err_detail == NULL : m->n_kv == 0);
    fprintf(out, "{\n  \"type\": \"%s\",\n  \"size\": %llu", ms_formats_type_name(m->type),
            (unsigned long long)m->size_bytes);
    if (rc < 0)
        fprintf(out, ",\n  \"detectedType\": \"%s\",\n  \"formatError\": \"%s\"",
                ms_formats_type_name(m->detected), ms_err_name(rc));
    for (size_t i = 0; i < m->n_kv; i++) {
        const struct ms_meta_kv *kv = &m->kv[i];
        fprintf(out, ",\n  \"%s\": ", kv->name);
        if (is_count(kv))
            fwrite(kv->val.ptr, 1, kv->val.len, out);
        else
            put_json_string(out, kv->val.ptr, kv->val.len);
    }
    if (pr->ran)
        print_pipeline(out, pr, m->size_bytes);
    fputs("\n}\n", out);
}

/* Parses inspect's arguments. Returns -1 to go on, else the exit status. */
static int parse_inspect_args(int argc, char **argv, const char **path, bool *pipeline)
{
    MS_ASSERT(argc >= 1 && argv != NULL);
    MS_ASSERT(path != NULL && pipeline != NULL);
    *path = NULL;
    *pipeline = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--pipeline") == 0) {
            *pipeline = true;
        } else if (*path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            *path = strcmp(argv[i], "-") == 0 ? "/dev/stdin" : argv[i];
        } else {
            fprintf(stderr, "medstore: inspect: unexpected argument '%s'\n%s", argv[i],
                    usage_text);
            return EXIT_USAGE;
        }
    }
    if (*path == NULL) {
        fprintf(stderr, "medstore: inspect: FILE missing\n%s", usage_text);
        return EXIT_USAGE;
    }
    return -1;
}

/* The one-line reason for a refused file, on stderr (no patient data in it: static text). */
static void report_refusal(const char *path, const struct ms_meta *m, int rc)
{
    MS_ASSERT(rc < 0);
    MS_ASSERT(m->err_detail != NULL);
    if (m->err_offset != UINT64_MAX)
        fprintf(stderr, "medstore: %s: %s at offset %llu (%s)\n", path, m->err_detail,
                (unsigned long long)m->err_offset, ms_err_name(rc));
    else
        fprintf(stderr, "medstore: %s: %s (%s)\n", path, m->err_detail, ms_err_name(rc));
}

static int cmd_inspect(int argc, char **argv)
{
    const char *path;
    bool pipeline;
    int status = parse_inspect_args(argc, argv, &path, &pipeline);
    if (status >= 0)
        return status;
    MS_ASSERT(path != NULL);
    struct input in;
    int rc = input_open(path, &in);
    if (rc < 0) {
        fprintf(stderr, "medstore: %s: %s (%s)\n", path, medstore_strerror(rc), ms_err_name(rc));
        return EXIT_USAGE;
    }
    struct ms_meta m;
    rc = ms_formats_extract(in.data, in.len, &m);
    struct pipeline_result pr;
    memset(&pr, 0, sizeof(pr));
    if (pipeline)
        run_pipeline(&in, m.detected, &pr);
    print_meta(stdout, &m, rc, &pr);
    status = 0;
    if (rc < 0) {
        report_refusal(path, &m, rc);
        status = EXIT_MALFORMED;
    }
    if (pr.ran && pr.rc != 0) {
        fprintf(stderr, "medstore: %s: codec round trip failed at %s: %s (%s)\n", path,
                pr.stage, medstore_strerror(pr.rc), ms_err_name(pr.rc));
        status = EXIT_ROUNDTRIP;
    }
    ms_meta_fini(&m);
    input_close(&in);
    MS_ASSERT(status >= 0 && status <= EXIT_ROUNDTRIP);
    return status;
}

int main(int argc, char **argv)
{
    MS_ASSERT(argc >= 1);
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 1, argv + 1);
    fprintf(stderr, "medstore: unknown command '%s'\n%s", argv[1], usage_text);
    return EXIT_USAGE;
}
