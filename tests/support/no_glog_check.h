#pragma once
// Included first in every test (tests/CMakeLists.txt). Debian's LibTorch logs through glog,
// whose CHECK macro replaces Catch's in a test that includes <catch2/catch.hpp> before a
// LibTorch header: a failing check then aborts the whole executable instead of being reported.
// glog is read here, once, and its CHECK undefined, so that Catch's definition stands (glog's
// include guard keeps it from coming back).
#if __has_include(<glog/logging.h>)
#include <glog/logging.h>
#undef CHECK
#endif
