/*
 * test_wipe.c - zero-overwrite delete: a hard link kept before the delete sees the same size
 * and only zeros afterwards; catalogue record and intent are gone; deletes of missing
 * fragments succeed; a crash mid-wipe is resumed by the next open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "fragtest.h"
#include "node/scrub.h"

struct fx {
    char *dir;
    struct ms_io *io;
    struct ms_kv_mem_store *mem;
    struct ms_kv *kv;
    struct ms_fragstore *s;
    struct fragtest f;
    char path[4096];
    char keep[4096];
    long long size; /* the file's size before the delete */
};

static int open_store(struct fx *x)
{
    struct ms_fragstore_opts o = {.data_dir = x->dir, .io = x->io, .kv = x->kv};
    return ms_fragstore_open(&o, &x->s);
}

/* A store on a fault port (plain until a rule is set) holding one fragment with a hard link
 * to its file kept outside the store. */
static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->dir = ms_test_tmpdir("wipe");
    assert_int_equal(ms_io_fault_create(NULL, &x->io), 0);
    assert_int_equal(ms_kv_mem_store_create(&x->mem), 0);
    assert_int_equal(fragtest_kv_open(x->mem, &x->kv), 0);
    assert_int_equal(open_store(x), 0);
    struct ms_oid oid;
    fragtest_oid(&oid, 42);
    assert_int_equal(fragtest_build(&x->f, &oid, 3, 5, 100032, 42), 0);
    assert_int_equal(fragtest_put(x->s, &x->f, 77777), 0);
    fragtest_path(x->dir, &x->f.key, x->path);
    snprintf(x->keep, sizeof(x->keep), "%s/kept-link", x->dir);
    assert_int_equal(link(x->path, x->keep), 0);
    x->size = ms_test_file_size(x->path); /* the fragment, zero-padded under O_DIRECT */
    assert_true(x->size >= (long long)x->f.len && x->size - (long long)x->f.len < 4096);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    ms_kv_close(x->kv);
    ms_kv_mem_store_destroy(x->mem);
    ms_io_destroy(x->io);
    fragtest_free(&x->f);
    ms_test_rmtree(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static void assert_kept_link_zeroed(const struct fx *x)
{
    uint8_t *back = NULL;
    size_t len = 0;
    assert_int_equal(ms_test_read_file(x->keep, &back, &len), 0);
    assert_int_equal(len, x->size); /* same size */
    size_t nonzero = 0;
    for (size_t i = 0; i < len; i++)
        nonzero += back[i] != 0;
    assert_int_equal(nonzero, 0); /* every byte overwritten with zeros */
    free(back);
}

static void assert_gone(const struct fx *x)
{
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &x->f.key, &info), -MEDSTORE_ENOTFOUND);
    assert_int_equal(access(x->path, F_OK), -1);
    struct ms_fragstore_entry e[1];
    assert_int_equal(ms_fragstore_list(x->s, NULL, e, 1), 0);
    struct ms_fragstore_range all = {.kind = MS_FRAGSTORE_RANGE_ALL};
    uint8_t b[16];
    size_t got = 0;
    assert_int_equal(ms_fragstore_get_buf(x->s, &x->f.key, &all, b, sizeof(b), &got),
                     -MEDSTORE_ENOTFOUND);
}

/* F-STO-4: recycled storage has its meta information deleted and every byte overwritten with
 * zeros: the file reached through a hard link kept before the delete holds only zeros. */
static void test_delete_zeroes_every_byte__F_STO_4(void **state)
{
    struct fx *x = *state;
    assert_int_equal(ms_fragstore_delete(x->s, &x->f.key), 0);
    assert_kept_link_zeroed(x);
    assert_gone(x);
}

/* F-DEL-2: disk space is completely erased before it is released: the zeros are synced before
 * the unlink (a kept link shows them), and the catalogue record is gone after the ack. */
static void test_delete_erases_before_release__F_DEL_2(void **state)
{
    struct fx *x = *state;
    uint64_t syncs = ms_io_fault_count(x->io, MS_IO_FOP_FDATASYNC);
    uint64_t unlinks = ms_io_fault_count(x->io, MS_IO_FOP_UNLINK);
    assert_int_equal(ms_fragstore_delete(x->s, &x->f.key), 0);
    assert_int_equal(ms_io_fault_count(x->io, MS_IO_FOP_FDATASYNC), syncs + 1);
    assert_int_equal(ms_io_fault_count(x->io, MS_IO_FOP_UNLINK), unlinks + 1);
    assert_kept_link_zeroed(x);
    struct ms_fragstore_space sp;
    assert_int_equal(ms_fragstore_space(x->s, &sp), 0);
    assert_int_equal(sp.fragment_count, 0);
}

