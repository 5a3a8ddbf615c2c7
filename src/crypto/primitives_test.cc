// Proves the OpenSSL wrappers against published known-answer vectors (FIPS 180, RFC 4231,
// RFC 5869, the GCM specification's test cases, RFC 8439, RFC 8032, RFC 7748) and that every
// tampering or malformed input is rejected with an error rather than accepted.
#include <gtest/gtest.h>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/key.h"
#include "cloister/crypto/random.h"
#include "cloister/crypto/signature.h"

namespace cloister::crypto {
namespace {

Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.value_or(Bytes{});
}

TEST(HashTest, Fips180Abc) {
  EXPECT_EQ(ToHex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      ToHex(Sha384(AsBytes("abc"))),
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
      "34c825a7");
  EXPECT_EQ(
      ToHex(Sha512(AsBytes("abc"))),
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
      "a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(HashTest, IncrementalEqualsOneShot) {
  Hasher hasher(HashAlgorithm::kSha384);
  hasher.Update(AsBytes("a"));
  hasher.Update(AsBytes(""));
  hasher.Update(AsBytes("bc"));
  EXPECT_EQ(hasher.Finish(), Sha384(AsBytes("abc")));
}

TEST(HmacTest, Rfc4231Case2) {
  EXPECT_EQ(
      ToHex(Hmac(HashAlgorithm::kSha256, AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HkdfTest, Rfc5869Case1) {
  const Bytes ikm(22, 0x0b);
  const Bytes salt = Hex("000102030405060708090a0b0c");
  const Bytes info = Hex("f0f1f2f3f4f5f6f7f8f9");
  const Bytes prk = HkdfExtract(HashAlgorithm::kSha256, salt, ikm);
  EXPECT_EQ(ToHex(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  EXPECT_EQ(ToHex(*HkdfExpand(HashAlgorithm::kSha256, prk, info, 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// The OpenSSL 3.0 trap: an empty salt must mean HashLen zeros, not a silent failure.
TEST(HkdfTest, Rfc5869Case3EmptySaltAndInfo) {
  const Bytes ikm(22, 0x0b);
  const Bytes prk = HkdfExtract(HashAlgorithm::kSha256, {}, ikm);
  EXPECT_EQ(ToHex(prk), "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  EXPECT_EQ(ToHex(*Hkdf(HashAlgorithm::kSha256, {}, ikm, {}, 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_EQ(HkdfExtract(HashAlgorithm::kSha256, {}, ikm),
            HkdfExtract(HashAlgorithm::kSha256, Bytes(32, 0), ikm));
}

TEST(HkdfTest, RejectsOverlongOutputAndShortPrk) {
  const Bytes prk(32, 1);
  EXPECT_FALSE(HkdfExpand(HashAlgorithm::kSha256, prk, {}, 255 * 32 + 1).ok());
  EXPECT_TRUE(HkdfExpand(HashAlgorithm::kSha256, prk, {}, 255 * 32).ok());
  EXPECT_FALSE(HkdfExpand(HashAlgorithm::kSha256, Bytes(16, 1), {}, 32).ok());
  EXPECT_TRUE(HkdfExpand(HashAlgorithm::kSha256, prk, {}, 0)->empty());
}

struct AeadVector {
  AeadAlgorithm algorithm;
  const char* key;
  const char* nonce;
  const char* aad;
  const char* plaintext;
  const char* ciphertext_and_tag;
};

constexpr char kGcmPlaintext[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b5"
    "25b16aedf5aa0de657ba637b39";

const AeadVector kAeadVectors[] = {
    // GCM specification (McGrew and Viega), test case 4.
    {AeadAlgorithm::kAes128Gcm, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2", kGcmPlaintext,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84a"
     "a"
     "051ba30b396a0aac973d58e0915bc94fbc3221a5db94fae95ae7121a47"},
    // GCM specification, test case 16.
    {AeadAlgorithm::kAes256Gcm, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", kGcmPlaintext,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
    // RFC 8439 §2.8.2.
    {AeadAlgorithm::kChaCha20Poly1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a20496620"
     "4920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f722074686520667574757265"
     "2c2073756e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da927"
     "28b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b48"
     "31d7bc3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691"},
};

class AeadVectorTest : public ::testing::TestWithParam<AeadVector> {};

TEST_P(AeadVectorTest, SealsAndOpensKnownAnswer) {
  const AeadVector& v = GetParam();
  const Bytes key = Hex(v.key), nonce = Hex(v.nonce), aad = Hex(v.aad);
  const Bytes plaintext = Hex(v.plaintext), expected = Hex(v.ciphertext_and_tag);
  EXPECT_EQ(ToHex(*AeadSeal(v.algorithm, key, nonce, aad, plaintext)), ToHex(expected));
  EXPECT_EQ(*AeadOpen(v.algorithm, key, nonce, aad, expected), plaintext);
}

TEST_P(AeadVectorTest, RejectsEveryTamperedByte) {
  const AeadVector& v = GetParam();
  const Bytes key = Hex(v.key), nonce = Hex(v.nonce), aad = Hex(v.aad);
  const Bytes sealed = Hex(v.ciphertext_and_tag);
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes tampered = sealed;
    tampered[i] ^= 0x01;
    const Result<Bytes> opened = AeadOpen(v.algorithm, key, nonce, aad, tampered);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kVerification);
  }
  Bytes other_aad = aad;
  other_aad.push_back(0);
  EXPECT_FALSE(AeadOpen(v.algorithm, key, nonce, other_aad, sealed).ok());
  EXPECT_FALSE(AeadOpen(v.algorithm, key, nonce, aad, ByteSpan(sealed).first(15)).ok());
}

INSTANTIATE_TEST_SUITE_P(Known, AeadVectorTest, ::testing::ValuesIn(kAeadVectors));

TEST(AeadTest, WrongSizesAreInvalidArgument) {
  EXPECT_EQ(AeadSeal(AeadAlgorithm::kAes256Gcm, Bytes(16), Bytes(12), {}, {}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(AeadSeal(AeadAlgorithm::kAes128Gcm, Bytes(16), Bytes(8), {}, {}).error().code,
            ErrorCode::kInvalidArgument);
  // Empty plaintext still authenticates.
  const Bytes sealed = *AeadSeal(AeadAlgorithm::kAes256Gcm, Bytes(32, 7), Bytes(12, 1), {}, {});
  EXPECT_EQ(sealed.size(), 16u);
  EXPECT_TRUE(AeadOpen(AeadAlgorithm::kAes256Gcm, Bytes(32, 7), Bytes(12, 1), {}, sealed)->empty());
}

TEST(Ed25519Test, Rfc8032Test1) {
  const PrivateKey key = *PrivateKey::FromRaw(
      KeyType::kEd25519, Hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  EXPECT_EQ(ToHex(key.Public().ToRaw()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Bytes signature = *Sign(key, HashAlgorithm::kSha512, {});
  EXPECT_EQ(
      ToHex(signature),
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e397"
      "01cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Verify(key.Public(), HashAlgorithm::kSha512, {}, signature).ok());
  EXPECT_FALSE(Verify(key.Public(), HashAlgorithm::kSha512, AsBytes("x"), signature).ok());
}

TEST(X25519Test, Rfc7748Section6_1) {
  const PrivateKey alice = *PrivateKey::FromRaw(
      KeyType::kX25519, Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const PrivateKey bob = *PrivateKey::FromRaw(
      KeyType::kX25519, Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  EXPECT_EQ(ToHex(alice.Public().ToRaw()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(ToHex(bob.Public().ToRaw()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(ToHex(*DiffieHellman(alice, bob.Public())), shared);
  EXPECT_EQ(ToHex(*DiffieHellman(bob, alice.Public())), shared);
}

TEST(X25519Test, RejectsLowOrderPeer) {
  const PrivateKey own = *PrivateKey::Generate(KeyType::kX25519);
  const PublicKey zero = *PublicKey::FromRaw(KeyType::kX25519, Bytes(32, 0));
  EXPECT_FALSE(DiffieHellman(own, zero).ok());
}

class EcdsaTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(EcdsaTest, SignVerifyInEveryFormat) {
  const KeyType type = GetParam();
  const HashAlgorithm hash =
      type == KeyType::kP256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384;
  const size_t component = type == KeyType::kP256 ? 32 : 48;
  const PrivateKey key = *PrivateKey::Generate(type);
  const PublicKey pub = key.Public();
  const Bytes message = ToBytes("attested message");
  for (const SignatureFormat format :
       {SignatureFormat::kDer, SignatureFormat::kRawBigEndian, SignatureFormat::kRawLittleEndian}) {
    const Bytes signature = *Sign(key, hash, message, format);
    if (format != SignatureFormat::kDer) {
      EXPECT_EQ(signature.size(), 2 * component);
    }
    EXPECT_TRUE(Verify(pub, hash, message, signature, format).ok());
    Bytes tampered = signature;
    tampered[tampered.size() / 2] ^= 0x80;
    EXPECT_FALSE(Verify(pub, hash, message, tampered, format).ok());
    EXPECT_FALSE(Verify(pub, hash, AsBytes("other"), signature, format).ok());
  }
  // Digest verification and the DER <-> raw conversions agree.
  const Bytes der = *Sign(key, hash, message, SignatureFormat::kDer);
  const Bytes raw = *EcdsaDerToRaw(der, component);
  EXPECT_EQ(*EcdsaRawToDer(raw, component), der);
  EXPECT_TRUE(VerifyDigest(pub, Hash(hash, message), raw, SignatureFormat::kRawBigEndian).ok());
}

TEST_P(EcdsaTest, LittleEndianPaddedComponentsLikeSevSnp) {
  const KeyType type = GetParam();
  const HashAlgorithm hash =
      type == KeyType::kP256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384;
  const size_t component = type == KeyType::kP256 ? 32 : 48;
  const PrivateKey key = *PrivateKey::Generate(type);
  const Bytes message = ToBytes("report body");
  const Bytes le = *Sign(key, hash, message, SignatureFormat::kRawLittleEndian);
  // SEV-SNP stores r and s in 72-byte little-endian fields: pad each with zeros at the top.
  Bytes padded(144, 0);
  std::copy(le.begin(), le.begin() + static_cast<std::ptrdiff_t>(component), padded.begin());
  std::copy(le.begin() + static_cast<std::ptrdiff_t>(component), le.end(), padded.begin() + 72);
  EXPECT_TRUE(Verify(key.Public(), hash, message, padded, SignatureFormat::kRawLittleEndian).ok());
  padded[71] = 1;  // a non-zero padding byte hides bits: rejected
  EXPECT_FALSE(Verify(key.Public(), hash, message, padded, SignatureFormat::kRawLittleEndian).ok());
}

TEST_P(EcdsaTest, KeySerialisationRoundTrips) {
  const KeyType type = GetParam();
  const PrivateKey key = *PrivateKey::Generate(type);
  const PublicKey pub = key.Public();
  EXPECT_EQ(*PublicKey::FromSpkiDer(pub.ToSpkiDer()), pub);
  EXPECT_EQ(*PublicKey::FromPem(pub.ToPem()), pub);
  EXPECT_EQ(*PublicKey::FromRaw(type, pub.ToRaw()), pub);
  EXPECT_EQ(PrivateKey::FromPkcs8Der(key.ToPkcs8Der())->Public(), pub);
  EXPECT_EQ(PrivateKey::FromPem(key.ToPem())->Public(), pub);
  EXPECT_EQ(PrivateKey::FromRaw(type, key.ToRaw())->Public(), pub);
  // A point off the curve is refused.
  Bytes bad = pub.ToRaw();
  bad.back() ^= 1;
  EXPECT_FALSE(PublicKey::FromRaw(type, bad).ok());
  EXPECT_FALSE(PublicKey::FromSpkiDer(Bytes{0x30, 0x03, 0x01, 0x01, 0x00}).ok());
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaTest, ::testing::Values(KeyType::kP256, KeyType::kP384));

// Public() of a known private scalar is the published point (RFC 6979 A.2.5 and A.2.6 keys),
// whichever way the private key was loaded.
TEST(KeyTest, PublicOfKnownScalarsMatchesRfc6979) {
  struct Case {
    KeyType type;
    std::string scalar, x, y;
  };
  const Case cases[] = {
      {KeyType::kP256, "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
       "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6",
       "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"},
      {KeyType::kP384,
       "6b9d3dad2e1b8c1c05b19875b6659f4de23c3b667bf297ba9aa47740787137d896d5724e4c70a825f872c9ea6"
       "0d2edf5",
       "ec3a4e415b4e19a4568618029f427fa5da9a8bc4ae92e02e06aae5286b300c64def8f0ea9055866064a25451"
       "5480bc13",
       "8015d9b72d7d57244ea8ef9ac0c621896708a59367f9dfb9f54ca84b3f1c9db1288b231c3ae0d4fe7344fd25"
       "33264720"},
  };
  for (const Case& c : cases) {
    const PrivateKey key = *PrivateKey::FromRaw(c.type, Hex(c.scalar));
    EXPECT_EQ(ToHex(key.Public().ToRaw()), "04" + c.x + c.y) << KeyTypeName(c.type);
    EXPECT_EQ(ToHex(PrivateKey::FromPkcs8Der(key.ToPkcs8Der())->Public().ToRaw()),
              "04" + c.x + c.y);
  }
}

TEST(KeyTest, DiffieHellmanP256Agrees) {
  const PrivateKey a = *PrivateKey::Generate(KeyType::kP256);
  const PrivateKey b = *PrivateKey::Generate(KeyType::kP256);
  EXPECT_EQ(*DiffieHellman(a, b.Public()), *DiffieHellman(b, a.Public()));
  EXPECT_FALSE(DiffieHellman(a, PrivateKey::Generate(KeyType::kX25519)->Public()).ok());
}

TEST(RandomTest, ProducesDistinctOutput) {
  EXPECT_NE(SecureRandomBytes(32), SecureRandomBytes(32));
  SecureRng rng;
  EXPECT_NE(rng.Next(), rng.Next());
  EXPECT_TRUE(ConstantTimeEqual(Bytes{1, 2}, Bytes{1, 2}));
  EXPECT_FALSE(ConstantTimeEqual(Bytes{1, 2}, Bytes{1, 3}));
  EXPECT_FALSE(ConstantTimeEqual(Bytes{1, 2}, Bytes{1}));
}

}  // namespace
}  // namespace cloister::crypto
