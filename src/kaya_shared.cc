// libkaya.so is libkaya.a linked whole (src/CMakeLists.txt); CMake wants at least one
// source of the shared library's own, and this is it. Everything it exports is marked
// KAYA_API in include/kaya/.
#include "kaya/core/export.h"