/* Y-DES-3: when deletion is chosen the data is removed completely: no read path, listing,
 * scrub row or file name is left, and the same fragment can be stored again. */
static void test_delete_removes_completely__Y_DES_3(void **state)
{
    struct fx *x = *state;
    /* Damage first, so a scrub row exists; the delete must remove it too. */
    int fd = open(x->keep, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "\xff", 1, 200), 1);
    close(fd);
    assert_int_equal(ms_fragstore_verify(x->s, &x->f.key), -MEDSTORE_ECORRUPT);
    struct ms_scrub_entry rows[2];
    assert_int_equal(ms_scrub_report(x->s, NULL, rows, 2), 1);
    assert_int_equal(ms_fragstore_delete(x->s, &x->f.key), 0);
    assert_gone(x);
    assert_kept_link_zeroed(x);
    assert_int_equal(ms_scrub_report(x->s, NULL, rows, 2), 0);
    struct ms_scrub_counters c;
    ms_scrub_counters(x->s, &c);
    assert_int_equal(c.damaged_count, 0);
    assert_int_equal(fragtest_put(x->s, &x->f, 1 << 20), 0);
    assert_int_equal(fragtest_check(x->s, &x->f), 0);
}

static void test_delete_missing_is_ok(void **state)
{
    struct fx *x = *state;
    struct ms_fragstore_key other = x->f.key;
    other.frag_index = 4;
    assert_int_equal(ms_fragstore_delete(x->s, &other), 0);
    assert_int_equal(ms_fragstore_delete(x->s, &x->f.key), 0);
    assert_int_equal(ms_fragstore_delete(x->s, &x->f.key), 0); /* twice: still fine */
    other.frag_index = 32;
    assert_int_equal(ms_fragstore_delete(x->s, &other), -EINVAL);
}

static void test_delete_during_put_is_busy(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 43);
    struct fragtest g;
    assert_int_equal(fragtest_build(&g, &oid, 0, 1, 64, 43), 0);
    struct ms_fragstore_put *p = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, g.bytes, MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_delete(x->s, &g.key), -EBUSY);
    ms_fragstore_put_abort(&p);
    assert_int_equal(ms_fragstore_delete(x->s, &g.key), 0);
    fragtest_free(&g);
}

/* Power loss at each sync point of the delete (zeros' fdatasync, the directory fsync, the
 * kv batches): the next open finishes the wipe; the kept link ends all zeros. */
static void test_crash_mid_wipe_resumes(void **state)
{
    struct fx *x = *state;
    for (uint64_t n = 1;; n++) {
        /* nth counts from now (io_fault.c), whatever the port did before. */
        assert_int_equal(ms_io_fault_crash_nth_sync(x->io, MS_IO_FOP_COUNT, n,
                                                    MS_IO_CRASH_UNDO, n), 0);
        int rc = ms_fragstore_delete(x->s, &x->f.key);
        print_message("crash point %llu: delete %s\n", (unsigned long long)n, ms_err_name(rc));
        ms_fragstore_close(x->s);
        x->s = NULL;
        ms_kv_mem_crash(x->kv);
        ms_io_destroy(x->io);
        assert_int_equal(ms_io_sync_create(&x->io), 0);
        assert_int_equal(open_store(x), 0);
        assert_gone(x);
        assert_kept_link_zeroed(x);
        if (rc == 0) {
            assert_true(n > 2); /* the zeros' fdatasync and the directory fsync were hit */
            break; /* the delete completed before the n-th sync: every point was covered */
        }
        assert_int_equal(rc, -MEDSTORE_ECRASHED);
        /* Put it back for the next crash point, on a fresh fault port. */
        ms_fragstore_close(x->s);
        ms_io_destroy(x->io);
        assert_int_equal(ms_io_fault_create(NULL, &x->io), 0);
        assert_int_equal(open_store(x), 0);
        assert_int_equal(unlink(x->keep), 0);
        assert_int_equal(fragtest_put(x->s, &x->f, 1 << 16), 0);
        assert_int_equal(link(x->path, x->keep), 0);
        assert_true(n < 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_zeroes_every_byte__F_STO_4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_erases_before_release__F_DEL_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_removes_completely__Y_DES_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_missing_is_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_during_put_is_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_mid_wipe_resumes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
