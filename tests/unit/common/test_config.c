/*
 * test_config.c - the key = value config format: every value type and suffix, lists, quoting,
 * comments, CRLF and unterminated last lines, defaults, and every error path with the line
 * number it must carry (Y-QRY-3: bad input gets a clear error, never a crash). Values of
 * secret keys never appear in messages (Y-COM-2).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/ms_limits.h"
#include "testutil.h"

static const char *const level_choices[] = {"debug", "info", "warn", "error", NULL};

static const struct ms_config_key keys[] = {
    {.name = "node_id", .type = MS_CONFIG_U64, .flags = MS_CONFIG_REQUIRED, .min = 1,
     .max = UINT32_MAX},
    {.name = "data_dir", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_REQUIRED},
    {.name = "listen", .type = MS_CONFIG_STRING, .default_value = "127.0.0.1:7401"},
    {.name = "segment_size", .type = MS_CONFIG_SIZE, .default_value = "4M", .min = 4096,
     .max = 64 * MS_MIB},
    {.name = "skew", .type = MS_CONFIG_DURATION, .default_value = "30s"},
    {.name = "direct_io", .type = MS_CONFIG_BOOL, .default_value = "true"},
    {.name = "log_level", .type = MS_CONFIG_ENUM, .choices = level_choices,
     .default_value = "info"},
    {.name = "token_pubkey", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_LIST, .max_count = 4},
    {.name = "ports", .type = MS_CONFIG_U64, .flags = MS_CONFIG_LIST, .max = 65535},
    {.name = "secret_pin", .type = MS_CONFIG_U64, .flags = MS_CONFIG_SECRET},
    {.name = "tls.ca_file", .type = MS_CONFIG_STRING},
    {.name = "banner", .type = MS_CONFIG_STRING},
};

static const struct ms_config_schema schema = {keys, sizeof(keys) / sizeof(keys[0])};

#define REQ "node_id = 7\ndata_dir = /srv/d\n"

static struct ms_config *parse_ok(const char *text)
{
    struct ms_config *cfg = NULL;
    struct ms_config_error err = {0};
    int rc = ms_config_parse_buf(&schema, text, strlen(text), &cfg, &err);
    if (rc != 0)
        fail_msg("unexpected error %d: %s", rc, err.msg);
    assert_non_null(cfg);
    return cfg;
}

/* Parses len bytes expecting -MEDSTORE_ECONFIG at line with msg containing want. */
static void parse_err_len(const char *text, size_t len, unsigned line, const char *want)
{
    struct ms_config *cfg = (struct ms_config *)(uintptr_t)1;
    struct ms_config_error err = {.line = 999};
    int rc = ms_config_parse_buf(&schema, text, len, &cfg, &err);
    assert_int_equal(rc, -MEDSTORE_ECONFIG);
    assert_ptr_equal(cfg, (struct ms_config *)(uintptr_t)1); /* untouched */
    if (err.line != line || strstr(err.msg, want) == NULL)
        fail_msg("want line %u \"%s\", got line %u \"%s\"", line, want, err.line, err.msg);
    assert_true(strlen(err.msg) < sizeof(err.msg));
}

static void parse_err(const char *text, unsigned line, const char *want)
{
    parse_err_len(text, strlen(text), line, want);
}

