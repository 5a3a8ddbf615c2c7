#include "cloister/node/posix_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cloister::node {
namespace {

Error Errno(std::string_view what, const std::string& name) {
  return IoError(what, " '", name, "': ", std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<PosixStorage>> PosixStorage::Open(const std::string& path, bool create) {
  if (create && ::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno("cannot create directory", path);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory", path);
  return std::unique_ptr<PosixStorage>(new PosixStorage(path, fd));
}

PosixStorage::~PosixStorage() {
  for (const auto& [name, fd] : append_fds_) ::close(fd);
  ::close(directory_fd_);
}

Result<std::vector<std::string>> PosixStorage::List() {
  const int fd = ::openat(directory_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot list", path_);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return Errno("cannot list", path_);
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    // Only names the Storage contract allows; anything else in the directory is not ours.
    if (ledger::ValidateFileName(name).ok()) names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<Bytes> PosixStorage::Read(const std::string& name) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  const int fd = ::openat(directory_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("no file '", name, "' in ", path_);
    return Errno("cannot open", name);
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    return IoError("'", name, "' is not a readable regular file");
  }
  Bytes data(static_cast<size_t>(status.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the file shrank under us: return what exists
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

Result<uint64_t> PosixStorage::Size(const std::string& name) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  struct stat status {};
  if (::fstatat(directory_fd_, name.c_str(), &status, 0) != 0) {
    if (errno == ENOENT) return NotFoundError("no file '", name, "' in ", path_);
    return Errno("cannot stat", name);
  }
  return static_cast<uint64_t>(status.st_size);
}

Result<int> PosixStorage::AppendDescriptor(const std::string& name) {
  const auto it = append_fds_.find(name);
  if (it != append_fds_.end()) return it->second;
  const int fd =
      ::openat(directory_fd_, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open for appending", name);
  append_fds_.emplace(name, fd);
  return fd;
}

void PosixStorage::CloseDescriptor(const std::string& name) {
  const auto it = append_fds_.find(name);
  if (it == append_fds_.end()) return;
  ::close(it->second);
  append_fds_.erase(it);
}

Status PosixStorage::Append(const std::string& name, ByteSpan data) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  ASSIGN_OR_RETURN(const int fd, AppendDescriptor(name));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot append to", name);
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status PosixStorage::Sync(const std::string& name) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  const auto it = append_fds_.find(name);
  if (it != append_fds_.end()) {
    if (::fdatasync(it->second) != 0) return Errno("cannot sync", name);
    return OkStatus();
  }
  const int fd = ::openat(directory_fd_, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open to sync", name);
  const int result = ::fdatasync(fd);
  ::close(fd);
  if (result != 0) return Errno("cannot sync", name);
  return OkStatus();
}

Status PosixStorage::Truncate(const std::string& name, uint64_t size) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  ASSIGN_OR_RETURN(const uint64_t current, Size(name));
  if (size > current) {
    return OutOfRangeError("truncate '", name, "' to ", size, " bytes: it has ", current);
  }
  const int fd = ::openat(directory_fd_, name.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open to truncate", name);
  const int result = ::ftruncate(fd, static_cast<off_t>(size));
  ::close(fd);
  if (result != 0) return Errno("cannot truncate", name);
  return OkStatus();
}

Status PosixStorage::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(ledger::ValidateFileName(from));
  RETURN_IF_ERROR(ledger::ValidateFileName(to));
  CloseDescriptor(from);
  CloseDescriptor(to);
  if (::renameat(directory_fd_, from.c_str(), directory_fd_, to.c_str()) != 0) {
    if (errno == ENOENT) return NotFoundError("no file '", from, "' to rename");
    return Errno("cannot rename", from);
  }
  return OkStatus();
}

Status PosixStorage::Remove(const std::string& name) {
  RETURN_IF_ERROR(ledger::ValidateFileName(name));
  CloseDescriptor(name);
  if (::unlinkat(directory_fd_, name.c_str(), 0) != 0) {
    if (errno == ENOENT) return NotFoundError("no file '", name, "' to remove");
    return Errno("cannot remove", name);
  }
  return OkStatus();
}

Status PosixStorage::SyncDirectory() {
  if (::fsync(directory_fd_) != 0) return Errno("cannot sync directory", path_);
  return OkStatus();
}

}  // namespace cloister::node
