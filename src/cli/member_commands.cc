// `cloister member keygen`: a member's identity for governing a network, made offline.
//
//   cloister member keygen --name alice [--dir DIR] [--key-type p256|p384|ed25519]
//
// writes, in DIR (default "."):
//   alice_privk.pem      signing key (PKCS#8 PEM, mode 0600): signs governance requests
//   alice_cert.pem       self-signed certificate of that key: what genesis or add_member records
//   alice_enc_privk.pem  X25519 encryption key (PKCS#8 PEM, mode 0600): opens recovery shares
//   alice_enc_pubk.b64   its raw public key in base64: what genesis or add_member records
// and prints the member id (SHA-256 of the certificate DER, the kid of the member's requests).
// Existing files are never overwritten. Exit 0 on success, 2 on usage or I/O errors.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cloister/crypto/hpke.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/gov/tables.h"
#include "command_registry.h"

namespace cloister::cli {
namespace {

constexpr int64_t kCertificateValiditySeconds = int64_t{10} * 365 * 24 * 3600;

Status WriteNewFile(const std::filesystem::path& path, std::string_view contents, bool secret) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    return AlreadyExistsError("'", path.string(), "' exists; refusing to overwrite it");
  }
  std::ofstream file(path, std::ios::binary);
  if (!file) return IoError("cannot create '", path.string(), "'");
  if (secret) {
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, error);
    if (error) return IoError("cannot restrict permissions of '", path.string(), "'");
  }
  file << contents;
  file.close();
  if (!file) return IoError("cannot write '", path.string(), "'");
  return OkStatus();
}

Result<crypto::KeyType> ParseKeyType(std::string_view name) {
  if (name == "p256") return crypto::KeyType::kP256;
  if (name == "p384") return crypto::KeyType::kP384;
  if (name == "ed25519") return crypto::KeyType::kEd25519;
  return InvalidArgumentError("--key-type must be p256, p384 or ed25519, not '", name, "'");
}

Status Keygen(const std::string& name, const std::string& dir, const std::string& key_type) {
  if (name.empty() || name.find_first_of("/\\ ") != std::string::npos) {
    return InvalidArgumentError("--name must be a non-empty word without slashes or spaces");
  }
  ASSIGN_OR_RETURN(crypto::KeyType type, ParseKeyType(key_type));
  ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::Generate(type));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  crypto::CertificateRequest request{.common_name = name,
                                     .not_before = now - 3600,
                                     .not_after = now + kCertificateValiditySeconds};
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   crypto::IssueCertificate(request, key.Public(), key, nullptr));
  ASSIGN_OR_RETURN(crypto::hpke::KeyPair encryption,
                   crypto::hpke::GenerateKeyPair(crypto::hpke::Kem::kX25519HkdfSha256));
  ASSIGN_OR_RETURN(Bytes encryption_public,
                   crypto::hpke::SerializePublicKey(crypto::hpke::Kem::kX25519HkdfSha256,
                                                    encryption.public_key));
  const std::filesystem::path base(dir);
  RETURN_IF_ERROR(WriteNewFile(base / (name + "_privk.pem"), key.ToPem(), true));
  RETURN_IF_ERROR(WriteNewFile(base / (name + "_cert.pem"), certificate.Pem(), false));
  RETURN_IF_ERROR(
      WriteNewFile(base / (name + "_enc_privk.pem"), encryption.private_key.ToPem(), true));
  RETURN_IF_ERROR(
      WriteNewFile(base / (name + "_enc_pubk.b64"), Base64Encode(encryption_public) + "\n", false));
  std::cout << "member " << name << ": id " << gov::MemberIdOf(certificate) << "\n";
  return OkStatus();
}

void AddMemberCommands(CLI::App& app, int* exit_code) {
  CLI::App* member = app.add_subcommand("member", "Member identities for governance");
  member->require_subcommand(1);
  CLI::App* keygen =
      member->add_subcommand("keygen", "Make a signing key, certificate and recovery key");
  auto name = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>(".");
  auto key_type = std::make_shared<std::string>("p256");
  keygen->add_option("--name", *name, "Member name (file prefix and certificate CN)")->required();
  keygen->add_option("--dir", *dir, "Directory for the files")->capture_default_str();
  keygen->add_option("--key-type", *key_type, "p256, p384 or ed25519")->capture_default_str();
  keygen->callback([=] {
    Status made = Keygen(*name, *dir, *key_type);
    if (!made.ok()) std::cerr << "cloister member keygen: " << made.error().ToString() << "\n";
    *exit_code = made.ok() ? kExitOk : kExitUsage;
  });
}

const bool kRegistered = RegisterCommands("member", &AddMemberCommands);

}  // namespace
}  // namespace cloister::cli
