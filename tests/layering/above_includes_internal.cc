// Compiled with the include directories of each tool and benchmark target by
// tests/layering/CMakeLists.txt: the build must refuse it, since the tool and the
// benchmarks see the library's public headers only, never src/.
#include "core/guard.h"