static void test_full_file(void **state)
{
    (void)state;
    struct ms_config *cfg = parse_ok("# medstore-node\n"
                                     "\n"
                                     "node_id = 4294967295\n"
                                     "   data_dir=/srv/medstore/node 7   \n"
                                     "\t# indented comment\n"
                                     "segment_size = 8 MiB\n"
                                     "skew = 1500ms\n"
                                     "direct_io = off\n"
                                     "log_level = warn\n"
                                     "token_pubkey = 1:QUJD==\n"
                                     "ports = 80\n"
                                     "token_pubkey = 2:REVG # not a comment\n"
                                     "ports = 443\n"
                                     "tls.ca_file = /etc/medstore/ca.pem\n"
                                     "banner = \"  two  spaces  \"\n");
    assert_int_equal(ms_config_get_u64(cfg, "node_id"), UINT32_MAX);
    assert_int_equal(ms_config_line(cfg, "node_id"), 3);
    assert_string_equal(ms_config_get_str(cfg, "data_dir"), "/srv/medstore/node 7");
    assert_int_equal(ms_config_get_u64(cfg, "segment_size"), 8 * MS_MIB);
    assert_string_equal(ms_config_get_str(cfg, "segment_size"), "8 MiB");
    assert_int_equal(ms_config_get_u64(cfg, "skew"), 1500);
    assert_false(ms_config_get_bool(cfg, "direct_io"));
    assert_int_equal(ms_config_get_enum(cfg, "log_level"), 2);
    assert_string_equal(ms_config_get_str(cfg, "log_level"), "warn");
    assert_int_equal(ms_config_list_count(cfg, "token_pubkey"), 2);
    assert_string_equal(ms_config_list_at(cfg, "token_pubkey", 0), "1:QUJD==");
    assert_string_equal(ms_config_list_at(cfg, "token_pubkey", 1), "2:REVG # not a comment");
    assert_int_equal(ms_config_list_line(cfg, "token_pubkey", 0), 10);
    assert_int_equal(ms_config_list_line(cfg, "token_pubkey", 1), 12);
    assert_int_equal(ms_config_list_count(cfg, "ports"), 2);
    assert_int_equal(ms_config_list_u64_at(cfg, "ports", 0), 80);
    assert_int_equal(ms_config_list_u64_at(cfg, "ports", 1), 443);
    assert_string_equal(ms_config_get_str(cfg, "tls.ca_file"), "/etc/medstore/ca.pem");
    assert_string_equal(ms_config_get_str(cfg, "banner"), "  two  spaces  ");
    assert_string_equal(ms_config_get_str(cfg, "listen"), "127.0.0.1:7401"); /* default */
    assert_int_equal(ms_config_line(cfg, "listen"), 0);
    assert_false(ms_config_has(cfg, "secret_pin"));
    assert_null(ms_config_get_str(cfg, "secret_pin"));
    assert_int_equal(ms_config_get_u64(cfg, "secret_pin"), 0);
    ms_config_destroy(cfg);
    ms_config_destroy(NULL);
}

static void test_defaults(void **state)
{
    (void)state;
    struct ms_config *cfg = parse_ok(REQ);
    assert_true(ms_config_has(cfg, "segment_size"));
    assert_int_equal(ms_config_get_u64(cfg, "segment_size"), 4 * MS_MIB);
    assert_int_equal(ms_config_get_u64(cfg, "skew"), 30000);
    assert_true(ms_config_get_bool(cfg, "direct_io"));
    assert_int_equal(ms_config_get_enum(cfg, "log_level"), 1);
    assert_int_equal(ms_config_list_count(cfg, "token_pubkey"), 0);
    assert_false(ms_config_has(cfg, "token_pubkey"));
    assert_false(ms_config_has(cfg, "banner"));
    ms_config_destroy(cfg);
}

static void test_crlf_and_no_trailing_newline(void **state)
{
    (void)state;
    const char *variants[] = {
        "node_id = 9\r\ndata_dir = /d\r\nports = 1\r\nports = 2\r\n",
        "node_id = 9\r\ndata_dir = /d\r\nports = 1\r\nports = 2",
        "node_id = 9\ndata_dir = /d\nports = 1\nports = 2",
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        struct ms_config *cfg = parse_ok(variants[i]);
        assert_int_equal(ms_config_get_u64(cfg, "node_id"), 9);
        assert_string_equal(ms_config_get_str(cfg, "data_dir"), "/d");
        assert_int_equal(ms_config_list_count(cfg, "ports"), 2);
        assert_int_equal(ms_config_list_u64_at(cfg, "ports", 1), 2);
        assert_int_equal(ms_config_list_line(cfg, "ports", 1), 4);
        ms_config_destroy(cfg);
    }
}

