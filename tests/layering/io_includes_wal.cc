// Compiled against the io layer's include root by tests/layering/CMakeLists.txt: the
// build must refuse it, since io sits below wal.
#include "kaya/wal/config.h"
