// Compiled against the core layer's include root by tests/layering/CMakeLists.txt: the
// build must refuse it, since core sits below io.
#include "io/posix_error.h"
