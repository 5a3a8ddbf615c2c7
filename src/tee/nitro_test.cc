// Proves the AWS Nitro verifier's envelope and time rules on the real documents: the chain is
// checked at the document's own timestamp unless a time is given (leaves live ~3 hours), tagged and
// untagged COSE_Sign1 both verify, indefinite-length maps are read, and a document re-signed under
// a lookalike AWS root (or a forged intermediate below the genuine root) is refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloister/crypto/cbor.h"
#include "cloister/crypto/cose.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/x509.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/nitro.h"
#include "cloister/tee/roots.h"
#include "tee_test_util.h"

namespace cloister::tee {
namespace {

namespace cbor = crypto::cbor;
namespace cose = crypto::cose;

constexpr std::string_view kDocument = "nitro/evervault_valid_nonce.cbor";

Evidence NitroEvidence(Bytes raw) { return {.platform = Platform::kNitro, .raw = std::move(raw)}; }

int64_t DocumentSeconds(const Bytes& raw) {
  return static_cast<int64_t>(ParseNitroDocument(raw).value().timestamp_unix_millis / 1000);
}

// The genuine payload with `certificate` and `cabundle` replaced, encoded with a definite or an
// indefinite-length (0xBF ... 0xFF) top-level map, then signed by `leaf_key` (ES384, untagged).
Bytes Resigned(const Bytes& genuine, const crypto::Certificate& leaf,
               const std::vector<crypto::Certificate>& cabundle, const crypto::PrivateKey& leaf_key,
               bool indefinite) {
  const NitroDocument document = ParseNitroDocument(genuine).value();
  const cbor::Value payload = cbor::Decode(document.payload).value();
  std::vector<cbor::MapEntry> entries;
  for (const cbor::MapEntry& entry : payload.entries()) {
    const std::string_view key = entry.key.AsText().value();
    if (key == "certificate") {
      entries.push_back({entry.key, cbor::Value::ByteString(leaf.Der())});
    } else if (key == "cabundle") {
      cbor::Value array = cbor::Value::Array();
      for (const crypto::Certificate& certificate : cabundle) {
        array.Append(cbor::Value::ByteString(certificate.Der()));
      }
      entries.push_back({entry.key, std::move(array)});
    } else {
      entries.push_back(entry);
    }
  }
  Bytes encoded;
  if (indefinite) {
    encoded.push_back(0xBF);
    for (const cbor::MapEntry& entry : entries) {
      cbor::EncodeTo(entry.key, &encoded);
      cbor::EncodeTo(entry.value, &encoded);
    }
    encoded.push_back(0xFF);
  } else {
    encoded = cbor::Encode(cbor::Value::Map(std::move(entries)));
  }
  return cose::Sign1(leaf_key, encoded, {.tagged = false}).value();
}

struct ForgedChain {
  crypto::PrivateKey root_key;
  crypto::Certificate root;
  crypto::PrivateKey leaf_key;
  crypto::Certificate leaf;
};

// A self-made CA named like AWS's root, and a P-384 leaf it signs, valid around `at`.
ForgedChain MakeLookalikeChain(int64_t at) {
  crypto::PrivateKey root_key = crypto::PrivateKey::Generate(crypto::KeyType::kP384).value();
  crypto::Certificate root = crypto::IssueCertificate({.common_name = "aws.nitro-enclaves",
                                                       .not_before = at - 86400,
                                                       .not_after = at + 86400,
                                                       .is_ca = true},
                                                      root_key.Public(), root_key, nullptr)
                                 .value();
  crypto::PrivateKey leaf_key = crypto::PrivateKey::Generate(crypto::KeyType::kP384).value();
  crypto::Certificate leaf =
      crypto::IssueCertificate(
          {.common_name = "i-0000000000000000-enc0000000000000000.eu-west-1.aws",
           .not_before = at - 3600,
           .not_after = at + 3600,
           .serial = 2},
          leaf_key.Public(), root_key, &root)
          .value();
  return {std::move(root_key), std::move(root), std::move(leaf_key), std::move(leaf)};
}

TEST(NitroTest, ChainIsCheckedAtTheDocumentsOwnTimestampOrAtAGivenTime) {
  // Proves that without a time the document verifies at its own timestamp, that a given time is
  // honoured (three hours later the leaf has expired), and that today the document is refused.
  const Bytes raw = ReadVector(kDocument);
  const int64_t issued = DocumentSeconds(raw);
  ASSERT_TRUE(VerifyEvidence(NitroEvidence(raw), {}).ok());
  EXPECT_TRUE(VerifyEvidence(NitroEvidence(raw), {.at_unix_seconds = issued}).ok());
  const Result<Claims> later =
      VerifyEvidence(NitroEvidence(raw), {.at_unix_seconds = issued + 4 * 3600});
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.error().message.find("expired"), std::string::npos) << later.error().message;
  EXPECT_FALSE(VerifyEvidence(NitroEvidence(raw), {.at_unix_seconds = At(kReviewTime)}).ok());
}

TEST(NitroTest, TaggedAndUntaggedMessagesBothVerify) {
  // Proves the real (untagged) document also verifies wrapped in COSE tag 18, and that the claims
  // record which form arrived; the tag is outside the signature, so nothing else changes.
  const Bytes untagged = ReadVector(kDocument);
  ASSERT_EQ(untagged[0], 0x84) << "vector is expected to be an untagged 4-element array";
  Bytes tagged = {0xD2};
  tagged.insert(tagged.end(), untagged.begin(), untagged.end());
  const Result<Claims> plain = VerifyEvidence(NitroEvidence(untagged), {});
  const Result<Claims> wrapped = VerifyEvidence(NitroEvidence(tagged), {});
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  ASSERT_TRUE(wrapped.ok()) << wrapped.error().ToString();
  EXPECT_EQ(plain->RawField("cose_tagged").value_or(""), "0");
  EXPECT_EQ(wrapped->RawField("cose_tagged").value_or(""), "1");
  EXPECT_EQ(plain->measurement, wrapped->measurement);
  EXPECT_EQ(DetectPlatform(tagged).value(), Platform::kNitro);
}

TEST(NitroTest, IndefiniteLengthMapsAreRead) {
  // Proves an indefinite-length unprotected header (outside the signature) still verifies against
  // the pinned root, and an indefinite-length payload map decodes to the same fields.
  const Bytes raw = ReadVector(kDocument);
  // Outer array 0x84, protected bstr 0x44 + 4 bytes, then the empty unprotected map 0xA0.
  ASSERT_EQ(raw[6], 0xA0);
  Bytes indefinite_header(raw.begin(), raw.begin() + 6);
  indefinite_header.insert(indefinite_header.end(), {0xBF, 0xFF});
  indefinite_header.insert(indefinite_header.end(), raw.begin() + 7, raw.end());
  const Result<Claims> claims = VerifyEvidence(NitroEvidence(indefinite_header), {});
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();

  const NitroDocument original = ParseNitroDocument(raw).value();
  const ForgedChain forged = MakeLookalikeChain(DocumentSeconds(raw));
  const Bytes resigned = Resigned(raw, forged.leaf, {forged.root}, forged.leaf_key, true);
  const Result<NitroDocument> parsed = ParseNitroDocument(resigned);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->payload.front(), 0xBF);
  EXPECT_EQ(parsed->pcrs, original.pcrs);
  EXPECT_EQ(parsed->user_data, original.user_data);
  EXPECT_EQ(parsed->nonce, original.nonce);
  EXPECT_EQ(parsed->timestamp_unix_millis, original.timestamp_unix_millis);
}

