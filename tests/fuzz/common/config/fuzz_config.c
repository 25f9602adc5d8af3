/*
 * fuzz_config.c - libFuzzer target for the config parser (src/common/config.c).
 *
 * Properties checked on every input, beyond "no crash, no leak, no UB":
 *  - a refusal is -MEDSTORE_ECONFIG with a non-empty, NUL-terminated message and a line
 *    number inside the input (1 .. number of lines); the schema has no required key, so
 *    every error belongs to a line;
 *  - an accepted input yields values free of NUL, newline and control bytes, list counts
 *    within their caps, and survives a round trip: writing the parsed values back out as
 *    `key=value` lines (quoted where needed) and parsing that gives the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/ms_assert.h"
#include "common/ms_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const choices[] = {"a", "bb", "ccc", NULL};

static const struct ms_config_key keys[] = {
    {.name = "s", .type = MS_CONFIG_STRING},
    {.name = "n", .type = MS_CONFIG_U64, .min = 1, .max = 1000},
    {.name = "b", .type = MS_CONFIG_BOOL, .default_value = "no"},
    {.name = "size", .type = MS_CONFIG_SIZE, .default_value = "4K"},
    {.name = "t", .type = MS_CONFIG_DURATION},
    {.name = "e", .type = MS_CONFIG_ENUM, .choices = choices},
    {.name = "l", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_LIST, .max_count = 8},
    {.name = "ln", .type = MS_CONFIG_U64, .flags = MS_CONFIG_LIST},
    {.name = "secret", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_SECRET},
    {.name = "x.y_z", .type = MS_CONFIG_SIZE, .flags = MS_CONFIG_LIST},
};

static const struct ms_config_schema schema = {keys, MS_ARRAY_LEN(keys)};

static unsigned count_lines(const uint8_t *p, size_t n)
{
    unsigned lines = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n')
            lines++;
    if (n > 0 && p[n - 1] != '\n')
        lines++;
    return lines;
}

static void check_value(const char *v)
{
    MS_ASSERT(v != NULL);
    MS_ASSERT(strlen(v) <= MS_CONFIG_LINE_MAX);
    for (const char *p = v; *p != '\0'; p++)
        MS_ASSERT((unsigned char)*p >= 0x20 || *p == '\t');
}

/* Appends "key=value\n", quoting values that need it to keep their spaces. The line is
 * never longer than the one the value came from, so the line limit cannot reject it. */
static void emit(struct ms_buf *out, const char *key, const char *v)
{
    size_t n = strlen(v);
    bool quote = n == 0 || v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t';
    /* No value starts with '"' (that is the quoted form), and a value that needs quotes
     * came from the quoted form, which cannot hold a '"'. */
    MS_ASSERT(v[0] != '"');
    MS_ASSERT(!quote || strchr(v, '"') == NULL);
    int rc = ms_buf_append(out, key, strlen(key));
    rc |= ms_buf_append(out, "=", 1);
    rc |= ms_buf_append(out, "\"", quote ? 1 : 0);
    rc |= ms_buf_append(out, v, n);
    rc |= ms_buf_append(out, "\"", quote ? 1 : 0);
    rc |= ms_buf_append(out, "\n", 1);
    MS_ASSERT(rc == 0);
}

static void serialise(const struct ms_config *cfg, struct ms_buf *out)
{
    for (size_t k = 0; k < schema.n_keys; k++) {
        const char *key = keys[k].name;
        if ((keys[k].flags & MS_CONFIG_LIST) != 0) {
            for (size_t i = 0; i < ms_config_list_count(cfg, key); i++)
                emit(out, key, ms_config_list_at(cfg, key, i));
        } else if (ms_config_line(cfg, key) != 0) {
            emit(out, key, ms_config_get_str(cfg, key));
        }
    }
}

static void check_same(const struct ms_config *a, const struct ms_config *b)
{
    for (size_t k = 0; k < schema.n_keys; k++) {
        const char *key = keys[k].name;
        if ((keys[k].flags & MS_CONFIG_LIST) != 0) {
            size_t n = ms_config_list_count(a, key);
            MS_ASSERT(n == ms_config_list_count(b, key));
            MS_ASSERT(n <= MS_CONFIG_ENTRIES_MAX);
            MS_ASSERT(keys[k].max_count == 0 || n <= keys[k].max_count);
            for (size_t i = 0; i < n; i++) {
                check_value(ms_config_list_at(a, key, i));
                MS_ASSERT(strcmp(ms_config_list_at(a, key, i), ms_config_list_at(b, key, i)) ==
                          0);
            }
            continue;
        }
        MS_ASSERT(ms_config_has(a, key) == ms_config_has(b, key));
        if (!ms_config_has(a, key))
            continue;
        check_value(ms_config_get_str(a, key));
        MS_ASSERT(strcmp(ms_config_get_str(a, key), ms_config_get_str(b, key)) == 0);
    }
    MS_ASSERT(ms_config_get_u64(a, "n") == ms_config_get_u64(b, "n"));
    MS_ASSERT(ms_config_get_u64(a, "size") == ms_config_get_u64(b, "size"));
    MS_ASSERT(ms_config_get_bool(a, "b") == ms_config_get_bool(b, "b"));
    MS_ASSERT(ms_config_get_enum(a, "e") == ms_config_get_enum(b, "e"));
}

static void check_error(int rc, const struct ms_config_error *err, const uint8_t *data,
                        size_t size)
{
    MS_ASSERT(rc == -MEDSTORE_ECONFIG);
    MS_ASSERT(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    MS_ASSERT(err->msg[0] != '\0');
    if (size > MS_CONFIG_FILE_MAX) {
        MS_ASSERT(err->line == 0);
        return;
    }
    MS_ASSERT(err->line >= 1);
    MS_ASSERT(err->line <= count_lines(data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ms_config *cfg = NULL;
    struct ms_config_error err;
    memset(&err, 0x5a, sizeof(err));
    int rc = ms_config_parse_buf(&schema, data, size, &cfg, &err);
    if (rc != 0) {
        MS_ASSERT(cfg == NULL);
        check_error(rc, &err, data, size);
        return 0;
    }
    MS_ASSERT(cfg != NULL);
    struct ms_buf out;
    ms_buf_init(&out);
    serialise(cfg, &out);
    struct ms_config *again = NULL;
    rc = ms_config_parse_buf(&schema, out.data, out.len, &again, &err);
    MS_ASSERT(rc == 0);
    check_same(cfg, again);
    ms_config_destroy(again);
    ms_config_destroy(cfg);
    ms_buf_fini(&out);
    return 0;
}
