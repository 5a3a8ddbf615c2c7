// DCAP collateral (dcap.h): reading Intel PCS bodies and dcap-qvl bundles, checking their
// signatures under the Intel SGX TCB Signing key, and TCB status evaluation (FORMATS.md section 2,
// check 6).
#include <nlohmann/json.hpp>

#include <cstring>

#include "cloister/base/clock.h"
#include "cloister/crypto/signature.h"
#include "cloister/tee/dcap.h"
#include "cloister/tee/roots.h"

namespace cloister::tee {
namespace {

using Json = nlohmann::json;

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return ParseError(what, " is not valid JSON");
  return json;
}

// Checks `signature_hex` (r||s) over the exact bytes of `signed_text` under the TCB signing
// certificate: the first certificate of `issuer_chain_pem` if given, else the known one. The
// signer must be signed by the pinned root, and a root in the chain must be the pinned one.
Status VerifyCollateralSignature(std::string_view signed_text, std::string_view signature_hex,
                                 std::string_view issuer_chain_pem, std::string_view what) {
  crypto::Certificate signer = KnownIntelTcbSigningCertificate();
  if (!issuer_chain_pem.empty()) {
    ASSIGN_OR_RETURN(std::vector<crypto::Certificate> chain,
                     crypto::Certificate::FromPemBundle(issuer_chain_pem));
    for (const crypto::Certificate& certificate : chain) {
      if (certificate.IsSelfIssued() && !(certificate == PinnedIntelSgxRootCa())) {
        return VerificationError(what, ": issuer chain has a root '", certificate.Subject(),
                                 "' that is not the pinned Intel SGX Root CA");
      }
    }
    signer = chain.front();
  }
  if (signer.CommonName() != "Intel SGX TCB Signing") {
    return VerificationError(what, " is signed by '", signer.Subject(),
                             "', not by Intel SGX TCB Signing");
  }
  const Status chained = signer.VerifySignedBy(PinnedIntelSgxRootCa());
  if (!chained.ok()) {
    return VerificationError(what, ": signer '", signer.Subject(),
                             "' is not signed by the pinned Intel SGX Root CA");
  }
  ASSIGN_OR_RETURN(const Bytes signature, FromHex(signature_hex));
  ASSIGN_OR_RETURN(const crypto::PublicKey key, signer.SubjectPublicKey());
  const Status valid = crypto::Verify(key, crypto::HashAlgorithm::kSha256, AsBytes(signed_text),
                                      signature, crypto::SignatureFormat::kRawBigEndian);
  if (!valid.ok()) {
    return VerificationError(what, " signature does not verify: ", valid.error().message);
  }
  return OkStatus();
}

// An Intel PCS body: exactly {"<key>":<object>,"signature":"<hex>"}; the signature covers the
// object's bytes as they appear, so the text is cut, not re-serialised.
Result<std::string> ReadPcsBody(std::string_view text, std::string_view key) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  const std::string prefix = "{\"" + std::string(key) + "\":";
  const std::string_view marker = ",\"signature\":\"";
  const size_t signature_at = text.rfind(marker);
  if (text.rfind(prefix, 0) != 0 || signature_at == std::string_view::npos ||
      text.size() < signature_at + marker.size() + 2 || text.substr(text.size() - 2) != "\"}") {
    return ParseError("collateral is not an Intel PCS '", key, "' body ({\"", key,
                      "\":...,\"signature\":\"...\"})");
  }
  const std::string_view object = text.substr(prefix.size(), signature_at - prefix.size());
  const std::string_view signature =
      text.substr(signature_at + marker.size(), text.size() - 2 - signature_at - marker.size());
  RETURN_IF_ERROR(VerifyCollateralSignature(object, signature, "", key));
  return std::string(object);
}

