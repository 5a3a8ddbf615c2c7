// PosixStorage: the Storage contract on a real directory, and a ledger written, reopened,
// verified and tamper-checked on disk through it.
#include "cloister/node/posix_storage.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cloister/base/rng.h"
#include "cloister/ledger/reader.h"
#include "cloister/ledger/snapshot.h"
#include "ledger/ledger_testing.h"

namespace cloister::node {
namespace {

class PosixStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "cloister-storage-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::string directory_;
};

// Append, read, size, truncate, rename and remove behave as the contract says.
TEST_F(PosixStorageTest, FollowsTheStorageContract) {
  auto storage = PosixStorage::Open(directory_ + "/ledger", /*create=*/true);
  ASSERT_TRUE(storage.ok()) << storage.error().ToString();
  PosixStorage& disk = **storage;
  ASSERT_TRUE(disk.Append("a.seg", ToBytes("hello ")).ok());
  ASSERT_TRUE(disk.Append("a.seg", ToBytes("world")).ok());
  ASSERT_TRUE(disk.Sync("a.seg").ok());
  EXPECT_EQ(ToString(*disk.Read("a.seg")), "hello world");
  EXPECT_EQ(*disk.Size("a.seg"), 11u);
  ASSERT_TRUE(disk.Truncate("a.seg", 5).ok());
  EXPECT_EQ(ToString(*disk.Read("a.seg")), "hello");
  EXPECT_FALSE(disk.Truncate("a.seg", 50).ok());
  ASSERT_TRUE(disk.Append("a.seg", ToBytes("!")).ok());  // appends after the truncation point
  EXPECT_EQ(ToString(*disk.Read("a.seg")), "hello!");
  ASSERT_TRUE(disk.Rename("a.seg", "b.seg").ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  EXPECT_EQ(disk.Read("a.seg").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*disk.List(), std::vector<std::string>{"b.seg"});
  ASSERT_TRUE(disk.Remove("b.seg").ok());
  EXPECT_TRUE(disk.List()->empty());
  EXPECT_EQ(disk.Remove("b.seg").error().code, ErrorCode::kNotFound);
}

// Names that could escape the directory are refused, and foreign files are not listed.
TEST_F(PosixStorageTest, RefusesUnsafeNames) {
  auto storage = PosixStorage::Open(directory_, false);
  ASSERT_TRUE(storage.ok());
  for (const std::string name : {"../x", "a/b", "", ".", "..", "x y"}) {
    EXPECT_EQ((*storage)->Append(name, ToBytes("x")).error().code, ErrorCode::kInvalidArgument)
        << name;
  }
  std::ofstream(directory_ + "/has space") << "x";
  EXPECT_TRUE((*storage)->List()->empty());
  EXPECT_FALSE(PosixStorage::Open(directory_ + "/missing", false).ok());
}

// A ledger written to disk reopens, verifies, and detects a bit flipped in a file on disk.
TEST_F(PosixStorageTest, LedgerOnDiskVerifiesAndDetectsTampering) {
  auto storage = PosixStorage::Open(directory_, false);
  ASSERT_TRUE(storage.ok());
  auto service = ledger::testing::NewService();
  service->ledger =
      std::move(ledger::Ledger::Create(storage->get(), ledger::NewLedgerId(), &service->secrets,
                                       {.segment_size_bytes_max = 8192})
                    .value());
  ASSERT_TRUE(ledger::testing::AppendMany(*service, 100, 10).ok());
  const crypto::PublicKey key = service->service_key.Public();
  ledger::LedgerReader reader(storage->get(), {.secrets = &service->secrets, .service_key = &key});
  Result<ledger::ReadReport> report = reader.ReadAll();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->entry_count, service->ledger->last_index());
  // Flip one bit in the middle of the third segment, through the file system.
  const std::string path = directory_ + "/" + reader.segments()[2];
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(300);
  char byte = 0;
  file.read(&byte, 1);
  byte = static_cast<char>(byte ^ 0x04);
  file.seekp(300);
  file.write(&byte, 1);
  file.close();
  ledger::LedgerReader tampered(storage->get(), {.service_key = &key});
  Result<ledger::ReadReport> bad = tampered.ReadAll();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(reader.segments()[2]), std::string::npos)
      << bad.error().ToString();
}

}  // namespace
}  // namespace cloister::node

