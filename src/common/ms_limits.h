/*
 * ms_limits.h - project-wide caps, in one place, with their relations checked at compile time.
 *
 * Every buffer, table and queue that grows from outside input (network, disk, config, API
 * callers) is bounded by a cap from this file, and a request beyond a cap is answered with a
 * code (-MEDSTORE_ELIMIT, -EINVAL, RESOURCE_EXHAUSTED), never by growing without bound
 * (TigerBeetle's "put a limit on everything"). The static_asserts at the bottom state how the
 * caps depend on each other; change one and the build tells you which others must follow.
 *
 * Named ms_limits.h, never limits.h: meson puts each target's source folder on -I, so a
 * src/common/limits.h would shadow <limits.h> for every header that includes it (zstd.h too).
 *
 * Sizes are in bytes, durations carry their unit in the name (_MS), counts are plain numbers.
 * Only C preprocessor constants here: this header includes nothing and may be included anywhere.
 */
#ifndef MS_COMMON_MS_LIMITS_H
#define MS_COMMON_MS_LIMITS_H

#define MS_KIB (1024ULL)
#define MS_MIB (1024ULL * MS_KIB)
#define MS_GIB (1024ULL * MS_MIB)
#define MS_TIB (1024ULL * MS_GIB)

/* Objects and segments (DESIGN.md, write path step 2). */
#define MS_OBJECT_SIZE_MAX (1ULL * MS_TIB)         /* largest object a put may declare */
#define MS_SEGMENT_SIZE_MIN (4ULL * MS_KIB)        /* smallest configurable segment */
#define MS_SEGMENT_SIZE_DEFAULT (4ULL * MS_MIB)    /* default segment (plaintext bytes) */
#define MS_SEGMENT_SIZE_MAX (64ULL * MS_MIB)       /* largest configurable segment */
#define MS_SMALL_OBJECT_DEFAULT (64ULL * MS_KIB)   /* below this, replication instead of EC */
#define MS_ZSTD_PROBE_BYTES (64ULL * MS_KIB)       /* bytes compressed to decide if zstd pays */

/* Erasure coding and replication (F-STO-1, F-STO-2, F-STO-3). */
#define MS_EC_K_DEFAULT 4
#define MS_EC_M_DEFAULT 2
#define MS_EC_SHARDS_MAX 32 /* k + m; any k of k + m decode (Cauchy matrix, ISA-L) */
#define MS_REP_COPIES_MIN 2 /* rep(n): n >= 2 copies in distinct racks */
#define MS_REP_COPIES_MAX 8
#define MS_FRAG_BITMAP_BITS 32 /* fragment-index bitmap of a capability token (u32) */

/* Fragments: one shard record per segment, plus a segment index of their offsets. */
#define MS_FRAG_RECORDS_MAX (1ULL << 24) /* = MS_FRAG_MAX_SEGMENTS (codec/frag_format.h) */

/* Cluster map. */
#define MS_CLUSTER_NODES_MAX 1024
#define MS_CLUSTER_RACKS_MAX 128

/* Keys and secrets. */
#define MS_KEY_BYTES 32          /* object DEK, area KEK, Ed25519 seed */
#define MS_SECRET_MAX (4 * 1024) /* largest struct ms_secret */
#define MS_KEY_FILE_MAX (8 * 1024) /* largest base64 key file read by ms_secret */
#define MS_TOKEN_PUBKEYS_MAX 16  /* token_pubkey lines a node accepts (rotation overlap) */
#define MS_TOKEN_TTL_MAX_MS (60ULL * 60 * 1000)  /* longest capability token lifetime */
#define MS_CLOCK_SKEW_DEFAULT_MS (30ULL * 1000)  /* token expiry tolerance (issue 4 part 5) */

/* Principals (certificate CN names) and service principal lists in configs. */
#define MS_PRINCIPAL_NAME_MAX 64
#define MS_SERVICE_PRINCIPALS_MAX 64

/* RPC (gRPC max receive/send message size, set on both sides). */
#define MS_RPC_MSG_MAX (16ULL * MS_MIB)
#define MS_RPC_MSG_OVERHEAD_MAX (64ULL * MS_KIB) /* protobuf framing + record header slack */

