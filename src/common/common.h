/*
 * common.h - the interface of src/common in one include: errors, logging, assertions, ids,
 * limits, secrets, buffers, config, fd helpers, and the ports (io, kv, clock, rng).
 *
 * Modules may include this or only the headers they use; each header compiles alone.
 * Not included: kv_rocksdb.h, the RocksDB adapter, which is its own library (ms_kv_rocksdb)
 * linked only by node, meta and their tests (STYLE.md section 1).
 */
#ifndef MS_COMMON_COMMON_H
#define MS_COMMON_COMMON_H

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/fd.h"
#include "common/ids.h"
#include "common/io.h"
#include "common/kv.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "common/ms_limits.h"
#include "common/rng.h"
#include "common/secret.h"

#endif
