// Compiled with the kaya-wal tool's include directories by tests/layering/CMakeLists.txt:
// the tool sees the library's public headers and its own.
#include "json.h"
#include "kaya/core/json.h"
#include "kaya/io/file_disk.h"
#include "kaya/wal/inspect.h"
#include "kaya/wal/reader.h"
