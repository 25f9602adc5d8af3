/*
 * config.h - the one configuration file format of every medstore daemon and tool.
 *
 * Format (docs/config.md):
 *
 *   # medstore-node
 *   node_id = 7
 *   data_dir = /srv/medstore/node7
 *   segment_size = 4 MiB
 *   token_clock_skew = 30s
 *   token_pubkey = 1:Jr7Qw...base64...=          (a LIST key: may repeat)
 *   token_pubkey = 2:Pq9Xa...base64...=
 *   banner = "  keeps its spaces  "
 *
 * One `key = value` per line; blank lines and lines whose first non-blank character is '#'
 * are comments ('#' later in a line is part of the value). Whitespace around key and value
 * is trimmed; a value in double quotes keeps its spaces (no escapes; no '"' inside). Keys
 * match [a-z0-9_.]+. LF or CRLF line ends; the last newline is optional. NUL and other
 * control bytes (tab excepted) are refused. Values are typed by the caller's schema.
 *
 * Errors name the line: unknown key, a scalar key given twice (both lines), bad or
 * out-of-range values (the value is echoed only for keys not marked MS_CONFIG_SECRET),
 * missing required keys (line 0), and the limits of ms_limits.h (MS_CONFIG_FILE_MAX,
 * MS_CONFIG_LINE_MAX, MS_CONFIG_ENTRIES_MAX).
 *
 * Ownership: a parsed struct ms_config owns a copy of every value; strings it returns stay
 * valid until ms_config_destroy(). The schema (and its strings) must outlive the config.
 * Thread safety: parsing is reentrant; a parsed config is immutable, so any number of
 * threads may read it.
 */
#ifndef MS_COMMON_CONFIG_H
#define MS_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum ms_config_type {
    MS_CONFIG_STRING = 1, /* any text */
    MS_CONFIG_U64,        /* decimal digits; min..max */
    MS_CONFIG_BOOL,       /* true/false, yes/no, on/off, 1/0 */
    MS_CONFIG_SIZE,       /* bytes: digits, optional B, K/KiB, M/MiB, G/GiB, T/TiB (x1024) */
    MS_CONFIG_DURATION,   /* milliseconds: digits, optional ms, s, m, h (bare digits = ms) */
    MS_CONFIG_ENUM,       /* one of the schema's choices, exactly */
};

#define MS_CONFIG_REQUIRED 1u /* the file must set the key (a LIST key: at least once) */
#define MS_CONFIG_LIST 2u     /* the key may repeat; values keep file order */
#define MS_CONFIG_SECRET 4u   /* never echo the value in an error message */

/* One key of a schema. Use designated initializers; unset fields are zero. */
struct ms_config_key {
    const char *name;                 /* [a-z0-9_.]+, unique in the schema */
    enum ms_config_type type;
    unsigned flags;                   /* MS_CONFIG_* */
    const char *default_value;        /* in file syntax (unquoted); NULL: none. Scalars only,
                                         not with MS_CONFIG_REQUIRED */
    uint64_t min;                     /* U64, SIZE, DURATION: inclusive bounds (bytes, ms); */
    uint64_t max;                     /*   max 0 means no upper bound */
    const char *const *choices;       /* ENUM: NULL-terminated list */
    unsigned max_count;               /* LIST: most values allowed; 0: MS_CONFIG_ENTRIES_MAX */
};

struct ms_config_schema {
    const struct ms_config_key *keys;
    size_t n_keys; /* <= MS_CONFIG_SCHEMA_KEYS_MAX */
};

/* Filled on failure. msg is one self-contained line ("line 7: key \"node_id\" repeated
 * (first set on line 3)"), NUL-terminated, never holding a secret key's value. */
struct ms_config_error {
    unsigned line; /* 1-based line of the error; 0 when it belongs to no line */
    char msg[256];
};

struct ms_config;

/* Parses len bytes of buf (not NUL-terminated; may hold any bytes) against schema.
 * A broken schema (bad name, duplicate, default that does not parse) is a bug: asserts.
 * On success *out owns a new config (ms_config_destroy) and err is untouched; on failure
 * *out is untouched and err is filled. Returns 0, -MEDSTORE_ECONFIG, -ENOMEM. */
MS_MUST_CHECK int ms_config_parse_buf(const struct ms_config_schema *schema, const void *buf,
                                      size_t len, struct ms_config **out,
                                      struct ms_config_error *err);

/* Reads the file at path (at most MS_CONFIG_FILE_MAX bytes) and parses it like
 * ms_config_parse_buf. Returns 0, -MEDSTORE_ECONFIG, -ENOMEM, or -errno when the file cannot
 * be read (err->msg names the path). The read buffer is wiped before it is freed. */
MS_MUST_CHECK int ms_config_parse_file(const struct ms_config_schema *schema, const char *path,
                                       struct ms_config **out, struct ms_config_error *err);

/* Wipes every value and frees the config. NULL is accepted. */
void ms_config_destroy(struct ms_config *cfg);

/* The getters below take a key name the schema declares, of the type they read; anything
 * else is a bug and asserts. */

/* True when the key has a value: set in the file or defaulted (LIST: set at least once). */
bool ms_config_has(const struct ms_config *cfg, const char *key);

/* A scalar key's value as written (quotes removed), any type; NULL when unset without
 * default. Valid until ms_config_destroy(cfg). */
const char *ms_config_get_str(const struct ms_config *cfg, const char *key);

/* A U64, SIZE (bytes) or DURATION (ms) scalar; 0 when unset without default. */
uint64_t ms_config_get_u64(const struct ms_config *cfg, const char *key);

/* A BOOL scalar; false when unset without default. */
bool ms_config_get_bool(const struct ms_config *cfg, const char *key);

/* An ENUM scalar: the index of its value in the schema's choices; 0 when unset without
 * default (check ms_config_has). */
unsigned ms_config_get_enum(const struct ms_config *cfg, const char *key);

/* The line a scalar key was set on; 0 when defaulted or unset. For callers reporting their
 * own checks of a value (e.g. "line 4: token_pubkey: bad base64"). */
unsigned ms_config_line(const struct ms_config *cfg, const char *key);

/* Number of values of a LIST key (0 when absent). */
size_t ms_config_list_count(const struct ms_config *cfg, const char *key);

/* Value i (< count, asserted) of a LIST key, in file order, as written; valid until
 * ms_config_destroy(cfg). */
const char *ms_config_list_at(const struct ms_config *cfg, const char *key, size_t i);

/* Value i of a LIST key of type U64, SIZE or DURATION, parsed. */
uint64_t ms_config_list_u64_at(const struct ms_config *cfg, const char *key, size_t i);

/* Line of value i of a LIST key. */
unsigned ms_config_list_line(const struct ms_config *cfg, const char *key, size_t i);

#endif