static void test_size_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        uint64_t want;
    } ok[] = {
        {"4096", 4096},       {"4096B", 4096},      {"4K", 4 * MS_KIB},  {"4 KiB", 4 * MS_KIB},
        {"1M", MS_MIB},       {"2MiB", 2 * MS_MIB}, {"64M", 64 * MS_MIB}, {"007K", 7 * MS_KIB},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), REQ "segment_size = %s\n", ok[i].v);
        struct ms_config *cfg = parse_ok(text);
        assert_int_equal(ms_config_get_u64(cfg, "segment_size"), ok[i].want);
        ms_config_destroy(cfg);
    }
    parse_err(REQ "segment_size = 65M\n", 3, "is out of range 4096..67108864");
    parse_err(REQ "segment_size = 1G\n", 3, "out of range");
    parse_err(REQ "segment_size = 1T\n", 3, "out of range");
    parse_err(REQ "segment_size = 4095\n", 3, "out of range");
    parse_err(REQ "segment_size = 4X\n", 3, "\"4X\" has an unknown unit (use B, K, M, G, T)");
    parse_err(REQ "segment_size = 4 mb\n", 3, "unknown unit");
    parse_err(REQ "segment_size = K\n", 3, "\"K\" is not a whole number");
    parse_err(REQ "segment_size = -1\n", 3, "is not a whole number");
    parse_err(REQ "segment_size = 99999999999T\n", 3, "is too large");
    parse_err(REQ "segment_size = 99999999999999999999999\n", 3, "is too large");
}

static void test_duration_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        uint64_t want;
    } ok[] = {
        {"250", 250}, {"250ms", 250}, {"30s", 30000}, {"2m", 120000}, {"1h", 3600000},
        {"0", 0},     {"5 s", 5000},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), REQ "skew = %s\n", ok[i].v);
        struct ms_config *cfg = parse_ok(text);
        assert_int_equal(ms_config_get_u64(cfg, "skew"), ok[i].want);
        ms_config_destroy(cfg);
    }
    parse_err(REQ "skew = 1d\n", 3, "\"1d\" has an unknown unit (use ms, s, m, h)");
    parse_err(REQ "skew = 1.5s\n", 3, "unknown unit");
    parse_err(REQ "skew = 9999999999999999999h\n", 3, "is too large");
}

static void test_u64_bool_enum(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        char text[128];
        snprintf(text, sizeof(text), REQ "direct_io = %s\n", yes[i]);
        struct ms_config *cfg = parse_ok(text);
        assert_true(ms_config_get_bool(cfg, "direct_io"));
        ms_config_destroy(cfg);
        snprintf(text, sizeof(text), REQ "direct_io = %s\n", no[i]);
        cfg = parse_ok(text);
        assert_false(ms_config_get_bool(cfg, "direct_io"));
        ms_config_destroy(cfg);
    }
    parse_err(REQ "direct_io = True\n", 3, "\"True\" is not a boolean");
    parse_err(REQ "log_level = verbose\n", 3,
              "key \"log_level\": \"verbose\" is not one of: debug, info, warn, error");
    parse_err("node_id = 0\ndata_dir = /d\n", 1, "key \"node_id\": \"0\" is out of range 1..");
    parse_err("node_id = 4294967296\ndata_dir = /d\n", 1, "out of range");
    parse_err("node_id = 7K\ndata_dir = /d\n", 1, "\"7K\" is not a whole number");
    parse_err("node_id = 0x10\ndata_dir = /d\n", 1, "is not a whole number");
    parse_err(REQ "ports = 65536\n", 3, "\"65536\" is out of range 0..65535");
    parse_err(REQ "ports = 1\nports = x\n", 4, "key \"ports\": \"x\"");
}

static void test_quoting_and_values(void **state)
{
    (void)state;
    struct ms_config *cfg = parse_ok(REQ "banner = \"\"\nlisten=a=b==\n");
    assert_string_equal(ms_config_get_str(cfg, "banner"), "");
    assert_string_equal(ms_config_get_str(cfg, "listen"), "a=b==");
    ms_config_destroy(cfg);
    cfg = parse_ok(REQ "banner = say \"hi\" there\n");
    assert_string_equal(ms_config_get_str(cfg, "banner"), "say \"hi\" there");
    ms_config_destroy(cfg);
    cfg = parse_ok(REQ "banner = \"#hash and = sign\"\n");
    assert_string_equal(ms_config_get_str(cfg, "banner"), "#hash and = sign");
    ms_config_destroy(cfg);
    parse_err(REQ "banner = \"open\n", 3, "unterminated quoted value");
    parse_err(REQ "banner = \"\n", 3, "unterminated quoted value");
    parse_err(REQ "banner = \"a\"b\"\n", 3, "'\"' inside a quoted value");
    parse_err(REQ "banner =\n", 3, "empty value (write \"\" for an empty string)");
    parse_err(REQ "banner =   \t \n", 3, "empty value");
    parse_err(REQ "node_id = \"\"\n", 3, "repeated");
    parse_err("node_id = \"\"\ndata_dir = /d\n", 1, "\"\" is not a whole number");
}

