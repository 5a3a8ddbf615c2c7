// Test support: where the shared vectors live, and reading test files.
//
// Tests read ../shared/vectors at run time (never copied into the repository). CTest passes the
// location as CLOISTER_VECTORS; a test binary run by hand falls back to the path configured at
// build time.
#pragma once

#include <string>
#include <string_view>

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"

namespace cloister::testing {

// Absolute path of the shared vectors directory (no trailing slash).
std::string VectorsDir();
// VectorsDir() + "/" + relative.
std::string VectorPath(std::string_view relative);
// Whole file contents; an error names the path when it cannot be read.
Result<Bytes> ReadFileBytes(const std::string& path);
Result<std::string> ReadFileText(const std::string& path);
// Path of the repository checkout (for scripts used by interop tests).
std::string SourceDir();

}  // namespace cloister::testing