/* Config files (src/common/config.h; docs/config.md). */
#define MS_CONFIG_FILE_MAX (1024 * 1024) /* whole file, bytes */
#define MS_CONFIG_LINE_MAX 4096          /* one line without its newline, bytes */
#define MS_CONFIG_ENTRIES_MAX 1024       /* key = value lines in one file */
#define MS_CONFIG_KEY_MAX 64             /* key name length */
#define MS_CONFIG_SCHEMA_KEYS_MAX 256    /* keys one schema may declare */

/* Direct I/O: buffer address, file offset and length alignment for O_DIRECT. */
#define MS_IO_ALIGN 4096

/* Paths built by medstore (data directories, key files). */
#define MS_PATH_MAX 4096

/* Relations. */
_Static_assert(MS_SEGMENT_SIZE_MIN <= MS_SEGMENT_SIZE_DEFAULT, "default segment >= minimum");
_Static_assert(MS_SEGMENT_SIZE_DEFAULT <= MS_SEGMENT_SIZE_MAX, "default segment <= maximum");
_Static_assert(MS_SEGMENT_SIZE_DEFAULT == 4 * MS_MIB, "issue 3: default segment is 4 MiB");
_Static_assert(MS_SEGMENT_SIZE_MAX == 64 * MS_MIB, "issue 3: largest segment is 64 MiB");
_Static_assert(MS_SEGMENT_SIZE_MIN % MS_IO_ALIGN == 0, "segments are O_DIRECT aligned");
_Static_assert((MS_SEGMENT_SIZE_MAX & (MS_SEGMENT_SIZE_MAX - 1)) == 0, "power of two");
_Static_assert(MS_SMALL_OBJECT_DEFAULT <= MS_SEGMENT_SIZE_DEFAULT,
               "a small (replicated) object fits in one segment");
_Static_assert(MS_ZSTD_PROBE_BYTES <= MS_SEGMENT_SIZE_DEFAULT, "the probe fits a default segment");
_Static_assert(MS_OBJECT_SIZE_MAX / MS_SEGMENT_SIZE_DEFAULT <= MS_FRAG_RECORDS_MAX,
               "the largest object at the default segment size fits one segment index");
_Static_assert(MS_EC_K_DEFAULT + MS_EC_M_DEFAULT <= MS_EC_SHARDS_MAX, "default policy valid");
_Static_assert(MS_EC_M_DEFAULT >= 1 && MS_EC_K_DEFAULT >= 1, "k >= 1, m >= 1");
_Static_assert(MS_EC_SHARDS_MAX <= MS_FRAG_BITMAP_BITS,
               "every fragment index fits the capability token's bitmap");
_Static_assert(MS_REP_COPIES_MAX <= MS_EC_SHARDS_MAX, "rep(n) is the format with k = 1");
_Static_assert(MS_REP_COPIES_MIN >= 2, "F-STO-2: at least two copies");
_Static_assert(MS_EC_SHARDS_MAX <= MS_CLUSTER_NODES_MAX, "one fragment per node fits");
_Static_assert(MS_SEGMENT_SIZE_DEFAULT + MS_RPC_MSG_OVERHEAD_MAX <= MS_RPC_MSG_MAX,
               "a shard of a default segment (k = 1 at worst) fits one RPC message");
_Static_assert(MS_KEY_BYTES <= MS_SECRET_MAX, "a key fits a secret");
_Static_assert(MS_SECRET_MAX <= MS_KEY_FILE_MAX, "a key file can hold the largest secret");
_Static_assert(MS_TOKEN_PUBKEYS_MAX <= MS_CONFIG_ENTRIES_MAX, "pubkey lines fit a config");
_Static_assert(MS_SERVICE_PRINCIPALS_MAX <= MS_CONFIG_ENTRIES_MAX, "principals fit a config");
_Static_assert(MS_CONFIG_KEY_MAX < MS_CONFIG_LINE_MAX, "a key fits a line");
_Static_assert((unsigned long long)MS_CONFIG_LINE_MAX * 2 <= MS_CONFIG_FILE_MAX,
               "a file holds several maximal lines");
_Static_assert(MS_CONFIG_FILE_MAX <= MS_RPC_MSG_MAX, "config sizes stay small");
_Static_assert(MS_CLOCK_SKEW_DEFAULT_MS < MS_TOKEN_TTL_MAX_MS, "skew is below token lifetime");
_Static_assert((MS_IO_ALIGN & (MS_IO_ALIGN - 1)) == 0, "alignment is a power of two");

#endif
