/*
 * bench_proc.c - CPU and RSS of processes from /proc, medians, latency percentiles.
 *
 * CPU comes from /proc/<pid>/stat fields 14 and 15 (utime, stime in clock ticks), which count
 * every thread of the process, gRPC's own included; peak RSS from VmHWM in /proc/<pid>/status.
 * Both work for another process (a forked server) as well as for this one.
 */
#include "bench_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ms_assert.h"

double ms_bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void proc_path(pid_t pid, const char *file, char *out, size_t cap)
{
    if (pid == 0)
        snprintf(out, cap, "/proc/self/%s", file);
    else
        snprintf(out, cap, "/proc/%ld/%s", (long)pid, file);
}

int ms_bench_proc_cpu_s(pid_t pid, double *cpu_s)
{
    MS_ASSERT(cpu_s != NULL);
    char path[64], buf[1024];
    proc_path(pid, "stat", path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces: count fields after its closing ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -EIO;
    unsigned long long ut = 0, st = 0;
    int field = 2;
    for (char *tok = p + 1; *tok != '\0' && field < 15;) {
        while (*tok == ' ')
            tok++;
        field++;
        if (field == 14)
            ut = strtoull(tok, NULL, 10);
        else if (field == 15)
            st = strtoull(tok, NULL, 10);
        while (*tok != ' ' && *tok != '\0')
            tok++;
    }
    if (field < 15)
        return -EIO;
    long hz = sysconf(_SC_CLK_TCK);
    MS_ASSERT(hz > 0);
    *cpu_s = (double)(ut + st) / (double)hz;
    return 0;
}

int ms_bench_proc_peak_rss_kib(pid_t pid, long *kib)
{
    MS_ASSERT(kib != NULL);
    char path[64], line[256];
    proc_path(pid, "status", path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    int rc = -EIO;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            *kib = strtol(line + 6, NULL, 10);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ms_bench_median(double *v, size_t n)
{
    MS_ASSERT(v != NULL && n >= 1);
    qsort(v, n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int ms_bench_lat_add(struct ms_bench_lat *l, uint64_t ns)
{
    MS_ASSERT(l != NULL);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        uint64_t *p = realloc(l->ns, cap * sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        l->ns = p;
        l->cap = cap;
    }
    l->ns[l->n++] = ns;
    return 0;
}

int ms_bench_lat_merge(struct ms_bench_lat *dst, const struct ms_bench_lat *src)
{
    MS_ASSERT(dst != NULL && src != NULL);
    for (size_t i = 0; i < src->n; i++) {
        int rc = ms_bench_lat_add(dst, src->ns[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t ms_bench_lat_pct(struct ms_bench_lat *l, double pct)
{
    MS_ASSERT(l != NULL && pct > 0 && pct <= 100);
    if (l->n == 0)
        return 0;
    qsort(l->ns, l->n, sizeof(l->ns[0]), cmp_u64);
    size_t rank = (size_t)(pct / 100.0 * (double)l->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > l->n)
        rank = l->n;
    return l->ns[rank - 1];
}

void ms_bench_lat_fini(struct ms_bench_lat *l)
{
    if (l == NULL)
        return;
    free(l->ns);
    l->ns = NULL;
    l->n = l->cap = 0;
}
