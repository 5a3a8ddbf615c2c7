// Vendor trust anchors pinned in the code, and the vendor intermediates we know.
//
// These are the public roots the vendors publish: the AMD Root Keys (ARK) per product, the
// Intel SGX Root CA, the AWS Nitro Enclaves root. Every verifier in tee/ anchors its chains here
// and nowhere else; a root that arrives inside evidence is only compared with these
// (FORMATS.md rule 1). The AMD ASK/ASVK and the Intel SGX TCB Signing certificate are
// intermediates: they are still verified against the pinned roots before use, and are compiled in
// only so that evidence need not carry them.
//
// All accessors return certificates parsed once from compiled-in PEM; they are immutable and safe
// to share between threads.
#pragma once

#include <string_view>

#include "cloister/base/result.h"
#include "cloister/crypto/x509.h"

namespace cloister::tee {

enum class AmdProduct { kMilan, kGenoa, kTurin };

// "Milan", "Genoa", "Turin".
std::string_view AmdProductName(AmdProduct product);
// From a VCEK productName ("Milan-B0", "Genoa", "Turin") or a plain product name.
Result<AmdProduct> ParseAmdProduct(std::string_view product_name);

struct AmdChain {
  crypto::Certificate ark;   // root, self-signed RSA-4096 (pinned)
  crypto::Certificate ask;   // signs VCEKs
  crypto::Certificate asvk;  // signs VLEKs
};
const AmdChain& PinnedAmdChain(AmdProduct product);

// Intel SGX Root CA (anchors PCK chains and collateral signing chains of both TDX and SGX).
const crypto::Certificate& PinnedIntelSgxRootCa();
// "Intel SGX TCB Signing", the key that signs tcbInfo and QE identity collateral.
const crypto::Certificate& KnownIntelTcbSigningCertificate();
// AWS Nitro Enclaves root G1 (CN=aws.nitro-enclaves, P-384).
const crypto::Certificate& PinnedAwsNitroRoot();

}  // namespace cloister::tee
