/*
 * testutil.c - corpus lookup, temp dirs and small file helpers for tests.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool ms_test_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

void ms_test_require(bool cond, const char *what)
{
    if (cond)
        return;
    if (ms_test_in_ci()) {
        fprintf(stderr, "FAIL: %s (required when CI=true)\n", what);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s\n", what);
    exit(MS_TEST_SKIP);
}

const char *ms_test_corpus_dir(void)
{
    const char *dir = getenv("MEDSTORE_TESTDATA");
    struct stat st;
    bool ok = dir != NULL && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    ms_test_require(ok, "shared test corpus not found (expected ../shared/testdata beside the "
                        "project root, passed in MEDSTORE_TESTDATA)");
    return dir;
}

char *ms_test_corpus_path(const char *rel)
{
    const char *dir = ms_test_corpus_dir();
    size_t n = strlen(dir) + 1 + strlen(rel) + 1;
    char *p = malloc(n);
    if (p == NULL)
        abort();
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

int ms_test_read_file(const char *path, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? -errno : -EIO;
            free(buf);
            close(fd);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = n;
    return 0;
}

int ms_test_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        done += (size_t)w;
    }
    return close(fd) == 0 ? 0 : -errno;
}

char *ms_test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *p = malloc(n);
    if (p == NULL)
        abort();
    snprintf(p, n, "%s/medstore-%s-XXXXXX", base, tag);
    if (mkdtemp(p) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return p;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ms_test_rmtree(const char *path)
{
    if (path != NULL)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

uint64_t ms_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ms_test_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t s = seed;
    size_t i = 0;
    while (i + 8 <= len) {
        uint64_t v = ms_test_rand(&s);
        memcpy(buf + i, &v, 8);
        i += 8;
    }
    if (i < len) {
        uint64_t v = ms_test_rand(&s);
        memcpy(buf + i, &v, len - i);
    }
}

long long ms_test_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}
