#!/usr/bin/env bash
# Proves the `cloister evidence` and `cloister platform` command lines on real vectors: exit codes
# (0 genuine/allowed, 1 rejected/refused, 2 usage/IO), the JSON keys scripts rely on, the
# manifest's measurement, and the reasons on stderr. Run by CTest as tee_cli_test:
#   cli_test.sh CLOISTER_BINARY VECTORS_DIR
set -uo pipefail
cloister="$1"
vectors="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit code.
expect() {
  local code="$1" what="$2"
  shift 3
  "$@" >"$work/out" 2>"$work/err"
  local actual=$?
  if [[ "$actual" != "$code" ]]; then
    echo "FAIL: $what: exit $actual, expected $code"; cat "$work/err"; failures=$((failures + 1))
  fi
}
# contains FILE TEXT DESCRIPTION
contains() {
  if ! grep -qF -- "$2" "$work/$1"; then
    echo "FAIL: $3: '$2' not in $1"; cat "$work/$1"; failures=$((failures + 1))
  fi
}
manifest_value() {
  /usr/bin/python3 -c "import json,sys; m=json.load(open('$vectors/MANIFEST.json'));
f=[f for f in m['files'] if f['path']==sys.argv[1]][0]; a=f['asserted']
print(eval(sys.argv[2]))" "$1" "$2"
}

snp="$vectors/sev-snp/yaxi_milan_v3"
expect 0 "genuine SNP report verifies" -- "$cloister" evidence verify "$snp/report.bin" --endorsement "$snp/vcek.pem"
contains out "\"measurement\": \"$(manifest_value sev-snp/yaxi_milan_v3/report.bin "a['measurement']")\"" "SNP measurement"
for key in platform measurement report_data debug; do contains out "\"$key\":" "JSON key $key"; done
contains out '"platform": "sev_snp"' "platform name"

expect 1 "SNP report with another chip's VCEK is rejected" -- "$cloister" evidence verify "$snp/report.bin" --endorsement "$vectors/sev-snp/teekit_gcp_milan_v5/vcek.pem"
contains err "evidence rejected" "rejection reason"

debug="$vectors/sev-snp/gosev_milan_v2_debugpolicy"
expect 0 "debug report is genuine without a policy" -- "$cloister" evidence verify "$debug/report.bin" --endorsement "$debug/vcek.der"
contains err "warning: debug" "debug warning without policy"
expect 1 "default policy refuses debug" -- "$cloister" evidence verify "$debug/report.bin" --endorsement "$debug/vcek.der" --policy default
contains err "refused: debug" "debug refusal"

vlek="$vectors/sev-snp/trustee_milan_v3_vlek_aws"
expect 1 "expired VLEK fails today" -- "$cloister" evidence verify "$vlek/report.bin" --endorsement "$vlek/vlek.der"
contains err "expired" "expiry reason"
expect 1 "default policy refuses the expired VLEK" -- "$cloister" evidence verify "$vlek/report.bin" --endorsement "$vlek/vlek.der" --at 2025-01-15T00:00:00Z --policy default
contains err "refused: expired endorsement" "expired VLEK refusal"

expect 0 "TDX quote verifies (table output)" -- "$cloister" evidence verify "$vectors/tdx/trustee_v4_azure.dat" -w table
contains out "$(manifest_value tdx/trustee_v4_azure.dat "a['body']['mr_td']")" "TDX measurement"
expect 1 "unsupported TCB is refused" -- "$cloister" evidence verify "$vectors/tdx/phala_v5_outdated_tcb.dat" --collateral "$vectors/tdx/collateral/phala_collateral_90c06f000000.json" --at 2026-02-19T00:00:00Z --policy-time 2026-02-19T00:00:00Z --policy default
contains err "TCB not supported" "TCB refusal"

expect 0 "SGX quote with collateral" -- "$cloister" evidence verify "$vectors/sgx/phala_v3.dat" --collateral "$vectors/sgx/collateral/phala_collateral_00a067110000.json" --at 2025-06-20T00:00:00Z
contains out "$(manifest_value sgx/phala_v3.dat "a['body']['mr_enclave']")" "SGX measurement"

expect 0 "Nitro verifies at its own timestamp" -- "$cloister" evidence verify "$vectors/nitro/evervault_valid_nonce.cbor"
contains out "$(manifest_value nitro/evervault_valid_nonce.cbor "a['pcrs']['0']")" "Nitro PCR0"
expect 1 "Nitro at today's time: leaf expired" -- "$cloister" evidence verify "$vectors/nitro/evervault_valid_nonce.cbor" --at 2026-11-25T00:00:00Z

expect 0 "virtual attest" -- "$cloister" evidence attest --platform virtual --report-data 00ff --measurement "$(printf 'ab%.0s' {1..48})" -o "$work/virtual.bin"
expect 1 "default policy refuses virtual" -- "$cloister" evidence verify "$work/virtual.bin" --policy default
contains err "simulated TEE refused" "virtual refusal"
expect 0 "development policy allows virtual" -- "$cloister" evidence verify "$work/virtual.bin" --policy development --expect-report-data 00ff
contains out '"insecure": true' "insecure marker"
expect 1 "report_data binding" -- "$cloister" evidence verify "$work/virtual.bin" --policy development --expect-report-data 0100
contains err "does not bind" "binding reason"
"$cloister" evidence policy --development >"$work/dev.json"
expect 0 "policy file round trip" -- "$cloister" evidence verify "$work/virtual.bin" --policy "$work/dev.json"

expect 2 "missing file is an I/O error" -- "$cloister" evidence verify "$work/absent.bin"
expect 2 "bad policy file is a usage error" -- "$cloister" evidence verify "$work/virtual.bin" --policy "$work/virtual.bin"
expect 1 "garbage is rejected" -- "$cloister" evidence verify "$vectors/FORMATS.md"
expect 0 "platform info" -- "$cloister" platform info -w json
contains out '"available"' "platform info JSON"

if [[ $failures -ne 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo "all CLI checks passed"
