// HPKE interop between Cloister's C++ implementation (through hpke_interop_tool) and @hpke/core
// from npm, in both directions, for DHKEM(X25519) and DHKEM(P-256) with AES-128-GCM,
// AES-256-GCM, ChaCha20Poly1305 and export-only, in modes base, psk, auth and auth_psk: each a
// stream of several messages through one context plus an exported secret (the export alone for
// export-only). Tampered and reordered ciphertexts must be refused by the other side.
//
//   node hpke_interop.mjs PATH/TO/hpke_interop_tool
//
// Exits 0 when every case agrees, 1 otherwise (including when the npm packages are missing).
import { spawnSync } from "node:child_process";

const kSetupHint =
  "the npm packages are missing: run scripts/setup (it runs `npm ci` in testing/interop)";

async function loadHpke() {
  try {
    const core = await import("@hpke/core");
    const chacha = await import("@hpke/chacha20poly1305");
    return { ...core, Chacha20Poly1305: chacha.Chacha20Poly1305 };
  } catch (err) {
    console.error(`FAIL: cannot import @hpke/core: ${err.message}\n${kSetupHint}`);
    process.exit(1);
  }
}

const hpke = await loadHpke();
const tool = process.argv[2];
if (!tool) {
  console.error("usage: node hpke_interop.mjs PATH/TO/hpke_interop_tool");
  process.exit(1);
}

const toHex = (bytes) => Buffer.from(new Uint8Array(bytes)).toString("hex");
const fromHex = (hex) => new Uint8Array(Buffer.from(hex, "hex"));
const text = (s) => new TextEncoder().encode(s);

class Failure extends Error {}
function check(condition, message) {
  if (!condition) throw new Failure(message);
}

// Runs the C++ tool; returns {status, out, err}.
function runTool(args, request) {
  const result = spawnSync(tool, args, {
    input: request === undefined ? undefined : JSON.stringify(request),
    encoding: "utf8",
  });
  if (result.error) throw new Failure(`cannot run ${tool}: ${result.error.message}`);
  let out = null;
  if (result.status === 0) out = JSON.parse(result.stdout);
  return { status: result.status, out, err: result.stderr };
}

const KEMS = {
  32: { name: "X25519", make: () => new hpke.DhkemX25519HkdfSha256() },
  16: { name: "P-256", make: () => new hpke.DhkemP256HkdfSha256() },
};
const AEADS = {
  1: { name: "AES-128-GCM", make: () => new hpke.Aes128Gcm() },
  2: { name: "AES-256-GCM", make: () => new hpke.Aes256Gcm() },
  3: { name: "ChaCha20Poly1305", make: () => new hpke.Chacha20Poly1305() },
  65535: { name: "export-only", make: () => new hpke.ExportOnly() },
};
const MODES = { 0: "base", 1: "psk", 2: "auth", 3: "auth_psk" };
const usesPsk = (mode) => mode === 1 || mode === 3;
const usesAuth = (mode) => mode === 2 || mode === 3;
const kExportOnly = 65535;
const kPsk = { id: text("cloister interop psk id"), key: fromHex("5a".repeat(32)) };
const kInfo = text("cloister hpke interop");
const kExportContext = text("cloister export");
const kExportLength = 32;
const kMessages = [
  { aad: text("event-0"), pt: text("first event of the stream") },
  { aad: new Uint8Array(0), pt: new Uint8Array(0) },
  { aad: text("event-2"), pt: new Uint8Array(300).map((_, i) => i & 0xff) },
];

// The export-only AEAD seals nothing: its streams carry only the exported secret.
const messagesFor = (aeadId) => (aeadId === kExportOnly ? [] : kMessages);

function makeSuite(kemId, aeadId) {
  return new hpke.CipherSuite({
    kem: KEMS[kemId].make(),
    kdf: new hpke.HkdfSha256(),
    aead: AEADS[aeadId].make(),
  });
}

function commonRequest(kemId, aeadId, mode) {
  const request = {
    kem: kemId,
    aead: aeadId,
    mode,
    info: toHex(kInfo),
    export_context: toHex(kExportContext),
    export_length: kExportLength,
  };
  if (usesPsk(mode)) Object.assign(request, { psk: toHex(kPsk.key), psk_id: toHex(kPsk.id) });
  return request;
}

function flipByte(hex, index) {
  const bytes = fromHex(hex);
  bytes[((index % bytes.length) + bytes.length) % bytes.length] ^= 0x01;
  return toHex(bytes);
}

