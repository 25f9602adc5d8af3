/*
 * benchlib.c - clocks, /proc samples, statistics, the parallel runner, the repeat loop,
 * external command capture and the text table of ms_benchlib (benchlib.h).
 *
 * /proc parsing: the comm field of /proc/<pid>/stat may contain spaces and parentheses, so
 * fields are counted from the LAST ')'; utime and stime are fields 14 and 15 in clock ticks
 * (sysconf(_SC_CLK_TCK)). VmRSS / VmHWM come from /proc/<pid>/status in kB.
 * The parallel runner releases all threads with one pthread barrier, so thread start-up is
 * not timed; the wall clock stops when the last thread returns.
 */
#include "benchlib.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ms_assert.h"

#define MAX_THREADS 64

uint64_t ms_bench_clock_ns(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    MS_ASSERT(rc == 0);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ms_bench_thread_cpu_ns(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    MS_ASSERT(rc == 0);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t cap)
{
    MS_ASSERT(path != NULL && buf != NULL);
    MS_ASSERT(cap > 1);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    size_t n = fread(buf, 1, cap - 1, f);
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    buf[n] = '\0';
    return err;
}

static int parse_stat(const char *buf, uint64_t *user_ns, uint64_t *sys_ns)
{
    MS_ASSERT(buf != NULL);
    MS_ASSERT(user_ns != NULL && sys_ns != NULL);
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return -EPROTO;
    /* After ") " come fields 3 (state) .. ; utime is field 14, stime 15. */
    unsigned long long ut = 0, st = 0;
    int n = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    if (n != 2)
        return -EPROTO;
    long tck = sysconf(_SC_CLK_TCK);
    if (tck <= 0)
        return -EPROTO;
    *user_ns = (uint64_t)ut * (1000000000ull / (uint64_t)tck);
    *sys_ns = (uint64_t)st * (1000000000ull / (uint64_t)tck);
    return 0;
}

static uint64_t status_kib(const char *buf, const char *key)
{
    MS_ASSERT(buf != NULL && key != NULL);
    const char *p = strstr(buf, key);
    if (p == NULL)
        return 0;
    return strtoull(p + strlen(key), NULL, 10);
}

int ms_bench_procstat_read(pid_t pid, struct ms_bench_procstat *out)
{
    MS_ASSERT(out != NULL);
    MS_ASSERT(pid >= 0);
    char path[64], buf[4096];
    struct ms_bench_procstat s = {0};
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/stat");
    else
        snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int rc = read_small(path, buf, sizeof(buf));
    if (rc == 0)
        rc = parse_stat(buf, &s.user_ns, &s.sys_ns);
    if (rc != 0)
        return rc;
    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/status");
    else
        snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    rc = read_small(path, buf, sizeof(buf));
    if (rc != 0)
        return rc;
    s.rss_bytes = status_kib(buf, "VmRSS:") * 1024;
    s.rss_peak_bytes = status_kib(buf, "VmHWM:") * 1024;
    *out = s;
    return 0;
}

double ms_bench_procstat_cpu_s(const struct ms_bench_procstat *a,
                               const struct ms_bench_procstat *b)
{
    MS_ASSERT(a != NULL && b != NULL);
    MS_ASSERT(b->user_ns + b->sys_ns >= a->user_ns + a->sys_ns);
    return (double)((b->user_ns + b->sys_ns) - (a->user_ns + a->sys_ns)) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ms_bench_stats_median(double *v, size_t n)
{
    MS_ASSERT(v != NULL);
    MS_ASSERT(n >= 1);
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double ms_bench_mib_s(uint64_t bytes, uint64_t ns)
{
    return ns ? (double)bytes / (1024.0 * 1024.0) / ((double)ns / 1e9) : 0;
}

double ms_bench_ops_s(uint64_t ops, uint64_t ns)
{
    return ns ? (double)ops / ((double)ns / 1e9) : 0;
}

/* --- parallel runner --------------------------------------------------------------------- */

struct par {
    pthread_barrier_t start;
    void (*work_cb)(void *arg, unsigned tid);
    void *arg;
    uint64_t cpu_ns[MAX_THREADS];
    uint64_t end_ns[MAX_THREADS];
};

struct par_thread {
    struct par *p;
    unsigned tid;
};

static void *par_main(void *v)
{
    struct par_thread *t = v;
    MS_ASSERT(t != NULL && t->p != NULL);
    pthread_barrier_wait(&t->p->start);
    uint64_t c0 = ms_bench_thread_cpu_ns();
    t->p->work_cb(t->p->arg, t->tid);
    t->p->cpu_ns[t->tid] = ms_bench_thread_cpu_ns() - c0;
    t->p->end_ns[t->tid] = ms_bench_clock_ns();
    return NULL;
}

int ms_bench_parallel(unsigned nthreads, void (*work_cb)(void *arg, unsigned tid), void *arg,
                      uint64_t *wall_ns, uint64_t *cpu_ns)
{
    MS_ASSERT(work_cb != NULL && wall_ns != NULL);
    if (nthreads < 1 || nthreads > MAX_THREADS)
        return -EINVAL;
    struct par p = {.work_cb = work_cb, .arg = arg};
    struct par_thread th[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    if (pthread_barrier_init(&p.start, NULL, nthreads + 1) != 0)
        return -ENOMEM;
    unsigned started = 0;
    int rc = 0;
    for (; started < nthreads; started++) {
        th[started] = (struct par_thread){&p, started};
        rc = -pthread_create(&tid[started], NULL, par_main, &th[started]);
        if (rc != 0)
            break;
    }
    MS_ASSERT(rc == 0); /* a half-started barrier cannot be released: treat as fatal */
    uint64_t t0 = ms_bench_clock_ns();
    pthread_barrier_wait(&p.start);
    uint64_t last = t0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        if (p.end_ns[i] > last)
            last = p.end_ns[i];
        if (cpu_ns != NULL)
            cpu_ns[i] = p.cpu_ns[i];
    }
    pthread_barrier_destroy(&p.start);
    *wall_ns = last - t0;
    return 0;
}

struct ms_bench_run ms_bench_repeat(uint64_t (*run_cb)(void *arg, uint64_t passes), void *arg,
                                    uint64_t min_ns)
{
    MS_ASSERT(run_cb != NULL);
    MS_ASSERT(min_ns > 0);
    struct ms_bench_run r = {0, 1};
    for (;;) {
        r.wall_ns = run_cb(arg, r.passes);
        if (r.wall_ns >= min_ns || r.passes >= (1ull << 40))
            return r;
        /* Jump close to the target once a pass has a measurable duration. */
        uint64_t next = r.passes * 2;
        if (r.wall_ns > min_ns / 64)
            next = r.passes * min_ns / r.wall_ns + 1;
        r.passes = next > r.passes ? next : r.passes + 1;
    }
}

/* --- external commands and table ------------------------------------------------------- */

int ms_bench_cmd_capture(const char *cmd, char *out, size_t cap)
{
    MS_ASSERT(cmd != NULL && out != NULL);
    MS_ASSERT(cap > 1);
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -errno;
    size_t n = 0;
    while (n + 1 < cap) {
        size_t got = fread(out + n, 1, cap - 1 - n, f);
        if (got == 0)
            break;
        n += got;
    }
    char sink[4096];
    while (fread(sink, 1, sizeof(sink), f) > 0) {
    }
    out[n] = '\0';
    int st = pclose(f);
    if (st < 0)
        return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void ms_bench_table_begin(struct ms_bench_table *t, unsigned ncols, const char *const names[],
                          const int width[])
{
    MS_ASSERT(t != NULL && names != NULL && width != NULL);
    MS_ASSERT(ncols >= 1 && ncols <= MS_BENCH_TABLE_COLS);
    t->ncols = ncols;
    int total = 0;
    for (unsigned i = 0; i < ncols; i++) {
        t->width[i] = width[i];
        total += (width[i] < 0 ? -width[i] : width[i]) + 1;
    }
    ms_bench_table_row(t, names);
    for (int i = 0; i < total; i++)
        putchar('-');
    putchar('\n');
}

void ms_bench_table_row(const struct ms_bench_table *t, const char *const cells[])
{
    MS_ASSERT(t != NULL && cells != NULL);
    MS_ASSERT(t->ncols >= 1);
    for (unsigned i = 0; i < t->ncols; i++)
        printf("%*s ", t->width[i], cells[i] != NULL ? cells[i] : "");
    putchar('\n');
    fflush(stdout);
}
