// The attester a node uses, chosen by its configuration (node.platform): the simulated TEE
// (`virtual`, measurement = SHA-384 of the running executable unless configured), configfs-tsm
// for SEV-SNP and TDX guests, Gramine's /dev/attestation for SGX, /dev/nsm for Nitro, or `auto`
// (the TEE this machine offers, tee::ProbePlatform). Here rather than in cloisterd's main so that
// the program wiring an application into the node needs no layer it may not include.
#pragma once

#include <memory>

#include "cloister/base/result.h"
#include "cloister/node/config.h"
#include "cloister/tee/attester.h"

namespace cloister::node {

// Errors: `auto` on a machine without a TEE interface, an unknown platform, or a device that
// cannot be opened.
Result<std::unique_ptr<tee::Attester>> MakeAttester(const NodeConfig& config);

}  // namespace cloister::node