static void test_line_errors(void **state)
{
    (void)state;
    parse_err(REQ "# c\n\nnodeid = 3\n", 5, "unknown key \"nodeid\"");
    parse_err("node_id = 1\n# x\ndata_dir = /a\n\nnode_id = 2\n", 5,
              "key \"node_id\" repeated (first set on line 1)");
    parse_err(REQ "just text\n", 3, "expected key = value");
    parse_err(REQ "= value\n", 3, "invalid key");
    parse_err(REQ "Node_Id = 3\n", 3, "invalid key");
    parse_err(REQ "node id = 3\n", 3, "invalid key");
    parse_err(REQ "node-id = 3\n", 3, "invalid key");
    parse_err(REQ "banner = a\rb\n", 3, "control character 0x0d at column 11");
    parse_err(REQ "banner = a\x1b[31m\n", 3, "control character 0x1b");
    parse_err(REQ "banner = a\x7f\n", 3, "control character 0x7f");
    parse_err(REQ "banner = a\r\r\n", 3, "control character 0x0d");
    parse_err_len(REQ "banner = a\0b\n", sizeof(REQ "banner = a\0b\n") - 1, 3,
                  "NUL byte at column 11");
    parse_err_len("\0", 1, 1, "NUL byte at column 1");
    parse_err("data_dir = /d\n", 0, "missing required key \"node_id\"");
    parse_err("", 0, "missing required key \"node_id\"");
    parse_err(REQ "token_pubkey = a\ntoken_pubkey = b\ntoken_pubkey = c\ntoken_pubkey = d\n"
                  "token_pubkey = e\n",
              7, "key \"token_pubkey\" has more than 4 values");
}

static void test_tab_is_whitespace(void **state)
{
    (void)state;
    struct ms_config *cfg = parse_ok("\tnode_id\t=\t5\t\ndata_dir = a\tb\n");
    assert_int_equal(ms_config_get_u64(cfg, "node_id"), 5);
    assert_string_equal(ms_config_get_str(cfg, "data_dir"), "a\tb");
    ms_config_destroy(cfg);
}

static void test_limits(void **state)
{
    (void)state;
    /* A line of exactly MS_CONFIG_LINE_MAX bytes is fine; one more is refused. */
    size_t cap = 2 * MS_CONFIG_LINE_MAX + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t prefix = strlen(REQ "banner = ");
    memcpy(text, REQ "banner = ", prefix);
    size_t head = strlen("banner = ");
    memset(text + prefix, 'x', MS_CONFIG_LINE_MAX - head);
    text[prefix + MS_CONFIG_LINE_MAX - head] = '\n';
    size_t len = prefix + MS_CONFIG_LINE_MAX - head + 1;
    struct ms_config *cfg = NULL;
    struct ms_config_error err;
    assert_int_equal(ms_config_parse_buf(&schema, text, len, &cfg, &err), 0);
    assert_int_equal(strlen(ms_config_get_str(cfg, "banner")), MS_CONFIG_LINE_MAX - head);
    ms_config_destroy(cfg);
    text[len - 1] = 'x';
    text[len] = '\n';
    parse_err_len(text, len + 1, 3, "line longer than 4096 bytes");
    free(text);
}