namespace cloister::node {
namespace {

// The `cloister` binary next to this test's build directory (build/<preset>/src/cli/cloister).
std::string CloisterBinary() {
#ifdef CLOISTER_CLI_PATH
  return CLOISTER_CLI_PATH;
#else
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "cli" / "cloister").string();
#endif
}

struct CliRun {
  int exit_code = -1;
  std::string output;
};

CliRun RunCloister(const std::string& arguments, const std::string& scratch) {
  const std::string out = scratch + "/cli-output.txt";
  const std::string command = CloisterBinary() + " " + arguments + " > " + out + " 2>&1";
  const int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream file(out);
  run.output.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return run;
}

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

class LedgerCliTest : public PosixStorageTest {
 protected:
  void SetUp() override {
    PosixStorageTest::SetUp();
    // The suite builds `cloister` before node_test (src/node/CMakeLists.txt): missing is a failure.
    ASSERT_TRUE(std::filesystem::exists(CloisterBinary()))
        << "the `cloister` executable is missing: " << CloisterBinary();
    ledger_dir_ = directory_ + "/ledger";
    auto storage = PosixStorage::Open(ledger_dir_, true);
    ASSERT_TRUE(storage.ok());
    storage_ = std::move(storage).value();
    service_ = ledger::testing::NewService();
    service_->ledger =
        std::move(ledger::Ledger::Create(storage_.get(), ledger::NewLedgerId(), &service_->secrets,
                                         {.segment_size_bytes_max = 16384})
                      .value());
    ASSERT_TRUE(ledger::testing::AppendMany(*service_, 1000, 50).ok());
    cert_path_ = directory_ + "/service.pem";
    WriteFile(cert_path_, AsBytes(service_->service_cert.Pem()));
    auto other = ledger::testing::NewService();
    other_cert_path_ = directory_ + "/other.pem";
    WriteFile(other_cert_path_, AsBytes(other->service_cert.Pem()));
  }
  std::string ledger_dir_;
  std::string cert_path_;
  std::string other_cert_path_;
  std::unique_ptr<PosixStorage> storage_;
  std::unique_ptr<ledger::testing::TestService> service_;
};

// `cloister ledger verify` accepts the intact ledger (pinned or not), refuses another service's
// certificate, and refuses each of a handful of single-bit flips made on disk.
TEST_F(LedgerCliTest, VerifyDetectsFlipsOnDisk) {
  CliRun run =
      RunCloister("ledger verify " + ledger_dir_ + " --service-cert " + cert_path_, directory_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("is intact"), std::string::npos) << run.output;
  EXPECT_EQ(RunCloister("ledger verify " + ledger_dir_, directory_).exit_code, 0);
  run = RunCloister("ledger verify " + ledger_dir_ + " --service-cert " + other_cert_path_,
                    directory_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(RunCloister("ledger verify " + directory_ + "/nowhere", directory_).exit_code, 2);

  const std::vector<std::string> names = *storage_->List();
  DeterministicRng rng(8);
  for (int flip = 0; flip < 6; ++flip) {
    const std::string& name = names[rng.Uniform(names.size())];
    const Bytes original = *storage_->Read(name);
    Bytes data = original;
    const size_t position = rng.Uniform(data.size());
    data[position] ^= static_cast<uint8_t>(1u << rng.Uniform(8));
    WriteFile(ledger_dir_ + "/" + name, data);
    run = RunCloister("ledger verify " + ledger_dir_ + " --service-cert " + cert_path_, directory_);
    WriteFile(ledger_dir_ + "/" + name, original);
    EXPECT_EQ(run.exit_code, 1) << name << "@" << position << ": " << run.output;
    EXPECT_NE(run.output.find("NOT intact"), std::string::npos) << run.output;
  }
  // Restored, it verifies again.
  EXPECT_EQ(
      RunCloister("ledger verify " + ledger_dir_ + " --service-cert " + cert_path_, directory_)
          .exit_code,
      0);
}

// `cloister ledger dump --public-only` prints one line per entry with public values and nothing
// private.
TEST_F(LedgerCliTest, DumpPrintsPublicEntries) {
  const CliRun run = RunCloister("ledger dump " + ledger_dir_ + " --public-only", directory_);
  ASSERT_EQ(run.exit_code, 0) << run.output.substr(0, 500);
  EXPECT_EQ(static_cast<uint64_t>(std::count(run.output.begin(), run.output.end(), '\n')),
            service_->ledger->last_index());
  EXPECT_NE(run.output.find(ledger::testing::PublicCanary(7)), std::string::npos);
  EXPECT_EQ(run.output.find("PRIVATE-CANARY"), std::string::npos);
  EXPECT_NE(run.output.find("\"kind\":\"signature\""), std::string::npos);
}

// A joiner's directory (the snapshot it installed, then its own segments) verifies, pinned or
// not; a flipped byte in the snapshot or a segment, the snapshot missing, or an older snapshot
// leaving a gap is refused; the snapshot can also be given with --snapshot.
TEST_F(LedgerCliTest, VerifyJoinerDirectoryStartingAtSnapshot) {
  const auto snapshot_name = ledger::WriteSnapshot(storage_.get(),
                                                   {.store = &service_->store,
                                                    .index = service_->ledger->last_index(),
                                                    .term = 1,
                                                    .tree = &service_->ledger->tree(),
                                                    .ledger_id = service_->ledger->ledger_id()},
                                                   service_->secrets, service_->service_key);
  ASSERT_TRUE(snapshot_name.ok()) << snapshot_name.error().ToString();
  const Bytes snapshot_bytes = *storage_->Read(*snapshot_name);
  const std::string joiner_dir = directory_ + "/joiner";
  auto joiner_storage = PosixStorage::Open(joiner_dir, true);
  ASSERT_TRUE(joiner_storage.ok());
  ASSERT_TRUE((*joiner_storage)->Append(*snapshot_name, snapshot_bytes).ok());
  const crypto::PublicKey key = service_->service_key.Public();
  ledger::Snapshot snapshot = *ledger::ReadSnapshot(joiner_storage->get(), *snapshot_name, key,
                                                    {.secrets = &service_->secrets});
  ledger::testing::TestService joiner{
      service_->service_key, service_->service_cert, {}, {}, nullptr};
  ASSERT_TRUE(joiner.secrets.Add(1, *service_->secrets.SecretStartingAt(1)).ok());
  joiner.store.Reset(snapshot.index, snapshot.state);
  joiner.ledger = std::move(ledger::Ledger::CreateAfterSnapshot(
                                joiner_storage->get(), snapshot.ledger_id, snapshot.tree,
                                snapshot.term, &joiner.secrets, {.segment_size_bytes_max = 16384})
                                .value());
  ASSERT_TRUE(ledger::testing::AppendMany(joiner, 200, 50).ok());

  const std::string pinned = " --service-cert " + cert_path_;
  CliRun run = RunCloister("ledger verify " + joiner_dir + pinned, directory_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("snapshot at index " + std::to_string(snapshot.index)),
            std::string::npos)
      << run.output;
  EXPECT_EQ(RunCloister("ledger verify " + joiner_dir, directory_).exit_code, 0);
  EXPECT_EQ(
      RunCloister("ledger verify " + joiner_dir + " --service-cert " + other_cert_path_, directory_)
          .exit_code,
      1);

  DeterministicRng rng(11);
  const std::vector<std::string> names = *(*joiner_storage)->List();
  for (const std::string& name : names) {
    const Bytes original = *(*joiner_storage)->Read(name);
    for (int flip = 0; flip < 2; ++flip) {
      Bytes data = original;
      const size_t position = rng.Uniform(data.size());
      data[position] ^= static_cast<uint8_t>(1u << rng.Uniform(8));
      WriteFile(joiner_dir + "/" + name, data);
      run = RunCloister("ledger verify " + joiner_dir + pinned, directory_);
      EXPECT_EQ(run.exit_code, 1) << name << "@" << position << ": " << run.output;
      EXPECT_NE(run.output.find("NOT intact"), std::string::npos) << run.output;
      run = RunCloister("ledger verify " + joiner_dir, directory_);
      EXPECT_EQ(run.exit_code, 1) << name << "@" << position << " (unpinned): " << run.output;
    }
    WriteFile(joiner_dir + "/" + name, original);
  }
  EXPECT_EQ(RunCloister("ledger verify " + joiner_dir + pinned, directory_).exit_code, 0);

  // Without the snapshot in the directory: refused, unless given with --snapshot.
  std::filesystem::rename(joiner_dir + "/" + *snapshot_name, directory_ + "/" + *snapshot_name);
  run = RunCloister("ledger verify " + joiner_dir + pinned, directory_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("no snapshot covers"), std::string::npos) << run.output;
  run = RunCloister(
      "ledger verify " + joiner_dir + pinned + " --snapshot " + directory_ + "/" + *snapshot_name,
      directory_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

// `cloister receipt verify` accepts a receipt with the right certificate only, and refuses a
// changed receipt.
TEST_F(LedgerCliTest, ReceiptVerify) {
  const std::string receipt_path = directory_ + "/receipt.cbor";
  const Bytes receipt = *service_->ledger->Receipt(123);
  WriteFile(receipt_path, receipt);
  CliRun run =
      RunCloister("receipt verify " + receipt_path + " --service-cert " + cert_path_, directory_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("\"index\":123"), std::string::npos) << run.output;
  run = RunCloister("receipt verify " + receipt_path + " --service-cert " + other_cert_path_,
                    directory_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  Bytes changed = receipt;
  changed[changed.size() / 2] ^= 0x01;
  WriteFile(receipt_path, changed);
  run = RunCloister("receipt verify " + receipt_path + " --service-cert " + cert_path_, directory_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(RunCloister("receipt verify " + receipt_path, directory_).exit_code, 2);
}

}  // namespace
}  // namespace cloister::node
