/*
 * config.c - parser of the key = value configuration format (config.h, docs/config.md).
 *
 * One pass over a private copy of the input: lines are split on '\n' (a trailing '\r' is
 * dropped), checked for NUL/control bytes and length, trimmed, split at the first '=', and
 * each key and value is NUL-terminated in place, so values need no further allocation.
 * Each value is typed against the schema as soon as it is read, so every error carries the
 * line it was found on; only "missing required key" has none (line 0). Values are then
 * grouped by key with a counting sort: key k owns vals[first[k] .. first[k + 1]), in file
 * order, which makes every getter a short scan over the schema and an index.
 *
 * Invariants of a parsed config: every value parsed under its key's type and bounds; a
 * scalar key has at most one value; a list key at most max_count; n_vals <=
 * MS_CONFIG_ENTRIES_MAX + n_keys (defaults). Refused: unknown keys, repeated scalars, NUL
 * and control bytes, lines over MS_CONFIG_LINE_MAX, files over MS_CONFIG_FILE_MAX.
 * Privacy: values of MS_CONFIG_SECRET keys never appear in messages; keys that fail the
 * key syntax are not echoed either (a pasted secret is not a key); the input copy is wiped
 * on destroy and on every failure.
 */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/ms_assert.h"
#include "common/ms_limits.h"

struct cfg_val {
    const char *text; /* NUL-terminated: inside cfg->text, or the schema's default */
    uint64_t num;     /* U64/SIZE/DURATION value, BOOL 0/1, ENUM index; 0 for STRING */
    unsigned line;    /* 0 for a default */
    unsigned key;     /* index in the schema */
};

struct ms_config {
    const struct ms_config_schema *schema;
    char *text;           /* copy of the input; values NUL-terminated inside it */
    size_t text_cap;      /* bytes allocated for text (all wiped on destroy) */
    struct cfg_val *vals; /* grouped by key in schema order, file order within a key */
    size_t n_vals;
    size_t *first; /* n_keys + 1 offsets: key k owns vals[first[k] .. first[k + 1]) */
};

struct parse_ctx {
    const struct ms_config_schema *schema;
    struct ms_config_error *err;
    struct cfg_val *vals; /* file order; cap_vals entries */
    size_t n_vals;
    size_t cap_vals;
    size_t n_file_vals;  /* values read from the file (defaults excluded) */
    unsigned *seen_line; /* per key: line of its first value, 0 if none yet */
    unsigned *count;     /* per key: values so far */
};

struct unit {
    const char *suffix;
    uint64_t mult;
};

static const struct unit size_units[] = {
    {"", 1},          {"B", 1},         {"K", MS_KIB}, {"KiB", MS_KIB}, {"M", MS_MIB},
    {"MiB", MS_MIB},  {"G", MS_GIB},    {"GiB", MS_GIB}, {"T", MS_TIB}, {"TiB", MS_TIB},
};

static const struct unit duration_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000},
};

static int cfg_fail(struct ms_config_error *err, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills err ("line N: " + message) and returns -MEDSTORE_ECONFIG. */
static int cfg_fail(struct ms_config_error *err, unsigned line, const char *fmt, ...)
{
    MS_ASSERT(err != NULL);
    MS_ASSERT(fmt != NULL);
    size_t off = 0;
    err->line = line;
    err->msg[0] = '\0';
    if (line > 0) {
        int n = snprintf(err->msg, sizeof(err->msg), "line %u: ", line);
        off = n > 0 && (size_t)n < sizeof(err->msg) ? (size_t)n : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
    va_end(ap);
    return -MEDSTORE_ECONFIG;
}

static bool key_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
}

static bool key_syntax_ok(const char *k, size_t n)
{
    if (n == 0 || n > MS_CONFIG_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!key_char_ok(k[i]))
            return false;
    return true;
}

/* Parses decimal digits at s; *end points past them. Returns 0, or -1 (none, overflow). */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(out != NULL);
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *end = p;
    *out = v;
    return p == s ? -1 : 0;
}

/* Parses "<digits>[ ]<unit>" with a unit from the table; bad_unit is the reason given for
 * an unknown suffix. why: reason on failure. */
