// Proves the hardware attesters against fake kernel trees and fake devices (this machine has no
// TEE): configfs-tsm for SNP and TDX including the generation race check, /dev/sev-guest through
// a fake device, Gramine's /dev/attestation, the Nitro NSM's CBOR exchange, the SNP certificate
// table, platform probing, and executable measurement. Evidence produced from real vectors must
// verify.
#include "cloister/tee/attester.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/x509.h"
#include "tee_test_util.h"

namespace cloister::tee {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cloister-tee-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, ByteSpan data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

Bytes ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// A GHCB certificate table with the given (GUID, DER) entries.
Bytes CertificateTable(const std::vector<std::pair<Bytes, Bytes>>& entries) {
  Bytes table;
  ByteWriter writer(&table);
  uint32_t offset = static_cast<uint32_t>(24 * (entries.size() + 1));
  for (const auto& [guid, der] : entries) {
    writer.Append(guid);
    writer.U32Le(offset);
    writer.U32Le(static_cast<uint32_t>(der.size()));
    offset += static_cast<uint32_t>(der.size());
  }
  writer.Append(Bytes(24, 0));
  for (const auto& [guid, der] : entries) writer.Append(der);
  return table;
}

const Bytes kVcekGuid = FromHex("8d75da6364e66445adc5f4b93be8accd").value();
const Bytes kArkGuid = FromHex("a406b4c003a8524997433fb6014cd0ae").value();

Bytes MilanVcekDer() {
  return crypto::Certificate::FromDerOrPem(ReadVector("sev-snp/yaxi_milan_v3/vcek.pem"))->Der();
}

void MakeTsmEntry(const std::string& entry, std::string_view provider, ByteSpan outblob,
                  ByteSpan auxblob) {
  WriteFile(entry + "/provider", AsBytes(std::string(provider) + "\n"));
  WriteFile(entry + "/generation", AsBytes("7\n"));
  WriteFile(entry + "/outblob", outblob);
  if (!auxblob.empty()) WriteFile(entry + "/auxblob", auxblob);
}

TEST(TsmAttesterTest, SnpReportAndCertificatesFromAFakeConfigfsTree) {
  // Proves the SNP flow: inblob written with padded report_data, outblob and auxblob read, the
  // certificate table turned into endorsements, and the evidence verifies.
  TempDir root;
  const Bytes report = ReadVector("sev-snp/yaxi_milan_v3/report.bin");
  const Bytes ark =
      crypto::Certificate::FromPem(AsString(ReadVector("sev-snp/amd/ark_milan.pem")))->Der();
  MakeTsmEntry(root.path() + "/cloister", "sev_guest", report,
               CertificateTable({{kArkGuid, ark}, {kVcekGuid, MilanVcekDer()}}));
  Result<std::unique_ptr<TsmReportAttester>> attester = TsmReportAttester::Open(root.path());
  ASSERT_TRUE(attester.ok()) << attester.error().ToString();
  EXPECT_EQ((*attester)->platform(), Platform::kSevSnp);
  const Result<Evidence> evidence = (*attester)->Attest(Bytes{0xAA, 0xBB});
  ASSERT_TRUE(evidence.ok()) << evidence.error().ToString();
  Bytes expected_inblob{0xAA, 0xBB};
  expected_inblob.resize(64, 0);
  EXPECT_EQ(ReadFile(root.path() + "/cloister/inblob"), expected_inblob);
  EXPECT_EQ(evidence->raw, report);
  ASSERT_EQ(evidence->endorsements.size(), 2u);
  EXPECT_EQ(evidence->endorsements[0], MilanVcekDer());  // signing key first
  EXPECT_EQ(evidence->endorsements[1], ark);
  EXPECT_TRUE(VerifyEvidence(*evidence, {.at_unix_seconds = At(kReviewTime)}).ok());
}

TEST(TsmAttesterTest, TdxQuoteFromAFakeConfigfsTree) {
  // Proves the TDX provider yields a TDX quote that verifies, without auxblob.
  TempDir root;
  const Bytes quote = ReadVector("tdx/trustee_v5.dat");
  MakeTsmEntry(root.path() + "/entry", "tdx_guest", quote, {});
  auto attester = TsmReportAttester::Open(root.path(), "entry");
  ASSERT_TRUE(attester.ok());
  EXPECT_EQ((*attester)->platform(), Platform::kTdx);
  const Result<Evidence> evidence = (*attester)->Attest(Bytes(64, 1));
  ASSERT_TRUE(evidence.ok()) << evidence.error().ToString();
  EXPECT_TRUE(evidence->endorsements.empty());
  EXPECT_TRUE(VerifyEvidence(*evidence, {.at_unix_seconds = At(kReviewTime)}).ok());
}

TEST(TsmAttesterTest, RefusesBadProvidersNamesAndSizes) {
  // Proves unknown providers, path-like entry names, missing roots and oversize report_data fail
  // with errors.
  TempDir root;
  MakeTsmEntry(root.path() + "/cloister", "arm_cca_guest", Bytes{1}, {});
  const auto unknown = TsmReportAttester::Open(root.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("arm_cca_guest"), std::string::npos);
  EXPECT_FALSE(TsmReportAttester::Open(root.path(), "../escape").ok());
  EXPECT_FALSE(TsmReportAttester::Open(root.path() + "/absent/deeper").ok());
  MakeTsmEntry(root.path() + "/ok", "sev_guest", Bytes{1}, {});
  auto attester = TsmReportAttester::Open(root.path(), "ok");
  ASSERT_TRUE(attester.ok());
  EXPECT_FALSE((*attester)->Attest(Bytes(65, 0)).ok());
}

TEST(TsmAttesterTest, GenerationChangeDuringTheRequestIsARace) {
  // Proves a generation that changes between the reads (another writer) fails the request: the
  // fake's generation is a FIFO that answers 7, then 8.
  TempDir root;
  const std::string entry = root.path() + "/cloister";
  MakeTsmEntry(entry, "sev_guest", ReadVector("sev-snp/yaxi_milan_v3/report.bin"), {});
  fs::remove(entry + "/generation");
  ASSERT_EQ(::mkfifo((entry + "/generation").c_str(), 0600), 0);
  std::thread writer([path = entry + "/generation"] {
    for (const char* value : {"7\n", "8\n"}) {
      int fd = -1;
      for (int tries = 0; tries < 500 && fd < 0; ++tries) {
        fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
        if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (fd < 0) return;
      const ssize_t written = ::write(fd, value, 2);
      (void)written;
      ::close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto attester = TsmReportAttester::Open(root.path());
  ASSERT_TRUE(attester.ok()) << attester.error().ToString();
  const Result<Evidence> evidence = (*attester)->Attest(Bytes{1});
  writer.join();
  ASSERT_FALSE(evidence.ok());
  EXPECT_NE(evidence.error().message.find("generation 7 -> 8"), std::string::npos)
      << evidence.error().message;
}

class FakeSevGuest final : public SevGuestDevice {
 public:
  Result<ExtendedReport> GetExtendedReport(ByteSpan report_data, uint32_t vmpl) override {
    requested_report_data.assign(report_data.begin(), report_data.end());
    requested_vmpl = vmpl;
    return ExtendedReport{ReadVector("sev-snp/yaxi_milan_v3/report.bin"),
                          CertificateTable({{kVcekGuid, MilanVcekDer()}})};
  }
  Bytes requested_report_data;
  uint32_t requested_vmpl = 99;
};

TEST(SevGuestAttesterTest, ExtendedReportThroughAFakeDevice) {
  // Proves the attester pads report_data to 64 bytes, passes the VMPL, and turns the certificate
  // table into a VCEK endorsement that verifies.
  auto device = std::make_unique<FakeSevGuest>();
  FakeSevGuest* fake = device.get();
  SevGuestAttester attester(std::move(device), /*vmpl=*/1);
  const Result<Evidence> evidence = attester.Attest(Bytes{5});
  ASSERT_TRUE(evidence.ok()) << evidence.error().ToString();
  EXPECT_EQ(fake->requested_report_data.size(), 64u);
  EXPECT_EQ(fake->requested_report_data[0], 5);
  EXPECT_EQ(fake->requested_vmpl, 1u);
  ASSERT_EQ(evidence->endorsements.size(), 1u);
  EXPECT_TRUE(VerifyEvidence(*evidence, {.at_unix_seconds = At(kReviewTime)}).ok());
  EXPECT_FALSE(attester.Attest(Bytes(65, 0)).ok());
}

TEST(SevGuestAttesterTest, MissingDeviceIsAnIoError) {
  // Proves the Linux device reports a missing /dev/sev-guest as an I/O error, not a crash.
  TempDir root;
  SevGuestAttester attester(LinuxSevGuestDevice(root.path() + "/sev-guest"));
  const Result<Evidence> evidence = attester.Attest(Bytes{1});
  ASSERT_FALSE(evidence.ok());
  EXPECT_EQ(evidence.error().code, ErrorCode::kIo);
}

TEST(SnpCertificateTableTest, RejectsEntriesOutsideTheTable) {
  // Proves a table entry whose offset or length points past the table is refused.
  Bytes table = CertificateTable({{kVcekGuid, Bytes(10, 1)}});
  table[20] = 0xFF;  // length of the first entry, now far beyond the table
  EXPECT_FALSE(ParseSnpCertificateTable(table).ok());
  EXPECT_FALSE(ParseSnpCertificateTable(Bytes(10, 1)).ok());
  EXPECT_TRUE(ParseSnpCertificateTable(Bytes(24, 0))->empty());
}

TEST(GramineAttesterTest, QuoteFromAFakeAttestationDirectory) {
  // Proves user_report_data is written (padded) and the quote is read and verifies.
  TempDir root;
  const Bytes quote = ReadVector("sgx/phala_v3.dat");
  WriteFile(root.path() + "/quote", quote);
  GramineAttester attester(root.path());
  const Result<Evidence> evidence = attester.Attest(ToBytes("hello"));
  ASSERT_TRUE(evidence.ok()) << evidence.error().ToString();
  EXPECT_EQ(evidence->raw, quote);
  Bytes expected = ToBytes("hello");
  expected.resize(64, 0);
  EXPECT_EQ(ReadFile(root.path() + "/user_report_data"), expected);
  EXPECT_TRUE(VerifyEvidence(*evidence, {.at_unix_seconds = At(kReviewTime)}).ok());
  EXPECT_FALSE(GramineAttester(root.path() + "/absent").Attest(Bytes{1}).ok());
}

class FakeNsm final : public NsmDevice {
 public:
  explicit FakeNsm(crypto::cbor::Value response) : response_(std::move(response)) {}
  Result<Bytes> Call(ByteSpan request) override {
    request_ = crypto::cbor::Decode(request).value();
    return crypto::cbor::Encode(response_);
  }
  crypto::cbor::Value request_;

 private:
  crypto::cbor::Value response_;
};

TEST(NsmAttesterTest, AttestationDocumentThroughAFakeNsm) {
  // Proves the CBOR request carries user_data and the public key, and the document comes back
  // as Nitro evidence that verifies at its own timestamp.
  namespace cbor = crypto::cbor;
  const Bytes document = ReadVector("nitro/evervault_valid_nonce.cbor");
  cbor::Value answer = cbor::Value::Map();
  answer.Insert(cbor::Value::Text("document"), cbor::Value::ByteString(document));
  cbor::Value response = cbor::Value::Map();
  response.Insert(cbor::Value::Text("Attestation"), std::move(answer));
  auto device = std::make_unique<FakeNsm>(std::move(response));
  FakeNsm* fake = device.get();
  NsmAttester attester(std::move(device), Bytes{4, 5});
  const Result<Evidence> evidence = attester.Attest(Bytes{1, 2, 3});
  ASSERT_TRUE(evidence.ok()) << evidence.error().ToString();
  EXPECT_EQ(evidence->raw, document);
  const cbor::Value* request = fake->request_.Find("Attestation");
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->Find("user_data")->data(), (Bytes{1, 2, 3}));
  EXPECT_EQ(request->Find("public_key")->data(), (Bytes{4, 5}));
  EXPECT_TRUE(VerifyEvidence(*evidence, {}).ok());
}

TEST(NsmAttesterTest, NsmErrorIsReported) {
  // Proves an {"Error": ...} answer becomes an error carrying the NSM's message.
  namespace cbor = crypto::cbor;
  cbor::Value response = cbor::Value::Map();
  response.Insert(cbor::Value::Text("Error"), cbor::Value::Text("InvalidArgument"));
  NsmAttester attester(std::make_unique<FakeNsm>(std::move(response)));
  const Result<Evidence> evidence = attester.Attest(Bytes{1});
  ASSERT_FALSE(evidence.ok());
  EXPECT_NE(evidence.error().message.find("InvalidArgument"), std::string::npos);
}

TEST(PlatformProbeTest, ReportsWhatAFakeTreeOffers) {
  // Proves the probe finds nothing on an empty tree (with a hint), and SNP, SGX or Nitro when
  // their device nodes exist.
  TempDir empty;
  const PlatformProbe none = ProbePlatform(empty.path());
  EXPECT_FALSE(none.available.has_value());
  ASSERT_FALSE(none.missing.empty());
  EXPECT_NE(none.missing.back().find("simulated"), std::string::npos);

  TempDir snp;
  WriteFile(snp.path() + "/dev/sev-guest", Bytes{});
  WriteFile(snp.path() + "/proc/cpuinfo", AsBytes("processor : 0\nflags : fpu sev_snp\n"));
  EXPECT_EQ(ProbePlatform(snp.path()).available, Platform::kSevSnp);

  TempDir sgx;
  WriteFile(sgx.path() + "/dev/attestation/quote", Bytes{});
  EXPECT_EQ(ProbePlatform(sgx.path()).available, Platform::kSgx);

  TempDir nitro;
  WriteFile(nitro.path() + "/dev/nsm", Bytes{});
  EXPECT_EQ(ProbePlatform(nitro.path()).available, Platform::kNitro);

  TempDir snp_without_device;
  WriteFile(snp_without_device.path() + "/proc/cpuinfo", AsBytes("flags : sev_snp\n"));
  const PlatformProbe hint = ProbePlatform(snp_without_device.path());
  EXPECT_FALSE(hint.available.has_value());
  EXPECT_NE(hint.missing.front().find("sev-guest"), std::string::npos);
}

TEST(MeasureExecutableTest, IsTheSha384OfTheFile) {
  // Proves the simulated measurement is the SHA-384 of the file's bytes.
  TempDir root;
  const Bytes content = ToBytes("#!/bin/sh\necho measured\n");
  WriteFile(root.path() + "/program", content);
  EXPECT_EQ(MeasureExecutable(root.path() + "/program").value(), crypto::Sha384(content));
  EXPECT_FALSE(MeasureExecutable(root.path() + "/absent").ok());
}

}  // namespace
}  // namespace cloister::tee
