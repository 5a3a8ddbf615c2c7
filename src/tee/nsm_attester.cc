// AWS Nitro Secure Module attester (attester.h). ALL device access is in LinuxNsmDevice below:
// open(/dev/nsm), ioctl(NSM_IOCTL_REQUEST) with one request and one response buffer, close.
// Requests and responses are CBOR (aws-nitro-enclaves-nsm-api): {"Attestation": {"user_data",
// "nonce", "public_key"}} -> {"Attestation": {"document": bstr}} or {"Error": "..."}.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloister/crypto/cbor.h"
#include "cloister/tee/attester.h"

namespace cloister::tee {
namespace {

namespace cbor = crypto::cbor;

// The NSM driver's UAPI (drivers/misc/nsm.c): two iovecs, magic 0x0A, request number 0.
struct NsmMessage {
  iovec request;
  iovec response;
};
constexpr unsigned long kNsmIoctlRequest = _IOWR(0x0A, 0, NsmMessage);  // NOLINT
constexpr size_t kMaxResponseSize = 0x3000;

class LinuxDevice final : public NsmDevice {
 public:
  explicit LinuxDevice(std::string path) : path_(std::move(path)) {}

  Result<Bytes> Call(ByteSpan request) override {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open ", path_, ": ", std::strerror(errno));
    Bytes request_copy(request.begin(), request.end());
    Bytes response(kMaxResponseSize, 0);
    NsmMessage message{{request_copy.data(), request_copy.size()},
                       {response.data(), response.size()}};
    const int result = ::ioctl(fd, kNsmIoctlRequest, &message);
    const int error = errno;
    ::close(fd);
    if (result != 0) return IoError("NSM request on ", path_, " failed: ", std::strerror(error));
    if (message.response.iov_len > response.size()) return IoError("NSM response overflow");
    response.resize(message.response.iov_len);
    return response;
  }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<NsmDevice> LinuxNsmDevice(std::string path) {
  return std::make_unique<LinuxDevice>(std::move(path));
}

Result<Evidence> NsmAttester::Attest(ByteSpan report_data) {
  if (report_data.size() > 512) {
    return InvalidArgumentError("Nitro user_data is ", report_data.size(), " bytes, at most 512");
  }
  cbor::Value attestation = cbor::Value::Map();
  attestation.Insert(cbor::Value::Text("user_data"), cbor::Value::ByteString(report_data));
  attestation.Insert(cbor::Value::Text("nonce"), cbor::Value::Null());
  attestation.Insert(cbor::Value::Text("public_key"), public_key_.empty()
                                                          ? cbor::Value::Null()
                                                          : cbor::Value::ByteString(public_key_));
  cbor::Value request = cbor::Value::Map();
  request.Insert(cbor::Value::Text("Attestation"), std::move(attestation));
  ASSIGN_OR_RETURN(const Bytes response_bytes, device_->Call(cbor::Encode(request)));
  ASSIGN_OR_RETURN(const cbor::Value response, cbor::Decode(response_bytes));
  if (const cbor::Value* error = response.Find("Error"); error != nullptr) {
    const Result<std::string_view> text = error->AsText();
    return IoError("NSM refused the attestation request: ",
                   text.ok() ? std::string(*text) : std::string("(no message)"));
  }
  ASSIGN_OR_RETURN(const cbor::Value* answer, response.Get("Attestation"));
  ASSIGN_OR_RETURN(const cbor::Value* document, answer->Get("document"));
  ASSIGN_OR_RETURN(const ByteSpan bytes, document->AsBytes());
  return Evidence{.platform = Platform::kNitro, .raw = Bytes(bytes.begin(), bytes.end())};
}

}  // namespace cloister::tee