static void test_too_many_entries_and_too_large(void **state)
{
    (void)state;
    size_t cap = 20 * (MS_CONFIG_ENTRIES_MAX + 8);
    char *text = malloc(cap);
    assert_non_null(text);
    size_t off = 0;
    off += (size_t)snprintf(text + off, cap - off, REQ);
    for (unsigned i = 0; i < MS_CONFIG_ENTRIES_MAX - 2; i++)
        off += (size_t)snprintf(text + off, cap - off, "ports = %u\n", i % 1000);
    struct ms_config *cfg = NULL;
    struct ms_config_error err;
    assert_int_equal(ms_config_parse_buf(&schema, text, off, &cfg, &err), 0);
    assert_int_equal(ms_config_list_count(cfg, "ports"), MS_CONFIG_ENTRIES_MAX - 2);
    ms_config_destroy(cfg);
    off += (size_t)snprintf(text + off, cap - off, "\n# comment\nports = 1\n");
    parse_err_len(text, off, MS_CONFIG_ENTRIES_MAX + 3, "more than 1024 settings");
    free(text);
    char *big = calloc(1, MS_CONFIG_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, '\n', MS_CONFIG_FILE_MAX + 1);
    parse_err_len(big, MS_CONFIG_FILE_MAX + 1, 0, "larger than 1048576 bytes");
    free(big);
}

static void test_secret_value_never_echoed__Y_COM_2(void **state)
{
    (void)state;
    struct ms_config *cfg = NULL;
    struct ms_config_error err;
    const char *text = REQ "secret_pin = 31337xyzzy\n";
    assert_int_equal(ms_config_parse_buf(&schema, text, strlen(text), &cfg, &err),
                     -MEDSTORE_ECONFIG);
    assert_int_equal(err.line, 3);
    assert_null(strstr(err.msg, "31337"));
    assert_null(strstr(err.msg, "xyzzy"));
    assert_non_null(strstr(err.msg, "key \"secret_pin\": value (not shown: secret)"));
    /* A line that is not a key (a pasted key, say) is not echoed either. */
    text = REQ "QmFzZTY0S2V5+/==\n";
    assert_int_equal(ms_config_parse_buf(&schema, text, strlen(text), &cfg, &err),
                     -MEDSTORE_ECONFIG);
    assert_null(strstr(err.msg, "QmFzZTY0"));
    assert_int_equal(err.line, 3);
    cfg = parse_ok(REQ "secret_pin = 1234\n");
    assert_int_equal(ms_config_get_u64(cfg, "secret_pin"), 1234);
    ms_config_destroy(cfg);
}

static void test_long_value_echo_truncated(void **state)
{
    (void)state;
    char text[512];
    char v[200];
    memset(v, 'q', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    snprintf(text, sizeof(text), REQ "log_level = %s\n", v);
    parse_err(text, 3, "qqq...\" is not one of");
}

static void test_parse_file(void **state)
{
    (void)state;
    char *dir = ms_test_tmpdir("config");
    char path[4096];
    snprintf(path, sizeof(path), "%s/node.conf", dir);
    const char *text = REQ "ports = 8\n";
    assert_int_equal(ms_test_write_file(path, text, strlen(text)), 0);
    struct ms_config *cfg = NULL;
    struct ms_config_error err;
    assert_int_equal(ms_config_parse_file(&schema, path, &cfg, &err), 0);
    assert_int_equal(ms_config_list_u64_at(cfg, "ports", 0), 8);
    ms_config_destroy(cfg);
    const char *bad = REQ "\nnode_id = 3\n";
    assert_int_equal(ms_test_write_file(path, bad, strlen(bad)), 0);
    assert_int_equal(ms_config_parse_file(&schema, path, &cfg, &err), -MEDSTORE_ECONFIG);
    assert_int_equal(err.line, 4);
    assert_string_equal(err.msg, "line 4: key \"node_id\" repeated (first set on line 1)");
    snprintf(path, sizeof(path), "%s/absent.conf", dir);
    assert_int_equal(ms_config_parse_file(&schema, path, &cfg, &err), -ENOENT);
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.msg, "absent.conf"));
    ms_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_crlf_and_no_trailing_newline),
        cmocka_unit_test(test_size_suffixes),
        cmocka_unit_test(test_duration_suffixes),
        cmocka_unit_test(test_u64_bool_enum),
        cmocka_unit_test(test_quoting_and_values),
        cmocka_unit_test(test_line_errors),
        cmocka_unit_test(test_tab_is_whitespace),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_too_many_entries_and_too_large),
        cmocka_unit_test(test_secret_value_never_echoed__Y_COM_2),
        cmocka_unit_test(test_long_value_echo_truncated),
        cmocka_unit_test(test_parse_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