Status ReadBundle(const Json& bundle, DcapCollateral* out) {
  auto text = [&bundle](const char* key) -> Result<std::string> {
    if (!bundle.contains(key) || !bundle[key].is_string()) {
      return ParseError("collateral bundle lacks string field '", key, "'");
    }
    return bundle[key].get<std::string>();
  };
  ASSIGN_OR_RETURN(const std::string tcb_info, text("tcb_info"));
  ASSIGN_OR_RETURN(const std::string tcb_signature, text("tcb_info_signature"));
  ASSIGN_OR_RETURN(const std::string tcb_chain, text("tcb_info_issuer_chain"));
  RETURN_IF_ERROR(VerifyCollateralSignature(tcb_info, tcb_signature, tcb_chain, "tcb_info"));
  out->tcb_info_json = tcb_info;
  ASSIGN_OR_RETURN(const std::string qe_identity, text("qe_identity"));
  ASSIGN_OR_RETURN(const std::string qe_signature, text("qe_identity_signature"));
  ASSIGN_OR_RETURN(const std::string qe_chain, text("qe_identity_issuer_chain"));
  RETURN_IF_ERROR(VerifyCollateralSignature(qe_identity, qe_signature, qe_chain, "qe_identity"));
  out->qe_identity_json = qe_identity;
  for (const char* key : {"root_ca_crl", "pck_crl"}) {
    ASSIGN_OR_RETURN(const std::string hex, text(key));
    ASSIGN_OR_RETURN(const Bytes der, FromHex(hex));
    ASSIGN_OR_RETURN(crypto::Crl crl, crypto::Crl::FromDerOrPem(der));
    out->crls.push_back(std::move(crl));
  }
  return OkStatus();
}

}  // namespace

Result<DcapCollateral> ReadDcapCollateral(const std::vector<Bytes>& items) {
  DcapCollateral out;
  for (const Bytes& item : items) {
    if (!item.empty() && item.front() == '{') {
      const std::string_view text = AsString(item);
      ASSIGN_OR_RETURN(const Json json, ParseJson(text, "collateral"));
      if (json.contains("tcbInfo")) {
        ASSIGN_OR_RETURN(out.tcb_info_json, ReadPcsBody(text, "tcbInfo"));
      } else if (json.contains("enclaveIdentity")) {
        ASSIGN_OR_RETURN(out.qe_identity_json, ReadPcsBody(text, "enclaveIdentity"));
      } else if (json.contains("tcb_info")) {
        RETURN_IF_ERROR(ReadBundle(json, &out));
      } else {
        return ParseError("JSON collateral is neither tcbInfo, enclaveIdentity nor a bundle");
      }
      continue;
    }
    Result<crypto::Crl> crl = crypto::Crl::FromDerOrPem(item);
    if (!crl.ok()) return std::move(crl).error().WithContext("collateral is not JSON nor a CRL");
    out.crls.push_back(std::move(crl).value());
  }
  return out;
}

