// Compiled against the wal layer's include root by tests/layering/CMakeLists.txt: a
// layer sees its own and the lower layers' headers, public and internal.
#include "core/guard.h"
#include "io/posix_error.h"
#include "kaya/core/status.h"
#include "kaya/io/disk.h"
#include "kaya/wal/config.h"
#include "wal/log_dir.h"
