// configfs-tsm attester (attester.h). ALL file access of this interface is in this file:
//   <root>/<entry>/            mkdir (kept if it already exists)
//   <root>/<entry>/inblob      write: report_data, 64 bytes
//   <root>/<entry>/generation  read: decimal counter, incremented by every write
//   <root>/<entry>/provider    read: "sev_guest" or "tdx_guest"
//   <root>/<entry>/outblob     read: the SNP report or TDX quote
//   <root>/<entry>/auxblob     read (SNP, optional): the certificate table
// See Documentation/ABI/testing/configfs-tsm in the Linux tree.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cloister/tee/attester.h"

namespace cloister::tee {
namespace {

constexpr size_t kMaxBlobSize = 64 * 1024;

Result<Bytes> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return IoError("cannot read ", path);
  Bytes data;
  char buffer[4096];
  while (file.read(buffer, sizeof(buffer)) || file.gcount() > 0) {
    data.insert(data.end(), buffer, buffer + file.gcount());
    if (data.size() > kMaxBlobSize)
      return IoError(path, " is larger than ", kMaxBlobSize, " bytes");
  }
  return data;
}

Status WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return IoError("cannot open ", path, " for writing");
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  file.flush();
  if (!file) return IoError("cannot write ", path);
  return OkStatus();
}

std::string Trimmed(ByteSpan data) {
  std::string text(AsString(data));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0')) {
    text.pop_back();
  }
  return text;
}

Result<uint64_t> ReadGeneration(const std::string& entry) {
  ASSIGN_OR_RETURN(const Bytes data, ReadFile(entry + "/generation"));
  const std::string text = Trimmed(data);
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return ParseError(entry, "/generation is not a decimal counter: '", text, "'");
  }
  return std::stoull(text);
}

Result<Platform> ReadProvider(const std::string& entry) {
  ASSIGN_OR_RETURN(const Bytes data, ReadFile(entry + "/provider"));
  const std::string provider = Trimmed(data);
  if (provider == "sev_guest") return Platform::kSevSnp;
  if (provider == "tdx_guest") return Platform::kTdx;
  return UnsupportedError("configfs-tsm provider '", provider,
                          "' (supported: sev_guest, tdx_guest)");
}

Status MakeEntry(const std::string& entry) {
  if (::mkdir(entry.c_str(), 0700) == 0 || errno == EEXIST) return OkStatus();
  return IoError("cannot create configfs-tsm entry ", entry, ": ", std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<TsmReportAttester>> TsmReportAttester::Open(std::string root,
                                                                   std::string entry_name) {
  if (entry_name.empty() || entry_name.find('/') != std::string::npos || entry_name[0] == '.') {
    return InvalidArgumentError("configfs-tsm entry name '", entry_name, "' is not a plain name");
  }
  const std::string entry = root + "/" + entry_name;
  RETURN_IF_ERROR(MakeEntry(entry));
  ASSIGN_OR_RETURN(const Platform platform, ReadProvider(entry));
  return std::unique_ptr<TsmReportAttester>(
      new TsmReportAttester(std::move(root), std::move(entry_name), platform));
}

Result<Evidence> TsmReportAttester::Attest(ByteSpan report_data) {
  if (report_data.size() > 64) {
    return InvalidArgumentError("report_data is ", report_data.size(), " bytes, at most 64");
  }
  const std::string entry = root_ + "/" + entry_name_;
  RETURN_IF_ERROR(MakeEntry(entry));
  Bytes inblob(report_data.begin(), report_data.end());
  inblob.resize(64, 0);
  RETURN_IF_ERROR(WriteFile(entry + "/inblob", inblob));
  ASSIGN_OR_RETURN(const uint64_t generation_before, ReadGeneration(entry));
  ASSIGN_OR_RETURN(const Platform platform, ReadProvider(entry));
  ASSIGN_OR_RETURN(Bytes outblob, ReadFile(entry + "/outblob"));
  Bytes auxblob;
  if (platform == Platform::kSevSnp) {
    Result<Bytes> aux = ReadFile(entry + "/auxblob");
    if (aux.ok()) auxblob = std::move(aux).value();
  }
  ASSIGN_OR_RETURN(const uint64_t generation_after, ReadGeneration(entry));
  // Another writer changed the request between our write and our reads: the outblob may answer
  // someone else's report_data.
  if (generation_after != generation_before) {
    return FailedPreconditionError("configfs-tsm entry ", entry, " changed during the request (",
                                   "generation ", generation_before, " -> ", generation_after,
                                   "); retry");
  }
  platform_ = platform;
  Evidence evidence{.platform = platform, .raw = std::move(outblob)};
  if (!auxblob.empty()) {
    ASSIGN_OR_RETURN(evidence.endorsements, ParseSnpCertificateTable(auxblob));
  }
  return evidence;
}

}  // namespace cloister::tee