TEST(NitroSubstitutionTest, LookalikeRootInsideTheDocumentIsNeverTrusted) {
  // Proves a well-formed document whose cabundle starts with a self-made "aws.nitro-enclaves"
  // root, correctly signed by a leaf of that root, is refused because the root is not the pinned
  // one (and the same forgery with the genuine signer chain would have parsed identically).
  const Bytes raw = ReadVector(kDocument);
  const ForgedChain forged = MakeLookalikeChain(DocumentSeconds(raw));
  const Bytes resigned = Resigned(raw, forged.leaf, {forged.root}, forged.leaf_key, false);
  ASSERT_TRUE(ParseNitroDocument(resigned).ok());
  ASSERT_TRUE(cose::DecodeAndVerifySign1(resigned, forged.leaf.SubjectPublicKey().value()).ok());
  const Result<Claims> claims = VerifyEvidence(NitroEvidence(resigned), {});
  ASSERT_FALSE(claims.ok());
  EXPECT_NE(claims.error().message.find("never trusted"), std::string::npos)
      << claims.error().message;
}

TEST(NitroSubstitutionTest, ForgedIntermediateUnderTheGenuineRootIsRejected) {
  // Proves that naming the genuine AWS root first in cabundle does not help a forged chain: the
  // intermediate is not signed by the pinned root, so the chain check fails.
  const Bytes raw = ReadVector(kDocument);
  const ForgedChain forged = MakeLookalikeChain(DocumentSeconds(raw));
  const Bytes resigned =
      Resigned(raw, forged.leaf, {PinnedAwsNitroRoot(), forged.root}, forged.leaf_key, false);
  ASSERT_TRUE(ParseNitroDocument(resigned).ok());
  const Result<Claims> claims = VerifyEvidence(NitroEvidence(resigned), {});
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().message.find("never trusted"), std::string::npos)
      << "the pinned root itself must pass the comparison: " << claims.error().message;
}

}  // namespace
}  // namespace cloister::tee
