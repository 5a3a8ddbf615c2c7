// libFuzzer target: AWS Nitro attestation documents (COSE_Sign1 envelope, CBOR payload with
// definite or indefinite maps). No input may crash, assert or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "cloister/base/assert.h"
#include "cloister/tee/evidence.h"
#include "cloister/tee/nitro.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cloister::ByteSpan input(data, size);
  (void)cloister::tee::DetectPlatform(input);
  const cloister::Result<cloister::tee::NitroDocument> document =
      cloister::tee::ParseNitroDocument(input);
  if (document.ok()) {
    ASSERT(document->Pcr(0) != nullptr && document->Pcr(0)->size() == 48, "PCR0");
    ASSERT(!document->cabundle.empty(), "cabundle");
  }
  return 0;
}
