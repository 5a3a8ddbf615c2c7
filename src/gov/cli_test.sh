#!/usr/bin/env bash
# Runs `cloister member keygen` and `cloister gov ...` and checks the requests they write with an
# independent implementation: python3-cbor2 decodes the COSE_Sign1 and python3-cryptography
# verifies its signature over the Sig_structure with the member certificate. Also checks the
# two-step path with an external signer (openssl dgst, DER signature) and the exit codes.
# Usage: cli_test.sh PATH_TO_cloister
set -euo pipefail
cloister="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cloister" member keygen --name alice >alice.out
"$cloister" member keygen --name bob --key-type ed25519 >/dev/null
grep -Eq '^member alice: id [0-9a-f]{64}$' alice.out || fail "keygen output: $(cat alice.out)"
for f in alice_privk.pem alice_cert.pem alice_enc_privk.pem alice_enc_pubk.b64; do
  [[ -s "$f" ]] || fail "keygen did not write $f"
done
[[ "$(stat -c %a alice_privk.pem)" == 600 ]] || fail "signing key is not mode 600"
[[ "$(stat -c %a alice_enc_privk.pem)" == 600 ]] || fail "encryption key is not mode 600"
if "$cloister" member keygen --name alice 2>/dev/null; then fail "keygen overwrote files"; fi

# Any certificate stands for the service here: requests carry the SHA-256 of its DER.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=service \
  -keyout service_key.pem -out service_cert.pem -days 2 2>/dev/null
svc=(--service-cert service_cert.pem)
sign=(--signing-key alice_privk.pem --signing-cert alice_cert.pem "${svc[@]}")
"$cloister" gov propose --action add_measurement \
  --args '{"platform":"sev_snp","measurement":"'"$(printf 'ab%.0s' {1..48})"'"}' \
  "${sign[@]}" --out proposal.cose >/dev/null
"$cloister" gov vote --proposal-id 00ff --for "${sign[@]}" --out vote.cose >/dev/null
"$cloister" gov withdraw --proposal-id 00ff "${sign[@]}" --out withdraw.cose >/dev/null
"$cloister" gov propose --action open_network --signing-key bob_privk.pem \
  --signing-cert bob_cert.pem "${svc[@]}" --out bob.cose >/dev/null

# Two-step: prepare, sign the .tbs with openssl (DER ECDSA), finish.
"$cloister" gov vote --proposal-id 00ff --against --signing-cert alice_cert.pem --prepare-only \
  "${svc[@]}" --out hsm.prepared >/dev/null
openssl dgst -sha256 -sign alice_privk.pem -out hsm.sig hsm.prepared.tbs
"$cloister" gov finish --prepared hsm.prepared --signature hsm.sig --signing-cert alice_cert.pem \
  --out hsm.cose >/dev/null

/usr/bin/python3 - alice_cert.pem bob_cert.pem service_cert.pem <<'PY'
import sys, hashlib, json, cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

def load(path):
    cert = x509.load_pem_x509_certificate(open(path, "rb").read())
    from cryptography.hazmat.primitives.serialization import Encoding
    return cert, hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()

alice, alice_kid = load(sys.argv[1])
bob, bob_kid = load(sys.argv[2])
service, service_id = load(sys.argv[3])

def check(path, cert, kid, alg, typ, proposal_id, payload_check):
    msg = cbor2.loads(open(path, "rb").read())
    assert isinstance(msg, cbor2.CBORTag) and msg.tag == 18, path + ": not tag 18"
    protected, unprotected, payload, signature = msg.value
    headers = cbor2.loads(protected)
    assert headers[1] == alg, (path, headers[1])
    assert headers[4] == kid, path + ": kid is not SHA-256 of the certificate"
    assert headers["cloister.gov.type"] == typ, (path, headers["cloister.gov.type"])
    assert isinstance(headers["cloister.gov.created_at"], int)
    assert len(headers["cloister.gov.nonce"]) == 16
    assert headers.get("cloister.gov.proposal_id") == proposal_id, path
    assert headers["cloister.gov.service"] == service_id, path + ": service is not SHA-256 of its certificate"
    assert unprotected == {}, path
    tbs = cbor2.dumps(["Signature1", protected, b"", payload])
    key = cert.public_key()
    if alg == -7:
        n = len(signature) // 2
        der = utils.encode_dss_signature(int.from_bytes(signature[:n], "big"),
                                         int.from_bytes(signature[n:], "big"))
        key.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, tbs)
    payload_check(json.loads(payload) if payload else None)

check("proposal.cose", alice, alice_kid, -7, "proposal", None,
      lambda p: p["actions"][0]["name"] == "add_measurement" or sys.exit("proposal payload"))
check("vote.cose", alice, alice_kid, -7, "ballot", "00ff",
      lambda p: p == {"vote": "for"} or sys.exit("ballot payload"))
check("withdraw.cose", alice, alice_kid, -7, "withdrawal", "00ff", lambda p: None)
check("bob.cose", bob, bob_kid, -8, "proposal", None, lambda p: None)
check("hsm.cose", alice, alice_kid, -7, "ballot", "00ff",
      lambda p: p == {"vote": "against"} or sys.exit("hsm ballot payload"))
print("python3-cbor2/cryptography verified 5 requests")
PY

# Exit codes: 1 for a refused input, 2 for usage or I/O errors.
set +e
"$cloister" gov propose --action make_coffee "${sign[@]}" --out x.cose 2>/dev/null
[[ $? == 1 ]] || fail "unknown action should exit 1"
"$cloister" gov propose --action open_network --signing-key bob_privk.pem \
  --signing-cert alice_cert.pem "${svc[@]}" --out x.cose 2>/dev/null
[[ $? == 1 ]] || fail "a key that does not match the certificate should exit 1"
"$cloister" gov finish --prepared hsm.prepared --signature hsm.sig --signing-cert bob_cert.pem \
  --out x.cose 2>/dev/null
[[ $? != 0 ]] || fail "finish with another certificate should fail"
"$cloister" gov vote --proposal-id 00ff --for --against "${sign[@]}" --out x.cose 2>/dev/null
[[ $? != 0 ]] || fail "--for with --against should fail"
"$cloister" gov vote --proposal-id 00ff --for --signing-cert missing.pem \
  --signing-key alice_privk.pem "${svc[@]}" --out x.cose 2>/dev/null
[[ $? == 2 ]] || fail "missing certificate should exit 2"
"$cloister" gov vote --proposal-id 00ff --for --signing-cert alice_cert.pem \
  --signing-key alice_privk.pem --out x.cose 2>/dev/null
[[ $? == 2 ]] || fail "a request without --service-cert should exit 2"
set -e
[[ ! -e x.cose ]] || fail "a refused request was written"
echo "gov cli test passed"
