#include "vectors.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace cloister::testing {

std::string VectorsDir() {
  if (const char* env = std::getenv("CLOISTER_VECTORS"); env != nullptr && *env != '\0') {
    return env;
  }
  return CLOISTER_VECTORS_DIR_DEFAULT;
}

std::string SourceDir() {
  if (const char* env = std::getenv("CLOISTER_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return CLOISTER_SOURCE_DIR_DEFAULT;
}

std::string VectorPath(std::string_view relative) {
  return VectorsDir() + "/" + std::string(relative);
}

Result<Bytes> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open ", path, ": ", std::strerror(errno));
  Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return IoError("cannot read ", path);
  return data;
}

Result<std::string> ReadFileText(const std::string& path) {
  ASSIGN_OR_RETURN(Bytes data, ReadFileBytes(path));
  return ToString(data);
}

}  // namespace cloister::testing