namespace {

Result<int64_t> TimeField(const Json& object, const char* key) {
  if (!object.contains(key) || !object[key].is_string()) {
    return ParseError("collateral lacks '", key, "'");
  }
  return ParseRfc3339(object[key].get<std::string>());
}

// True when every component SVN of `level` is at most the platform's.
Result<bool> ComponentsAtMost(const Json& components, ByteSpan platform, size_t skip) {
  if (!components.is_array() || components.size() != 16) {
    return ParseError("tcbLevel components are not an array of 16");
  }
  for (size_t i = skip; i < 16; ++i) {
    const Json& svn = components.at(i).at("svn");
    if (!svn.is_number_unsigned()) return ParseError("tcbLevel component without svn");
    if (svn.get<uint64_t>() > platform[i]) return false;
  }
  return true;
}

Result<std::string> ModuleStatus(const Json& tcb_info, const TdReportBody& td) {
  if (td.tee_tcb_svn[1] == 0 || !tcb_info.contains("tdxModuleIdentities")) return std::string();
  char id[16];
  std::snprintf(id, sizeof(id), "TDX_%02X", td.tee_tcb_svn[1]);
  for (const Json& identity : tcb_info.at("tdxModuleIdentities")) {
    if (identity.value("id", "") != id) continue;
    for (const Json& level : identity.at("tcbLevels")) {
      if (level.at("tcb").at("isvsvn").get<uint64_t>() <= td.tee_tcb_svn[0]) {
        return level.value("tcbStatus", "");
      }
    }
    return std::string("NotSupported");
  }
  return std::string("NotSupported");
}

Result<TcbEvaluation> EvaluateLevels(const Json& tcb_info, const PckExtension& pck,
                                     const DcapQuote& quote) {
  TcbEvaluation out;
  out.status = "NotSupported";
  if (!tcb_info.contains("tcbLevels") || !tcb_info["tcbLevels"].is_array()) {
    return ParseError("tcbInfo has no tcbLevels");
  }
  for (const Json& level : tcb_info.at("tcbLevels")) {
    const Json& tcb = level.at("tcb");
    ASSIGN_OR_RETURN(const bool sgx_ok,
                     ComponentsAtMost(tcb.at("sgxtcbcomponents"), pck.tcb_components, 0));
    if (!sgx_ok || tcb.at("pcesvn").get<uint64_t>() > pck.pce_svn) continue;
    if (quote.is_tdx()) {
      // google/go-tdx-guest skips the module SVN and version bytes when a module identity
      // applies; Phala compares all 16. The vectors agree either way.
      const size_t skip = quote.td->tee_tcb_svn[1] != 0 ? 2 : 0;
      ASSIGN_OR_RETURN(const bool tdx_ok,
                       ComponentsAtMost(tcb.at("tdxtcbcomponents"), quote.td->tee_tcb_svn, skip));
      if (!tdx_ok) continue;
    }
    out.status = level.value("tcbStatus", "");
    out.tcb_date = level.value("tcbDate", "");
    if (level.contains("advisoryIDs")) {
      for (const Json& advisory : level.at("advisoryIDs")) {
        out.advisory_ids.push_back(advisory.get<std::string>());
      }
    }
    break;
  }
  if (quote.is_tdx()) {
    ASSIGN_OR_RETURN(out.tdx_module_status, ModuleStatus(tcb_info, *quote.td));
  }
  return out;
}

}  // namespace

namespace {

Result<TcbEvaluation> EvaluateTcbInfo(const Json& tcb_info, const PckExtension& pck,
                                      const DcapQuote& quote) {
  if (!tcb_info.is_object()) return ParseError("tcbInfo is not an object");
  const std::string expected_id = quote.is_tdx() ? "TDX" : "SGX";
  const std::string id = tcb_info.value("id", "SGX");
  if (id != expected_id) {
    return VerificationError("tcbInfo is for ", id, " but the quote is ", expected_id);
  }
  const std::string fmspc = tcb_info.value("fmspc", "");
  ASSIGN_OR_RETURN(const Bytes fmspc_bytes, FromHex(fmspc));
  if (fmspc_bytes != pck.fmspc) {
    return VerificationError("tcbInfo is for FMSPC ", fmspc, " but the PCK certificate says ",
                             ToHex(pck.fmspc));
  }
  ASSIGN_OR_RETURN(const Bytes pce_id, FromHex(tcb_info.value("pceId", "")));
  if (pce_id != pck.pce_id) {
    return VerificationError("tcbInfo PCE-ID ", ToHex(pce_id), " differs from the PCK's ",
                             ToHex(pck.pce_id));
  }
  ASSIGN_OR_RETURN(TcbEvaluation evaluation, EvaluateLevels(tcb_info, pck, quote));
  ASSIGN_OR_RETURN(evaluation.next_update, TimeField(tcb_info, "nextUpdate"));
  return evaluation;
}

}  // namespace

Result<TcbEvaluation> EvaluateTcb(const std::string& tcb_info_json, const PckExtension& pck,
                                  const DcapQuote& quote) {
  ASSIGN_OR_RETURN(const Json tcb_info, ParseJson(tcb_info_json, "tcbInfo"));
  try {
    return EvaluateTcbInfo(tcb_info, pck, quote);
  } catch (const Json::exception& error) {
    // nlohmann reports missing keys and type mismatches by exception; they become an Error here.
    return ParseError("tcbInfo is malformed: ", error.what());
  }
}

}  // namespace cloister::tee