// (a) @hpke/core seals a stream to a key pair that the C++ side generated; C++ opens it.
async function nodeSealsCppOpens(kemId, aeadId, mode) {
  const suite = makeSuite(kemId, aeadId);
  const keygen = runTool(["keygen", String(kemId)]);
  check(keygen.status === 0, `keygen failed: ${keygen.err}`);
  const params = {
    recipientPublicKey: await suite.kem.deserializePublicKey(fromHex(keygen.out.public_key)),
    info: kInfo,
  };
  if (usesPsk(mode)) params.psk = kPsk;
  let senderPublicKey = null;
  if (usesAuth(mode)) {
    params.senderKey = await suite.kem.generateKeyPair();
    senderPublicKey = toHex(await suite.kem.serializePublicKey(params.senderKey.publicKey));
  }
  const sender = await suite.createSenderContext(params);
  const plain = messagesFor(aeadId);
  const messages = [];
  for (const m of plain) {
    messages.push({ aad: toHex(m.aad), ct: toHex(await sender.seal(m.pt, m.aad)) });
  }
  const exported = toHex(await sender.export(kExportContext, kExportLength));
  const request = {
    ...commonRequest(kemId, aeadId, mode),
    recipient_private_key: keygen.out.private_key,
    enc: toHex(sender.enc),
    messages,
  };
  if (senderPublicKey) request.sender_public_key = senderPublicKey;
  const opened = runTool(["open"], request);
  check(opened.status === 0, `C++ could not open what @hpke/core sealed: ${opened.err}`);
  check(opened.out.plaintexts.length === plain.length, "C++ returned another message count");
  plain.forEach((m, i) =>
    check(opened.out.plaintexts[i] === toHex(m.pt), `message ${i}: C++ recovered other bytes`));
  check(opened.out.exported === exported, "exported secrets differ");
  if (aeadId === kExportOnly) return;

  // Tampering with the last message (a byte of its tag) must make C++ refuse it.
  const tampered = structuredClone(request);
  tampered.messages[2].ct = flipByte(tampered.messages[2].ct, -1);
  const refused = runTool(["open"], tampered);
  check(refused.status === 1, `C++ opened a tampered message (status ${refused.status})`);
  // Swapping the order of the stream must also fail: each message has its own nonce.
  const swapped = structuredClone(request);
  swapped.messages = [request.messages[1], request.messages[0]];
  check(runTool(["open"], swapped).status === 1, "C++ opened messages out of order");
}

// (b) The C++ side seals a stream to a key pair that @hpke/core generated; @hpke/core opens it.
async function cppSealsNodeOpens(kemId, aeadId, mode) {
  const suite = makeSuite(kemId, aeadId);
  const recipient = await suite.kem.generateKeyPair();
  const request = {
    ...commonRequest(kemId, aeadId, mode),
    recipient_public_key: toHex(await suite.kem.serializePublicKey(recipient.publicKey)),
    messages: messagesFor(aeadId).map((m) => ({ aad: toHex(m.aad), pt: toHex(m.pt) })),
  };
  let senderPublicKey;
  if (usesAuth(mode)) {
    const keygen = runTool(["keygen", String(kemId)]);
    check(keygen.status === 0, `keygen failed: ${keygen.err}`);
    request.sender_private_key = keygen.out.private_key;
    senderPublicKey = await suite.kem.deserializePublicKey(fromHex(keygen.out.public_key));
  }
  const sealed = runTool(["seal"], request);
  check(sealed.status === 0, `C++ seal failed: ${sealed.err}`);
  const recipientParams = () => {
    const params = { recipientKey: recipient, enc: fromHex(sealed.out.enc), info: kInfo };
    if (usesPsk(mode)) params.psk = kPsk;
    if (usesAuth(mode)) params.senderPublicKey = senderPublicKey;
    return params;
  };
  const context = await suite.createRecipientContext(recipientParams());
  check(sealed.out.ciphertexts.length === request.messages.length, "C++ sealed another count");
  for (const [i, m] of messagesFor(aeadId).entries()) {
    const pt = await context.open(fromHex(sealed.out.ciphertexts[i]), m.aad);
    check(toHex(pt) === toHex(m.pt), `message ${i}: @hpke/core recovered other bytes`);
  }
  const exported = toHex(await context.export(kExportContext, kExportLength));
  check(exported === sealed.out.exported, "exported secrets differ");
  if (aeadId === kExportOnly) return;

  // A tampered first message must be refused by @hpke/core.
  const fresh = await suite.createRecipientContext(recipientParams());
  let refused = false;
  try {
    await fresh.open(fromHex(flipByte(sealed.out.ciphertexts[0], 3)), kMessages[0].aad);
  } catch {
    refused = true;
  }
  check(refused, "@hpke/core opened a tampered message sealed by C++");
}

let failures = 0;
let passed = 0;
for (const kemId of [32, 16]) {
  for (const aeadId of [1, 2, 3, kExportOnly]) {
    for (const mode of [0, 1, 2, 3]) {
      for (const [direction, run] of [
        ["@hpke/core -> C++", nodeSealsCppOpens],
        ["C++ -> @hpke/core", cppSealsNodeOpens],
      ]) {
        const name = `${KEMS[kemId].name} ${AEADS[aeadId].name} ${MODES[mode]}: ${direction}`;
        try {
          await run(kemId, aeadId, mode);
          passed += 1;
          console.log(`ok   ${name}`);
        } catch (err) {
          failures += 1;
          console.log(`FAIL ${name}: ${err.message}`);
        }
      }
    }
  }
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures === 0 && passed > 0 ? 0 : 1);
