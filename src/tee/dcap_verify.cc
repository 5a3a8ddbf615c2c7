// DCAP quote verification (dcap.h): PCK chain to the pinned Intel root, QE report signature,
// attestation key binding, quote signature, then optional collateral (QE identity, TCB status).
#include <nlohmann/json.hpp>

#include "claims_util.h"
#include "cloister/base/clock.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/signature.h"
#include "cloister/tee/chain_cache.h"
#include "cloister/tee/dcap.h"
#include "cloister/tee/roots.h"

namespace cloister::tee {
namespace {

using Json = nlohmann::json;

struct PckChain {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> intermediates;
};

// Splits the quote's PEM chain. A root in it must be the pinned one; it is then dropped, so that
// only the pinned copy anchors the chain.
Result<PckChain> SplitPckChain(const std::string& pem) {
  ASSIGN_OR_RETURN(std::vector<crypto::Certificate> certificates,
                   crypto::Certificate::FromPemBundle(pem));
  if (certificates.size() > 4) {
    return VerificationError("PCK chain has ", certificates.size(), " certificates, at most 4");
  }
  PckChain chain{certificates.front(), {}};
  for (size_t i = 1; i < certificates.size(); ++i) {
    if (certificates[i].IsSelfIssued()) {
      if (!(certificates[i] == PinnedIntelSgxRootCa())) {
        return VerificationError("PCK chain ends in '", certificates[i].Subject(),
                                 "', which is not the pinned Intel SGX Root CA (a root inside "
                                 "evidence is never trusted)");
      }
      continue;
    }
    chain.intermediates.push_back(certificates[i]);
  }
  return chain;
}

Status VerifyQeAndQuote(const DcapQuote& quote, const crypto::Certificate& pck) {
  ASSIGN_OR_RETURN(const crypto::PublicKey pck_key, pck.SubjectPublicKey());
  const Status qe_signature =
      crypto::Verify(pck_key, crypto::HashAlgorithm::kSha256, quote.qe_report,
                     quote.qe_report_signature, crypto::SignatureFormat::kRawBigEndian);
  if (!qe_signature.ok()) {
    return VerificationError("QE report signature does not verify under the PCK key: ",
                             qe_signature.error().message);
  }
  const Bytes binding = crypto::Sha256(Concat(quote.attestation_key, quote.qe_auth_data));
  const ByteSpan qe_report_data(quote.qe_report_body.report_data);
  if (!crypto::ConstantTimeEqual(binding, qe_report_data.first(32)) ||
      !IsAllZero(qe_report_data.subspan(32))) {
    return VerificationError(
        "QE REPORTDATA is not SHA-256(attestation key || QE auth data): the attestation key is "
        "not the one the quoting enclave vouched for");
  }
  ASSIGN_OR_RETURN(const crypto::PublicKey attestation_key,
                   crypto::PublicKey::FromRaw(crypto::KeyType::kP256, quote.attestation_key));
  const Status quote_signature =
      crypto::Verify(attestation_key, crypto::HashAlgorithm::kSha256, quote.signed_bytes,
                     quote.signature, crypto::SignatureFormat::kRawBigEndian);
  if (!quote_signature.ok()) {
    return VerificationError("quote signature does not verify under the attestation key: ",
                             quote_signature.error().message);
  }
  return OkStatus();
}

Result<uint64_t> HexMasked(const Json& identity, const char* value_key, const char* mask_key,
                           ByteSpan actual, std::string_view what) {
  ASSIGN_OR_RETURN(const Bytes expected, FromHex(identity.at(value_key).get<std::string>()));
  ASSIGN_OR_RETURN(const Bytes mask, FromHex(identity.at(mask_key).get<std::string>()));
  if (expected.size() != actual.size() || mask.size() != actual.size()) {
    return ParseError("QE identity ", what, " has the wrong size");
  }
  for (size_t i = 0; i < actual.size(); ++i) {
    if ((actual[i] & mask[i]) != (expected[i] & mask[i])) {
      return VerificationError("QE report ", what, " ", ToHex(actual),
                               " does not match the QE identity under its mask");
    }
  }
  return 0;
}

// Matches the QE report against Intel's QE identity and returns the QE's TCB status.
Result<std::string> EvaluateQeIdentity(const Json& identity, const DcapQuote& quote) {
  const SgxReportBody& qe = quote.qe_report_body;
  const std::string expected_id = quote.is_tdx() ? "TD_QE" : "QE";
  if (identity.at("id").get<std::string>() != expected_id) {
    return VerificationError("QE identity is for ", identity.at("id").get<std::string>(),
                             ", expected ", expected_id);
  }
  ASSIGN_OR_RETURN(const Bytes mr_signer, FromHex(identity.at("mrsigner").get<std::string>()));
  if (mr_signer != qe.mr_signer) {
    return VerificationError("QE MRSIGNER ", ToHex(qe.mr_signer), " is not Intel's ",
                             ToHex(mr_signer));
  }
  if (identity.at("isvprodid").get<uint64_t>() != qe.isv_prod_id) {
    return VerificationError("QE ISVPRODID ", qe.isv_prod_id, " differs from the QE identity");
  }
  Bytes misc;
  ByteWriter(&misc).U32Be(qe.misc_select);
  RETURN_IF_ERROR(HexMasked(identity, "miscselect", "miscselectMask", misc, "MISCSELECT"));
  RETURN_IF_ERROR(HexMasked(identity, "attributes", "attributesMask", qe.attributes, "ATTRIBUTES"));
  for (const Json& level : identity.at("tcbLevels")) {
    if (level.at("tcb").at("isvsvn").get<uint64_t>() <= qe.isv_svn) {
      return level.at("tcbStatus").get<std::string>();
    }
  }
  return std::string("NotSupported");
}

Status ApplyCollateral(const DcapCollateral& collateral, const DcapQuote& quote,
                       const PckExtension& pck, Claims* claims) {
  if (collateral.qe_identity_json) {
    Json identity = Json::parse(*collateral.qe_identity_json, nullptr, false);
    if (identity.is_discarded()) return ParseError("QE identity is not valid JSON");
    Result<std::string> qe_status = [&]() -> Result<std::string> {
      try {
        return EvaluateQeIdentity(identity, quote);
      } catch (const Json::exception& error) {
        return ParseError("QE identity is malformed: ", error.what());
      }
    }();
    if (!qe_status.ok()) return std::move(qe_status).error();
    AddField(claims, "qe_tcb_status", *qe_status);
    try {
      ASSIGN_OR_RETURN(const int64_t next,
                       ParseRfc3339(identity.at("nextUpdate").get<std::string>()));
      claims->collateral_next_update = next;
    } catch (const Json::exception& error) {
      return ParseError("QE identity is malformed: ", error.what());
    }
  }
  if (collateral.tcb_info_json) {
    ASSIGN_OR_RETURN(const TcbEvaluation tcb, EvaluateTcb(*collateral.tcb_info_json, pck, quote));
    claims->tcb_status = tcb.status;
    claims->advisory_ids = tcb.advisory_ids;
    if (claims->collateral_next_update == 0 || tcb.next_update < claims->collateral_next_update) {
      claims->collateral_next_update = tcb.next_update;
    }
    AddField(claims, "tcb_status", tcb.status);
    AddField(claims, "tcb_date", tcb.tcb_date);
    if (!tcb.tdx_module_status.empty()) {
      AddField(claims, "tdx_module_tcb_status", tcb.tdx_module_status);
    }
  }
  return OkStatus();
}

void FillTdClaims(const TdReportBody& td, Claims* claims) {
  claims->platform = Platform::kTdx;
  claims->product = "TDX";
  claims->measurement = td.mr_td;
  claims->report_data = td.report_data;
  claims->debug = td.debug();
  claims->host_data = td.mr_config_id;
  claims->signer_id = td.mr_owner;
  for (size_t i = 0; i < 16; ++i) {
    AddSvn(claims, "tee_tcb_svn_" + std::to_string(i), td.tee_tcb_svn[i]);
  }
  AddField(claims, "tee_tcb_svn", td.tee_tcb_svn);
  AddField(claims, "mr_seam", td.mr_seam);
  AddField(claims, "mr_signer_seam", td.mr_signer_seam);
  AddField(claims, "seam_attributes", td.seam_attributes);
  AddField(claims, "td_attributes", td.td_attributes);
  AddField(claims, "xfam", td.xfam);
  AddField(claims, "mr_td", td.mr_td);
  AddField(claims, "mr_config_id", td.mr_config_id);
  AddField(claims, "mr_owner", td.mr_owner);
  AddField(claims, "mr_owner_config", td.mr_owner_config);
  for (size_t i = 0; i < 4; ++i) AddField(claims, "rtmr" + std::to_string(i), td.rtmr[i]);
  AddField(claims, "report_data", td.report_data);
  if (!td.tee_tcb_svn2.empty()) {
    AddField(claims, "tee_tcb_svn2", td.tee_tcb_svn2);
    AddField(claims, "mr_servicetd", td.mr_service_td);
  }
}

void FillSgxClaims(const SgxReportBody& body, Claims* claims) {
  claims->platform = Platform::kSgx;
  claims->product = "SGX";
  claims->measurement = body.mr_enclave;
  claims->report_data = body.report_data;
  claims->debug = body.debug();
  claims->host_data = body.config_id;
  claims->signer_id = body.mr_signer;
  AddSvn(claims, "isv_svn", body.isv_svn);
  AddSvn(claims, "config_svn", body.config_svn);
  AddField(claims, "cpu_svn", body.cpu_svn);
  Bytes misc;
  ByteWriter(&misc).U32Le(body.misc_select);
  AddField(claims, "misc_select", misc);
  AddField(claims, "attributes", body.attributes);
  AddField(claims, "mr_enclave", body.mr_enclave);
  AddField(claims, "mr_signer", body.mr_signer);
  AddField(claims, "config_id", body.config_id);
  AddNumber(claims, "isv_prod_id", body.isv_prod_id);
  AddNumber(claims, "isv_svn", body.isv_svn);
  AddNumber(claims, "config_svn", body.config_svn);
  AddField(claims, "isv_family_id", body.isv_family_id);
  AddField(claims, "isv_ext_prod_id", body.isv_ext_prod_id);
  AddField(claims, "report_data", body.report_data);
}

void FillCommonClaims(const DcapQuote& quote, const PckExtension& pck, Claims* claims) {
  claims->signing_key = "PCK";
  claims->chip_id = pck.ppid;
  for (size_t i = 0; i < 16; ++i) {
    AddSvn(claims, "sgx_tcb_comp_" + std::to_string(i + 1), pck.tcb_components[i]);
  }
  AddSvn(claims, "pce_svn", pck.pce_svn);
  AddSvn(claims, "qe_isv_svn", quote.qe_report_body.isv_svn);
  AddNumber(claims, "quote_version", quote.version);
  AddField(claims, "tee_type", HexNumber(quote.tee_type));
  AddField(claims, "qe_vendor_id", quote.qe_vendor_id);
  AddField(claims, "user_data", quote.user_data);
  if (quote.version == 5) AddNumber(claims, "v5_body_type", quote.body_type);
  AddNumber(claims, "trailing_bytes", quote.trailing_bytes);
  AddField(claims, "qe_mr_enclave", quote.qe_report_body.mr_enclave);
  AddField(claims, "qe_mr_signer", quote.qe_report_body.mr_signer);
  AddField(claims, "pck_ppid", pck.ppid);
  AddField(claims, "pck_fmspc", pck.fmspc);
  AddField(claims, "pck_pceid", pck.pce_id);
  AddField(claims, "pck_cpusvn", pck.cpu_svn);
}

}  // namespace

Result<Claims> DcapVerifier::Verify(const Evidence& evidence, const VerifyOptions& options) const {
  if (!options.at_unix_seconds) {
    return InvalidArgumentError("DCAP verification needs a validation time");
  }
  ASSIGN_OR_RETURN(const DcapQuote quote, ParseDcapQuote(evidence.raw));
  const Platform platform = quote.is_tdx() ? Platform::kTdx : Platform::kSgx;
  if (platform != evidence.platform) {
    return VerificationError("evidence is labelled ", PlatformName(evidence.platform),
                             " but the quote is ", PlatformName(platform));
  }
  ASSIGN_OR_RETURN(const DcapCollateral collateral, ReadDcapCollateral(evidence.collateral));
  ASSIGN_OR_RETURN(const PckChain pck_chain, SplitPckChain(quote.pck_chain_pem));
  ASSIGN_OR_RETURN(const VerifiedChain chain,
                   VerifyLeafChain(pck_chain.leaf, pck_chain.intermediates, PinnedIntelSgxRootCa(),
                                   *options.at_unix_seconds, collateral.crls, options.chain_cache));
  RETURN_IF_ERROR(VerifyQeAndQuote(quote, pck_chain.leaf));
  ASSIGN_OR_RETURN(const PckExtension pck, ParsePckExtension(pck_chain.leaf));

  Claims claims;
  if (quote.is_tdx()) {
    FillTdClaims(*quote.td, &claims);
  } else {
    FillSgxClaims(*quote.sgx, &claims);
  }
  FillCommonClaims(quote, pck, &claims);
  claims.root_fingerprint = chain.root_fingerprint;
  claims.endorsement_not_after = chain.not_after;
  claims.endorsement_expiring_subject = chain.expiring_subject;
  RETURN_IF_ERROR(ApplyCollateral(collateral, quote, pck, &claims));
  return claims;
}

}  // namespace cloister::tee
