/*
 * test_io_sync.c - the sync backend of the I/O port (src/common/io_sync.c): the shared
 * behavioural suite (test_io_suite.c) plus what is particular to it: a full completion ring
 * pushes back with -EAGAIN and never splits a link chain.
 */
#include "test_io_suite.c"

static int io_suite_make(struct ms_io **out)
{
    return ms_io_sync_create(out);
}

static void test_sync_full_ring_pushes_back(void **state)
{
    struct io_fx *fx = *state;
    enum { N = MS_IO_SYNC_QUEUE_DEPTH + 8 };
    static struct ms_io_req q[N];
    for (unsigned i = 0; i < N; i++)
        q[i] = io_req(MS_IO_NOP, -1, NULL, 0, 0, i);
    assert_int_equal(ms_io_submit(fx->io, q, N), MS_IO_SYNC_QUEUE_DEPTH);
    assert_int_equal(fx->io->inflight, MS_IO_SYNC_QUEUE_DEPTH);
    assert_int_equal(ms_io_submit(fx->io, q, 1), -EAGAIN);
    static struct ms_io_cqe c[N];
    assert_int_equal(ms_io_wait(fx->io, c, N, 1, -1), MS_IO_SYNC_QUEUE_DEPTH);
    for (unsigned i = 0; i < MS_IO_SYNC_QUEUE_DEPTH; i++) {
        assert_int_equal(c[i].user_data, i); /* in submission order */
        assert_int_equal(c[i].res, 0);
    }
    /* Leave 2 free slots: a chain of 3 does not fit and is not split. */
    assert_int_equal(ms_io_submit(fx->io, q, MS_IO_SYNC_QUEUE_DEPTH - 2),
                     MS_IO_SYNC_QUEUE_DEPTH - 2);
    struct ms_io_req chain[4] = {q[0], q[1], q[2], q[3]};
    chain[0].flags = MS_IO_LINK;
    chain[1].flags = MS_IO_LINK;
    assert_int_equal(ms_io_submit(fx->io, chain, 4), -EAGAIN);
    chain[0].flags = 0;
    chain[1].flags = 0;
    assert_int_equal(ms_io_submit(fx->io, chain, 4), 2);
    assert_int_equal(ms_io_wait(fx->io, c, N, 0, 0), MS_IO_SYNC_QUEUE_DEPTH);
    assert_int_equal(fx->io->inflight, 0);
}

static void test_sync_unregister_without_buffers(void **state)
{
    struct io_fx *fx = *state;
    assert_int_equal(ms_io_unregister_buffers(fx->io), -ENXIO);
    assert_string_equal(ms_io_name(fx->io), "sync");
    assert_false(ms_io_is_fault(fx->io));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        IO_SUITE_TESTS,
        IO_SUITE_TEST(test_sync_full_ring_pushes_back),
        IO_SUITE_TEST(test_sync_unregister_without_buffers),
    };
    return cmocka_run_group_tests_name("io_sync", tests, NULL, NULL);
}
