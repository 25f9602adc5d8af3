/*
 * buf.h - growable byte buffers on caller storage, with a process-wide copy counter.
 *
 *   struct ms_buf b;
 *   ms_buf_init(&b);                          (no allocation yet)
 *   int rc = ms_buf_append(&b, hdr, hdr_len);  (copies; counted)
 *   ...
 *   ms_buf_fini(&b);                          (or ms_buf_wipe_fini for plaintext: F-DEL-3)
 *
 * Binary data is pointer + length: data is never NUL-terminated by this API.
 * Invariants: len <= cap; data == NULL exactly when cap == 0.
 *
 * Copy accounting: every byte copied by ms_buf_append() and ms_buf_copy() is added to one
 * atomic process-wide counter (ms_buf_copied_bytes()), so the codec benchmark can report
 * copies per object byte (issue 3 part 9). Copy object data through these, not memcpy, so
 * the count stays honest; copies a library makes internally (zstd, ISA-L) are not counted.
 *
 * A buffer made with ms_buf_init_sensitive() holds plaintext or key material: growing it
 * moves the bytes to a new allocation and zeroes the old one (realloc would free it
 * unwiped), and ms_buf_fini() wipes it too (F-DEL-3, Y-COM-2).
 *
 * Thread safety: a buffer belongs to one thread at a time; the counter is thread safe.
 */
#ifndef MS_COMMON_BUF_H
#define MS_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Largest capacity a buffer may reach (guards size arithmetic from overflow). */
#define MS_BUF_CAP_MAX ((size_t)1 << 40)

#define MS_BUF_F_SENSITIVE 1u /* wipe on growth, reset and fini */

struct ms_buf {
    uint8_t *data;  /* owned; NULL when cap == 0 */
    size_t len;     /* bytes in use */
    size_t cap;     /* bytes allocated */
    unsigned flags; /* MS_BUF_F_* */
};

/* Initialises an empty buffer without allocating. A zeroed struct is also a valid empty
 * (non-sensitive) buffer. */
void ms_buf_init(struct ms_buf *b);

/* Initialises an empty buffer for plaintext or keys: wiped on growth, reset and fini. */
void ms_buf_init_sensitive(struct ms_buf *b);

/* Ensures cap >= cap_bytes (len unchanged). Returns 0, -ENOMEM, or -EOVERFLOW when
 * cap_bytes > MS_BUF_CAP_MAX. Pointers into data are invalid after a call that grows. */
MS_MUST_CHECK int ms_buf_reserve(struct ms_buf *b, size_t cap_bytes);

/* Appends len bytes copied from data (data may be NULL when len is 0), growing
 * geometrically. Counted in ms_buf_copied_bytes(). Returns 0, -ENOMEM or -EOVERFLOW; on
 * failure the buffer is unchanged. data must not point into b itself. */
MS_MUST_CHECK int ms_buf_append(struct ms_buf *b, const void *data, size_t len);

/* Sets len after the caller wrote into data[old len .. len) directly (e.g. a compressor
 * writing into reserved space). len must be <= cap (asserted). Not counted as a copy: the
 * writer itself is the stage. */
void ms_buf_set_len(struct ms_buf *b, size_t len);

/* Empties the buffer, keeping its allocation (sensitive buffers: bytes zeroed first). */
void ms_buf_reset(struct ms_buf *b);

/* Frees the allocation (sensitive buffers: zeroed first) and leaves an empty buffer that
 * keeps its flags. NULL is accepted. */
void ms_buf_fini(struct ms_buf *b);

/* Zeroes all cap bytes with sodium_memzero, then frees them: for any buffer that held
 * plaintext (F-DEL-3). NULL is accepted. */
void ms_buf_wipe_fini(struct ms_buf *b);

/* memcpy that is counted in ms_buf_copied_bytes(): for object data copied outside an
 * ms_buf. The ranges must not overlap. */
void ms_buf_copy(void *dst, const void *src, size_t len);

/* Bytes copied through ms_buf_append/ms_buf_copy since start or the last reset; thread
 * safe (relaxed atomic). */
uint64_t ms_buf_copied_bytes(void);

/* Sets the copy counter back to 0 (a benchmark does it before each measured run); copies
 * racing with the reset may be counted on either side of it. */
void ms_buf_copied_reset(void);

/* Checks the invariants (for MS_DASSERT); true when they hold. */
bool ms_buf_check(const struct ms_buf *b);

/* Allocates size bytes aligned to align (a power of two >= sizeof(void *), e.g. MS_IO_ALIGN
 * for O_DIRECT); returns NULL on failure or bad align. Free with ms_free_aligned(). */
void *ms_alloc_aligned(size_t align, size_t size);

/* Frees memory from ms_alloc_aligned(); NULL is accepted. */
void ms_free_aligned(void *p);

#endif