static int parse_with_unit(const char *v, const struct unit *units, size_t n_units,
                           const char *bad_unit, uint64_t *out, const char **why)
{
    MS_ASSERT(v != NULL);
    MS_ASSERT(units != NULL);
    const char *p;
    uint64_t n;
    if (parse_digits(v, &p, &n) != 0) {
        *why = *v >= '0' && *v <= '9' ? "is too large" : "is not a whole number";
        return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    for (size_t i = 0; i < n_units; i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        if (n > UINT64_MAX / units[i].mult) {
            *why = "is too large";
            return -1;
        }
        *out = n * units[i].mult;
        return 0;
    }
    *why = bad_unit;
    return -1;
}

static int parse_bool(const char *v, uint64_t *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    MS_ASSERT(v != NULL);
    MS_ASSERT(out != NULL);
    for (size_t i = 0; i < MS_ARRAY_LEN(yes); i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_enum(const char *const *choices, const char *v, uint64_t *out)
{
    MS_ASSERT(choices != NULL);
    MS_ASSERT(v != NULL);
    for (uint64_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

/* Writes "is not one of: a, b, c" into why (truncated to cap). */
static void enum_why(const char *const *choices, char *why, size_t cap)
{
    MS_ASSERT(choices != NULL);
    MS_ASSERT(why != NULL && cap > 0);
    size_t off = 0;
    int n = snprintf(why, cap, "is not one of:");
    for (size_t i = 0; n >= 0 && choices[i] != NULL; i++) {
        off += (size_t)n;
        if (off >= cap)
            return;
        n = snprintf(why + off, cap - off, "%s %s", i == 0 ? "" : ",", choices[i]);
    }
}

/* Parses v under key k's type and bounds into *num. On failure writes a reason into why
 * (a phrase following the value, e.g. "is out of range 1..65535") and returns -1. */
static int value_parse(const struct ms_config_key *k, const char *v, uint64_t *num,
                       char *why, size_t why_cap)
{
    MS_ASSERT(k != NULL && v != NULL);
    MS_ASSERT(why != NULL && why_cap > 0);
    const char *reason = NULL;
    int rc = 0;
    *num = 0;
    switch (k->type) {
    case MS_CONFIG_STRING:
        return 0;
    case MS_CONFIG_BOOL:
        if (parse_bool(v, num) == 0)
            return 0;
        snprintf(why, why_cap, "is not a boolean (true/false, yes/no, on/off, 1/0)");
        return -1;
    case MS_CONFIG_ENUM:
        if (parse_enum(k->choices, v, num) == 0)
            return 0;
        enum_why(k->choices, why, why_cap);
        return -1;
    case MS_CONFIG_U64:
        rc = parse_with_unit(v, size_units, 1, "is not a whole number", num, &reason);
        break;
    case MS_CONFIG_SIZE:
        rc = parse_with_unit(v, size_units, MS_ARRAY_LEN(size_units),
                             "has an unknown unit (use B, K, M, G, T)", num, &reason);
        break;
    case MS_CONFIG_DURATION:
        rc = parse_with_unit(v, duration_units, MS_ARRAY_LEN(duration_units),
                             "has an unknown unit (use ms, s, m, h)", num, &reason);
        break;
    }
    if (rc != 0) {
        snprintf(why, why_cap, "%s", reason);
        return -1;
    }
    if (*num < k->min || (k->max != 0 && *num > k->max)) {
        if (k->max != 0)
            snprintf(why, why_cap, "is out of range %llu..%llu", (unsigned long long)k->min,
                     (unsigned long long)k->max);
        else
            snprintf(why, why_cap, "is below the minimum %llu", (unsigned long long)k->min);
        return -1;
    }
    return 0;
}

/* Asserts the schema is well formed: a broken schema is a bug, never user input. */
static void schema_check(const struct ms_config_schema *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->keys != NULL);
    MS_ASSERT(s->n_keys >= 1 && s->n_keys <= MS_CONFIG_SCHEMA_KEYS_MAX);
    for (size_t i = 0; i < s->n_keys; i++) {
        const struct ms_config_key *k = &s->keys[i];
        MS_ASSERT(k->name != NULL);
        MS_ASSERT(key_syntax_ok(k->name, strlen(k->name)));
        MS_ASSERT(k->type >= MS_CONFIG_STRING && k->type <= MS_CONFIG_ENUM);
        MS_ASSERT(k->type != MS_CONFIG_ENUM || (k->choices != NULL && k->choices[0] != NULL));
        MS_ASSERT(k->max == 0 || k->min <= k->max);
        MS_ASSERT(k->max_count <= MS_CONFIG_ENTRIES_MAX);
        MS_ASSERT(k->max_count == 0 || (k->flags & MS_CONFIG_LIST) != 0);
        if (k->default_value != NULL) {
            MS_ASSERT((k->flags & (MS_CONFIG_LIST | MS_CONFIG_REQUIRED)) == 0);
            uint64_t num;
            char why[128];
            int rc = value_parse(k, k->default_value, &num, why, sizeof(why));
            MS_ASSERT(rc == 0); /* the schema's default must be a valid value */
        }
        for (size_t j = 0; j < i; j++)
            MS_ASSERT(strcmp(s->keys[j].name, k->name) != 0);
    }
}

/* Writes how a value is shown in messages: quoted and sanitised, or hidden (secret). */
static void value_shown(const struct ms_config_key *k, const char *v, char *out, size_t cap)
{
    MS_ASSERT(k != NULL && v != NULL);
    MS_ASSERT(out != NULL && cap >= 48);
    if ((k->flags & MS_CONFIG_SECRET) != 0) {
        snprintf(out, cap, "value (not shown: secret)");
        return;
    }
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; v[i] != '\0'; i++) {
        if (i == 32) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)v[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[o++] = '"';
    out[o] = '\0';
    MS_ASSERT(o < cap);
}

static int key_lookup(const struct ms_config_schema *s, const char *name)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(name != NULL);
    for (size_t i = 0; i < s->n_keys; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Types the value of key index ki and records it; checks repeats and list caps. */
static int value_add(struct parse_ctx *c, unsigned ki, const char *v, unsigned line)
{
    MS_ASSERT(ki < c->schema->n_keys);
    MS_ASSERT(line >= 1);
    const struct ms_config_key *k = &c->schema->keys[ki];
    bool list = (k->flags & MS_CONFIG_LIST) != 0;
    unsigned max_count = k->max_count != 0 ? k->max_count : MS_CONFIG_ENTRIES_MAX;
    if (c->n_file_vals >= MS_CONFIG_ENTRIES_MAX)
        return cfg_fail(c->err, line, "more than %d settings", MS_CONFIG_ENTRIES_MAX);
    if (!list && c->seen_line[ki] != 0)
        return cfg_fail(c->err, line, "key \"%s\" repeated (first set on line %u)", k->name,
                        c->seen_line[ki]);
    if (list && c->count[ki] >= max_count)
        return cfg_fail(c->err, line, "key \"%s\" has more than %u values", k->name,
                        max_count);
    uint64_t num;
    char why[160];
    if (value_parse(k, v, &num, why, sizeof(why)) != 0) {
        char shown[48];
        value_shown(k, v, shown, sizeof(shown));
        return cfg_fail(c->err, line, "key \"%s\": %s %s", k->name, shown, why);
    }
    MS_ASSERT(c->n_vals < c->cap_vals);
    c->vals[c->n_vals++] = (struct cfg_val){.text = v, .num = num, .line = line, .key = ki};
    c->n_file_vals++;
    if (c->seen_line[ki] == 0)
        c->seen_line[ki] = line;
    c->count[ki]++;
    return 0;
}

/* Checks the raw bytes of one line (without its '\n'); returns its length without '\r'. */
static int line_check(struct parse_ctx *c, const char *p, size_t n, unsigned line,
                      size_t *n_out)
{
    MS_ASSERT(p != NULL);
    MS_ASSERT(line >= 1);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n > MS_CONFIG_LINE_MAX)
        return cfg_fail(c->err, line, "line longer than %d bytes", MS_CONFIG_LINE_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\0')
            return cfg_fail(c->err, line, "NUL byte at column %zu", i + 1);
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return cfg_fail(c->err, line, "control character 0x%02x at column %zu", ch,
                            i + 1);
    }
    *n_out = n;
    return 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Parses one line of n bytes at p (in the private copy: it is NUL-terminated in place;
 * p[n] is writable). */
static int parse_line(struct parse_ctx *c, char *p, size_t n, unsigned line)
{
    MS_ASSERT(c != NULL && p != NULL);
    MS_ASSERT(line >= 1);
    int rc = line_check(c, p, n, line, &n);
    if (rc != 0)
        return rc;
    char *s = p, *e = p + n;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (s == e || *s == '#')
        return 0;
    char *eq = memchr(s, '=', (size_t)(e - s));
    if (eq == NULL)
        return cfg_fail(c->err, line, "expected key = value");
    char *ke = eq;
    while (ke > s && is_blank(ke[-1]))
        ke--;
    if (!key_syntax_ok(s, (size_t)(ke - s)))
        return cfg_fail(c->err, line, "invalid key (1 to %d of a-z, 0-9, '_', '.' before '=')",
                        MS_CONFIG_KEY_MAX);
    char *vs = eq + 1;
    while (vs < e && is_blank(*vs))
        vs++;
    if (vs == e)
        return cfg_fail(c->err, line, "empty value (write \"\" for an empty string)");
    if (*vs == '"') {
        if (e - vs < 2 || e[-1] != '"')
            return cfg_fail(c->err, line, "unterminated quoted value");
        vs++;
        e--;
        if (memchr(vs, '"', (size_t)(e - vs)) != NULL)
            return cfg_fail(c->err, line, "'\"' inside a quoted value");
    }
    *ke = '\0';
    *e = '\0';
    int ki = key_lookup(c->schema, s);
    if (ki < 0)
        return cfg_fail(c->err, line, "unknown key \"%s\"", s);
    return value_add(c, (unsigned)ki, vs, line);
}

static int parse_lines(struct parse_ctx *c, char *text, size_t len)
{
    MS_ASSERT(c != NULL);
    MS_ASSERT(text != NULL);
    char *p = text;
    char *end = text + len;
    unsigned line = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        int rc = parse_line(c, p, n, line);
        if (rc != 0)
            return rc;
        p += n + (nl != NULL ? 1 : 0);
    }
    MS_ASSERT(p == end);
    return 0;
}

/* After the last line: required keys present; defaults added for unset scalars. */
static int apply_defaults(struct parse_ctx *c)
{
    MS_ASSERT(c != NULL);
    MS_ASSERT(c->n_vals <= c->cap_vals);
    for (size_t i = 0; i < c->schema->n_keys; i++) {
        const struct ms_config_key *k = &c->schema->keys[i];
        if (c->count[i] > 0)
            continue;
        if ((k->flags & MS_CONFIG_REQUIRED) != 0)
            return cfg_fail(c->err, 0, "missing required key \"%s\"", k->name);
        if (k->default_value == NULL)
            continue;
        uint64_t num;
        char why[160];
        int rc = value_parse(k, k->default_value, &num, why, sizeof(why));
        MS_ASSERT(rc == 0);
        MS_ASSERT(c->n_vals < c->cap_vals);
        c->vals[c->n_vals++] = (struct cfg_val){
            .text = k->default_value, .num = num, .line = 0, .key = (unsigned)i};
        c->count[i]++;
    }
    return 0;
}

/* Moves the values into cfg grouped by key (stable counting sort). */
static int group_values(struct parse_ctx *c, struct ms_config *cfg)
{
    MS_ASSERT(c != NULL && cfg != NULL);
    size_t nk = c->schema->n_keys;
    cfg->first = calloc(nk + 1, sizeof(*cfg->first));
    cfg->vals = malloc((c->n_vals > 0 ? c->n_vals : 1) * sizeof(*cfg->vals));
    if (cfg->first == NULL || cfg->vals == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < nk; i++)
        cfg->first[i + 1] = cfg->first[i] + c->count[i];
    MS_ASSERT(cfg->first[nk] == c->n_vals);
    for (size_t i = 0; i < nk; i++)
        c->count[i] = 0;
    for (size_t i = 0; i < c->n_vals; i++) {
        unsigned k = c->vals[i].key;
        cfg->vals[cfg->first[k] + c->count[k]++] = c->vals[i];
    }
    cfg->n_vals = c->n_vals;
    return 0;
}

static void config_free(struct ms_config *cfg)
{
    if (cfg == NULL)
        return;
    if (cfg->text != NULL)
        sodium_memzero(cfg->text, cfg->text_cap);
    free(cfg->text);
    free(cfg->vals);
    free(cfg->first);
    free(cfg);
}

/* Counts lines (for sizing the value table): '\n's, plus one for an unterminated tail. */
static size_t count_lines(const char *p, size_t len)
{
    size_t n = 0;
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        n++;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return n;
}

static int parse_run(struct parse_ctx *c, struct ms_config *cfg, size_t len)
{
    MS_ASSERT(c != NULL && cfg != NULL);
    MS_ASSERT(len <= MS_CONFIG_FILE_MAX);
    size_t lines = count_lines(cfg->text, len);
    size_t file_vals = lines < MS_CONFIG_ENTRIES_MAX ? lines : MS_CONFIG_ENTRIES_MAX;
    c->cap_vals = file_vals + c->schema->n_keys;
    c->vals = malloc(c->cap_vals * sizeof(*c->vals));
    c->seen_line = calloc(c->schema->n_keys, sizeof(*c->seen_line));
    c->count = calloc(c->schema->n_keys, sizeof(*c->count));
    if (c->vals == NULL || c->seen_line == NULL || c->count == NULL)
        return -ENOMEM;
    int rc = parse_lines(c, cfg->text, len);
    if (rc == 0)
        rc = apply_defaults(c);
    if (rc == 0)
        rc = group_values(c, cfg);
    return rc;
}

int ms_config_parse_buf(const struct ms_config_schema *schema, const void *buf, size_t len,
                        struct ms_config **out, struct ms_config_error *err)
{
    MS_ASSERT(buf != NULL || len == 0);
    MS_ASSERT(out != NULL && err != NULL);
    schema_check(schema);
    if (len > MS_CONFIG_FILE_MAX)
        return cfg_fail(err, 0, "larger than %d bytes", MS_CONFIG_FILE_MAX);
    struct ms_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return -ENOMEM;
    cfg->schema = schema;
    cfg->text_cap = len + 1;
    cfg->text = malloc(cfg->text_cap);
    if (cfg->text == NULL) {
        free(cfg);
        return -ENOMEM;
    }
    if (len > 0)
        memcpy(cfg->text, buf, len);
    cfg->text[len] = '\0';
    struct parse_ctx c = {.schema = schema, .err = err};
    int rc = parse_run(&c, cfg, len);
    free(c.vals);
    free(c.seen_line);
    free(c.count);
    if (rc != 0) {
        if (rc == -ENOMEM)
            cfg_fail(err, 0, "out of memory");
        config_free(cfg);
        return rc;
    }
    MS_ASSERT(cfg->first[schema->n_keys] == cfg->n_vals);
    *out = cfg;
    return 0;
}

int ms_config_parse_file(const struct ms_config_schema *schema, const char *path,
                         struct ms_config **out, struct ms_config_error *err)
{
    MS_ASSERT(path != NULL);
    MS_ASSERT(out != NULL && err != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = -errno;
        cfg_fail(err, 0, "cannot open %s: %s", path, medstore_strerror(e));
        return e;
    }
    size_t cap = (size_t)MS_CONFIG_FILE_MAX + 1; /* one more: detects a file too large */
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        cfg_fail(err, 0, "out of memory");
        return -ENOMEM;
    }
    ssize_t n = ms_fd_read_full(fd, buf, cap);
    close(fd);
    int rc;
    if (n < 0) {
        rc = (int)n;
        cfg_fail(err, 0, "cannot read %s: %s", path, medstore_strerror(rc));
    } else if ((size_t)n > MS_CONFIG_FILE_MAX) {
        rc = cfg_fail(err, 0, "%s: larger than %d bytes", path, MS_CONFIG_FILE_MAX);
    } else {
        rc = ms_config_parse_buf(schema, buf, (size_t)n, out, err);
    }
    sodium_memzero(buf, n > 0 ? (size_t)n : 0);
    free(buf);
    return rc;
}

void ms_config_destroy(struct ms_config *cfg)
{
    config_free(cfg);
}

/* Index of a declared key; asserts it exists (asking for an undeclared key is a bug). */
static unsigned key_index(const struct ms_config *cfg, const char *key)
{
    MS_ASSERT(cfg != NULL);
    MS_ASSERT(key != NULL);
    int ki = key_lookup(cfg->schema, key);
    MS_ASSERT(ki >= 0);
    return (unsigned)ki;
}

/* The value of a scalar key (NULL when unset), asserting it is scalar. */
static const struct cfg_val *scalar(const struct ms_config *cfg, const char *key,
                                    enum ms_config_type *type)
{
    unsigned k = key_index(cfg, key);
    const struct ms_config_key *sk = &cfg->schema->keys[k];
    MS_ASSERT((sk->flags & MS_CONFIG_LIST) == 0);
    MS_ASSERT(cfg->first[k + 1] - cfg->first[k] <= 1);
    *type = sk->type;
    return cfg->first[k + 1] > cfg->first[k] ? &cfg->vals[cfg->first[k]] : NULL;
}

bool ms_config_has(const struct ms_config *cfg, const char *key)
{
    unsigned k = key_index(cfg, key);
    MS_ASSERT(cfg->first[k] <= cfg->first[k + 1]);
    return cfg->first[k + 1] > cfg->first[k];
}

const char *ms_config_get_str(const struct ms_config *cfg, const char *key)
{
    enum ms_config_type t;
    const struct cfg_val *v = scalar(cfg, key, &t);
    MS_ASSERT(v == NULL || v->text != NULL);
    return v != NULL ? v->text : NULL;
}

uint64_t ms_config_get_u64(const struct ms_config *cfg, const char *key)
{
    enum ms_config_type t;
    const struct cfg_val *v = scalar(cfg, key, &t);
    MS_ASSERT(t == MS_CONFIG_U64 || t == MS_CONFIG_SIZE || t == MS_CONFIG_DURATION);
    return v != NULL ? v->num : 0;
}

bool ms_config_get_bool(const struct ms_config *cfg, const char *key)
{
    enum ms_config_type t;
    const struct cfg_val *v = scalar(cfg, key, &t);
    MS_ASSERT(t == MS_CONFIG_BOOL);
    return v != NULL && v->num != 0;
}

unsigned ms_config_get_enum(const struct ms_config *cfg, const char *key)
{
    enum ms_config_type t;
    const struct cfg_val *v = scalar(cfg, key, &t);
    MS_ASSERT(t == MS_CONFIG_ENUM);
    return v != NULL ? (unsigned)v->num : 0;
}

unsigned ms_config_line(const struct ms_config *cfg, const char *key)
{
    enum ms_config_type t;
    const struct cfg_val *v = scalar(cfg, key, &t);
    MS_ASSERT(v == NULL || v->key == key_index(cfg, key));
    return v != NULL ? v->line : 0;
}

/* Value i of a list key, asserting the key is a list and i is in range. */
static const struct cfg_val *list_val(const struct ms_config *cfg, const char *key, size_t i)
{
    unsigned k = key_index(cfg, key);
    MS_ASSERT((cfg->schema->keys[k].flags & MS_CONFIG_LIST) != 0);
    MS_ASSERT(i < cfg->first[k + 1] - cfg->first[k]);
    return &cfg->vals[cfg->first[k] + i];
}

size_t ms_config_list_count(const struct ms_config *cfg, const char *key)
{
    unsigned k = key_index(cfg, key);
    MS_ASSERT((cfg->schema->keys[k].flags & MS_CONFIG_LIST) != 0);
    return cfg->first[k + 1] - cfg->first[k];
}

const char *ms_config_list_at(const struct ms_config *cfg, const char *key, size_t i)
{
    const struct cfg_val *v = list_val(cfg, key, i);
    MS_ASSERT(v->text != NULL);
    return v->text;
}

uint64_t ms_config_list_u64_at(const struct ms_config *cfg, const char *key, size_t i)
{
    const struct cfg_val *v = list_val(cfg, key, i);
    enum ms_config_type t = cfg->schema->keys[v->key].type;
    MS_ASSERT(t == MS_CONFIG_U64 || t == MS_CONFIG_SIZE || t == MS_CONFIG_DURATION);
    return v->num;
}

unsigned ms_config_list_line(const struct ms_config *cfg, const char *key, size_t i)
{
    const struct cfg_val *v = list_val(cfg, key, i);
    MS_ASSERT(v->line >= 1);
    return v->line;
}
