// librados, loaded when the first RadosDisk opens instead of when the process starts.
//
// libkaya does not link librados: a process that never opens a rados:// location does
// not load Ceph's libraries (tens of megabytes, with static initialisers and a 130 MiB
// zero-filled data segment), and a machine without Ceph runs everything else. The
// first RadosDisk::open() loads librados.so.2 with dlopen() and looks up every function
// kaya calls; RadosDisk then calls them through librados(). The library stays loaded
// until the process ends (librados keeps threads and static state).
#pragma once

#include <rados/librados.h>

#include "kaya/core/status.h"

namespace kaya::io {

// Every librados function RadosDisk calls.
#define KAYA_LIBRADOS_FUNCTIONS(X) \
  X(rados_aio_create_completion2)  \
  X(rados_aio_get_return_value)    \
  X(rados_aio_get_version)         \
  X(rados_aio_read_op_operate)     \
  X(rados_aio_release)             \
  X(rados_aio_wait_for_complete)   \
  X(rados_aio_write_op_operate)    \
  X(rados_break_lock)              \
  X(rados_conf_get)                \
  X(rados_conf_parse_env)          \
  X(rados_conf_read_file)          \
  X(rados_conf_set)                \
  X(rados_connect)                 \
  X(rados_create)                  \
  X(rados_create_read_op)          \
  X(rados_create_write_op)         \
  X(rados_ioctx_create)            \
  X(rados_ioctx_destroy)           \
  X(rados_ioctx_set_namespace)     \
  X(rados_list_lockers)            \
  X(rados_lock_exclusive)          \
  X(rados_nobjects_list_close)     \
  X(rados_nobjects_list_next)      \
  X(rados_nobjects_list_open)      \
  X(rados_read)                    \
  X(rados_read_op_stat)            \
  X(rados_release_read_op)         \
  X(rados_release_write_op)        \
  X(rados_shutdown)                \
  X(rados_unlock)                  \
  X(rados_write_op_assert_version) \
  X(rados_write_op_create)         \
  X(rados_write_op_exec)           \
  X(rados_write_op_remove)         \
  X(rados_write_op_truncate)       \
  X(rados_write_op_write)          \
  X(rados_write_op_write_full)

// The functions, with the types librados.h declares for them.
struct Librados {
#define KAYA_LIBRADOS_MEMBER(name) decltype(&::name) name = nullptr;
  KAYA_LIBRADOS_FUNCTIONS(KAYA_LIBRADOS_MEMBER)
#undef KAYA_LIBRADOS_MEMBER
};

// The shared object's name: the library of Debian's librados2 package (ABI 2).
inline constexpr const char* kLibradosSoname = "librados.so.2";

// Loads `soname` and looks up every function above. The error names the library and
// what failed (not found, or a function it lacks) and how to get it. On success the
// library stays loaded for the life of the process.
Result<Librados> open_librados(const char* soname);

// open_librados(kLibradosSoname), once per process: later calls return the first
// call's outcome. Thread-safe.
Status load_librados();

// The loaded functions. Only after load_librados() succeeded (every RadosDisk has).
const Librados& librados();

}  // namespace kaya::io
