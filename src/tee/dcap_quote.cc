// DCAP quote parsing (dcap.h): header, SGX/TD report bodies, signature data and certification
// data, and the PCK certificate's SGX extension. Offsets: FORMATS.md sections 2 and 3.
#include <cstring>

#include "claims_util.h"
#include "cloister/tee/dcap.h"
#include "der.h"

namespace cloister::tee {
namespace {

constexpr uint16_t kAttestationKeyEcdsaP256 = 2;
constexpr uint16_t kCertificationQeReport = 6;
constexpr uint16_t kCertificationPckChain = 5;
constexpr uint8_t kIntelQeVendorId[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                          0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
constexpr size_t kMaxTrailingBytes = 64 * 1024;
constexpr std::string_view kSgxExtensionOid = "1.2.840.113741.1.13.1";

Result<Bytes> TakeBytes(ByteReader& reader, size_t size, std::string_view field) {
  ASSIGN_OR_RETURN(const ByteSpan span, reader.Take(size, field));
  return Bytes(span.begin(), span.end());
}

// QE report, its signature, QE authentication data and the PCK chain (certification type 5).
Status ParseQeSection(ByteReader& reader, DcapQuote* quote) {
  ASSIGN_OR_RETURN(quote->qe_report, TakeBytes(reader, kSgxReportBodySize, "QE report"));
  ASSIGN_OR_RETURN(quote->qe_report_body, ParseSgxReportBody(quote->qe_report));
  ASSIGN_OR_RETURN(quote->qe_report_signature, TakeBytes(reader, 64, "QE report signature"));
  ASSIGN_OR_RETURN(const uint16_t auth_size, reader.U16Le("QE auth data size"));
  ASSIGN_OR_RETURN(quote->qe_auth_data, TakeBytes(reader, auth_size, "QE auth data"));
  ASSIGN_OR_RETURN(const uint16_t type, reader.U16Le("certification data type"));
  if (type != kCertificationPckChain) {
    return UnsupportedError("DCAP certification data type ", type,
                            ", expected 5 (PCK certificate chain)");
  }
  ASSIGN_OR_RETURN(const uint32_t size, reader.U32Le("PCK chain size"));
  ASSIGN_OR_RETURN(const ByteSpan pem, reader.Take(size, "PCK chain"));
  // The chain is PEM text, usually NUL-terminated by the quoting library.
  size_t length = pem.size();
  while (length > 0 && pem[length - 1] == 0) --length;
  quote->pck_chain_pem.assign(reinterpret_cast<const char*>(pem.data()), length);
  return OkStatus();
}

Status ParseSignatureData(ByteSpan data, DcapQuote* quote) {
  ByteReader reader(data, "DCAP signature data");
  ASSIGN_OR_RETURN(quote->signature, TakeBytes(reader, 64, "quote signature"));
  ASSIGN_OR_RETURN(quote->attestation_key, TakeBytes(reader, 64, "attestation key"));
  if (quote->version == 3) {
    RETURN_IF_ERROR(ParseQeSection(reader, quote));
  } else {
    ASSIGN_OR_RETURN(const uint16_t type, reader.U16Le("certification data type"));
    if (type != kCertificationQeReport) {
      return UnsupportedError("DCAP v", quote->version, " certification data type ", type,
                              ", expected 6 (QE report certification data)");
    }
    ASSIGN_OR_RETURN(const uint32_t size, reader.U32Le("QE report certification data size"));
    ASSIGN_OR_RETURN(const ByteSpan inner, reader.Take(size, "QE report certification data"));
    ByteReader inner_reader(inner, "QE report certification data");
    RETURN_IF_ERROR(ParseQeSection(inner_reader, quote));
    if (!inner_reader.empty()) {
      return ParseError("QE report certification data has ", inner_reader.remaining(),
                        " unexpected bytes after the PCK chain");
    }
  }
  if (!reader.empty()) {
    return ParseError("DCAP signature data has ", reader.remaining(),
                      " unexpected bytes after the certification data");
  }
  return OkStatus();
}

Status ParseHeader(ByteReader& reader, DcapQuote* quote) {
  ASSIGN_OR_RETURN(quote->version, reader.U16Le("version"));
  ASSIGN_OR_RETURN(quote->attestation_key_type, reader.U16Le("attestation key type"));
  ASSIGN_OR_RETURN(quote->tee_type, reader.U32Le("TEE type"));
  ASSIGN_OR_RETURN(quote->qe_svn, reader.U16Le("QE SVN"));
  ASSIGN_OR_RETURN(quote->pce_svn, reader.U16Le("PCE SVN"));
  ASSIGN_OR_RETURN(quote->qe_vendor_id, TakeBytes(reader, 16, "QE vendor id"));
  ASSIGN_OR_RETURN(quote->user_data, TakeBytes(reader, 20, "user data"));
  if (quote->version < 3 || quote->version > 5) {
    return UnsupportedError("DCAP quote version ", quote->version, " (supported: 3, 4, 5)");
  }
  if (quote->attestation_key_type != kAttestationKeyEcdsaP256) {
    return UnsupportedError("DCAP attestation key type ", quote->attestation_key_type,
                            " (supported: 2, ECDSA P-256)");
  }
  if (quote->tee_type != 0 && quote->tee_type != kDcapTeeTypeTdx) {
    return ParseError("DCAP TEE type 0x", HexNumber(quote->tee_type), " is neither SGX nor TDX");
  }
  if (quote->version == 3 && quote->tee_type != 0) {
    return ParseError("DCAP v3 quotes are SGX only, TEE type is ", HexNumber(quote->tee_type));
  }
  if (std::memcmp(quote->qe_vendor_id.data(), kIntelQeVendorId, 16) != 0) {
    return UnsupportedError("QE vendor id ", ToHex(quote->qe_vendor_id),
                            " is not Intel's quoting enclave");
  }
  if (quote->version != 3) quote->qe_svn = quote->pce_svn = 0;  // reserved in v4/v5
  return OkStatus();
}

Status ParseBody(ByteReader& reader, DcapQuote* quote) {
  uint16_t body_type = quote->tee_type == kDcapTeeTypeTdx ? 2 : 1;
  size_t body_size = body_type == 2 ? kTdReportBody10Size : kSgxReportBodySize;
  if (quote->version == 5) {
    ASSIGN_OR_RETURN(body_type, reader.U16Le("body type"));
    ASSIGN_OR_RETURN(const uint32_t size, reader.U32Le("body size"));
    const size_t expected = body_type == 1   ? kSgxReportBodySize
                            : body_type == 2 ? kTdReportBody10Size
                            : body_type == 3 ? kTdReportBody15Size
                                             : 0;
    if (expected == 0) return UnsupportedError("DCAP v5 body type ", body_type);
    if (size != expected) {
      return ParseError("DCAP v5 body type ", body_type, " has size ", size, ", expected ",
                        expected);
    }
    if ((body_type == 1) != (quote->tee_type == 0)) {
      return ParseError("DCAP v5 body type ", body_type, " does not match TEE type ",
                        HexNumber(quote->tee_type));
    }
    quote->body_type = body_type;
    body_size = size;
  }
  ASSIGN_OR_RETURN(const ByteSpan body, reader.Take(body_size, "report body"));
  if (body_type == 1) {
    ASSIGN_OR_RETURN(quote->sgx, ParseSgxReportBody(body));
  } else {
    ASSIGN_OR_RETURN(quote->td, ParseTdReportBody(body));
  }
  return OkStatus();
}

}  // namespace

Result<SgxReportBody> ParseSgxReportBody(ByteSpan body) {
  if (body.size() != kSgxReportBodySize) {
    return ParseError("SGX report body is ", body.size(), " bytes, expected 384");
  }
  ByteReader reader(body, "SGX report body");
  SgxReportBody out;
  ASSIGN_OR_RETURN(out.cpu_svn, TakeBytes(reader, 16, "CPUSVN"));
  ASSIGN_OR_RETURN(out.misc_select, reader.U32Le("MISCSELECT"));
  RETURN_IF_ERROR(reader.Skip(12, "reserved"));
  ASSIGN_OR_RETURN(out.isv_ext_prod_id, TakeBytes(reader, 16, "ISVEXTPRODID"));
  ASSIGN_OR_RETURN(out.attributes, TakeBytes(reader, 16, "ATTRIBUTES"));
  ASSIGN_OR_RETURN(out.mr_enclave, TakeBytes(reader, 32, "MRENCLAVE"));
  RETURN_IF_ERROR(reader.Skip(32, "reserved"));
  ASSIGN_OR_RETURN(out.mr_signer, TakeBytes(reader, 32, "MRSIGNER"));
  RETURN_IF_ERROR(reader.Skip(32, "reserved"));
  ASSIGN_OR_RETURN(out.config_id, TakeBytes(reader, 64, "CONFIGID"));
  ASSIGN_OR_RETURN(out.isv_prod_id, reader.U16Le("ISVPRODID"));
  ASSIGN_OR_RETURN(out.isv_svn, reader.U16Le("ISVSVN"));
  ASSIGN_OR_RETURN(out.config_svn, reader.U16Le("CONFIGSVN"));
  RETURN_IF_ERROR(reader.Skip(42, "reserved"));
  ASSIGN_OR_RETURN(out.isv_family_id, TakeBytes(reader, 16, "ISVFAMILYID"));
  ASSIGN_OR_RETURN(out.report_data, TakeBytes(reader, 64, "REPORTDATA"));
  return out;
}

Result<TdReportBody> ParseTdReportBody(ByteSpan body) {
  if (body.size() != kTdReportBody10Size && body.size() != kTdReportBody15Size) {
    return ParseError("TD report body is ", body.size(), " bytes, expected 584 or 648");
  }
  ByteReader reader(body, "TD report body");
  TdReportBody out;
  ASSIGN_OR_RETURN(out.tee_tcb_svn, TakeBytes(reader, 16, "TEE_TCB_SVN"));
  ASSIGN_OR_RETURN(out.mr_seam, TakeBytes(reader, 48, "MRSEAM"));
  ASSIGN_OR_RETURN(out.mr_signer_seam, TakeBytes(reader, 48, "MRSIGNERSEAM"));
  ASSIGN_OR_RETURN(out.seam_attributes, TakeBytes(reader, 8, "SEAMATTRIBUTES"));
  ASSIGN_OR_RETURN(out.td_attributes, TakeBytes(reader, 8, "TDATTRIBUTES"));
  ASSIGN_OR_RETURN(out.xfam, TakeBytes(reader, 8, "XFAM"));
  ASSIGN_OR_RETURN(out.mr_td, TakeBytes(reader, 48, "MRTD"));
  ASSIGN_OR_RETURN(out.mr_config_id, TakeBytes(reader, 48, "MRCONFIGID"));
  ASSIGN_OR_RETURN(out.mr_owner, TakeBytes(reader, 48, "MROWNER"));
  ASSIGN_OR_RETURN(out.mr_owner_config, TakeBytes(reader, 48, "MROWNERCONFIG"));
  for (Bytes& rtmr : out.rtmr) {
    ASSIGN_OR_RETURN(rtmr, TakeBytes(reader, 48, "RTMR"));
  }
  ASSIGN_OR_RETURN(out.report_data, TakeBytes(reader, 64, "REPORTDATA"));
  if (body.size() == kTdReportBody15Size) {
    ASSIGN_OR_RETURN(out.tee_tcb_svn2, TakeBytes(reader, 16, "TEE_TCB_SVN2"));
    ASSIGN_OR_RETURN(out.mr_service_td, TakeBytes(reader, 48, "MRSERVICETD"));
  }
  return out;
}

Result<DcapQuote> ParseDcapQuote(ByteSpan raw) {
  DcapQuote quote;
  ByteReader reader(raw, "DCAP quote");
  RETURN_IF_ERROR(ParseHeader(reader, &quote));
  RETURN_IF_ERROR(ParseBody(reader, &quote));
  quote.signed_bytes.assign(raw.begin(), raw.begin() + static_cast<ptrdiff_t>(reader.offset()));
  ASSIGN_OR_RETURN(const uint32_t signature_size, reader.U32Le("signature data length"));
  ASSIGN_OR_RETURN(const ByteSpan signature_data, reader.Take(signature_size, "signature data"));
  RETURN_IF_ERROR(ParseSignatureData(signature_data, &quote));
  // Bytes after the signature data are neither signed nor read. Real quotes carry zero padding
  // (up to a fixed buffer size) or, in one upstream test file, a text note; both are tolerated
  // up to a bound, and counted in the claims.
  quote.trailing_bytes = reader.remaining();
  if (quote.trailing_bytes > kMaxTrailingBytes) {
    return ParseError("DCAP quote has ", quote.trailing_bytes,
                      " bytes after the signature data, more than ", kMaxTrailingBytes);
  }
  return quote;
}

namespace {

Result<std::string> ReadOid(der::Reader& reader) {
  ASSIGN_OR_RETURN(const der::Tlv oid, reader.Next());
  if (oid.tag != der::kObjectId) return ParseError("PCK extension: expected an OID");
  return crypto::OidToString(oid.value);
}

Status ParseTcbSequence(ByteSpan tcb, PckExtension* out) {
  der::Reader entries(tcb);
  for (int count = 0; !entries.empty(); ++count) {
    if (count >= 32) return ParseError("PCK TCB extension has too many entries");
    ASSIGN_OR_RETURN(const der::Tlv entry, entries.Next());
    if (entry.tag != der::kSequence) return ParseError("PCK TCB entry is not a SEQUENCE");
    der::Reader fields(entry.value);
    ASSIGN_OR_RETURN(const std::string oid, ReadOid(fields));
    ASSIGN_OR_RETURN(const der::Tlv value, fields.Next());
    const std::string prefix = std::string(kSgxExtensionOid) + ".2.";
    if (oid.rfind(prefix, 0) != 0) return ParseError("PCK TCB entry with OID ", oid);
    const std::string index_text = oid.substr(prefix.size());
    const int index = index_text.size() <= 2 ? std::atoi(index_text.c_str()) : 0;
    if (index >= 1 && index <= 17) {
      if (value.tag != der::kInteger) return ParseError("PCK TCB ", oid, " is not an INTEGER");
      ASSIGN_OR_RETURN(const uint64_t svn, der::Unsigned(value.value, oid));
      if (index == 17) {
        if (svn > 0xFFFF) return ParseError("PCESVN ", svn, " out of range");
        out->pce_svn = static_cast<uint16_t>(svn);
      } else {
        if (svn > 0xFF) return ParseError("PCK TCB component ", index, " out of range");
        out->tcb_components[static_cast<size_t>(index - 1)] = static_cast<uint8_t>(svn);
      }
    } else if (index == 18) {
      out->cpu_svn.assign(value.value.begin(), value.value.end());
    }
  }
  return OkStatus();
}

}  // namespace

Result<PckExtension> ParsePckExtension(const crypto::Certificate& pck) {
  const std::optional<Bytes> extension = pck.Extension(kSgxExtensionOid);
  if (!extension) {
    return VerificationError("PCK certificate '", pck.Subject(), "' has no SGX extension");
  }
  ASSIGN_OR_RETURN(const ByteSpan sequence,
                   der::Expect(*extension, der::kSequence, "SGX extension"));
  PckExtension out;
  der::Reader entries(sequence);
  for (int count = 0; !entries.empty(); ++count) {
    if (count >= 16) return ParseError("SGX extension has too many entries");
    ASSIGN_OR_RETURN(const der::Tlv entry, entries.Next());
    if (entry.tag != der::kSequence) return ParseError("SGX extension entry is not a SEQUENCE");
    der::Reader fields(entry.value);
    ASSIGN_OR_RETURN(const std::string oid, ReadOid(fields));
    ASSIGN_OR_RETURN(const der::Tlv value, fields.Next());
    const std::string suffix = oid.substr(std::min(oid.size(), kSgxExtensionOid.size()));
    const Bytes bytes(value.value.begin(), value.value.end());
    if (suffix == ".1") out.ppid = bytes;
    if (suffix == ".2") RETURN_IF_ERROR(ParseTcbSequence(value.value, &out));
    if (suffix == ".3") out.pce_id = bytes;
    if (suffix == ".4") out.fmspc = bytes;
  }
  if (out.fmspc.size() != 6 || out.pce_id.size() != 2) {
    return ParseError("SGX extension lacks a 6-byte FMSPC or a 2-byte PCE-ID");
  }
  return out;
}

}  // namespace cloister::tee
