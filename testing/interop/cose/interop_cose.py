#!/usr/bin/python3
"""Differential and interop tests of Cloister's CBOR codec and COSE_Sign1 against Debian's
python3-cbor2 and python3-cryptography.

Written from RFC 8949 and RFC 9052, independently of the C++ code: the Python side encodes with
cbor2, sorts map keys itself as RFC 8949 section 4.2.1 says (bytewise by encoded key; cbor2
5.4's canonical=True sorts length-first as RFC 7049 did), builds Sig_structure with cbor2 and
checks signatures with cryptography.

  interop_cose.py cbor --tool PATH [--count N] [--seed S]
  interop_cose.py cose --tool PATH

Exits non-zero, printing the first disagreements, when the two sides disagree.
"""

import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

# Tags that cbor2 5.4 turns into Python objects (datetimes, bignums, decimals, regexes, UUIDs,
# sets, IP addresses, string references, shared values, self-describe) are avoided so that the
# decoded Python value is a plain CBORTag.
SAFE_TAGS = [6, 7, 8, 9, 10, 11, 15, 20, 41, 99, 1000, 4096, 65535, 65536,
             2**32, 2**63 + 5, 2**64 - 1]

failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message, file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Value descriptions: the JSON form cose_interop_tool reads and writes (see its header).

def describe(value):
    if isinstance(value, bool):
        return {"simple": 21 if value else 20}
    if value is None:
        return {"simple": 22}
    if value is cbor2.undefined:
        return {"simple": 23}
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"simple": value.value}
    if isinstance(value, int):
        return {"uint": str(value)} if value >= 0 else {"nint": str(-1 - value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"float": "nan"}
        return {"float": struct.pack(">d", value).hex()}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, (list, tuple)):
        return {"array": [describe(item) for item in value]}
    if isinstance(value, dict):
        return {"map": [[describe(k), describe(v)] for k, v in value.items()]}
    if isinstance(value, cbor2.CBORTag):
        return {"tag": str(value.tag), "value": describe(value.value)}
    raise TypeError("cannot describe %r" % (value,))


def normalise(description):
    """Map entries in a fixed order, so that descriptions compare as values."""
    if "array" in description:
        return {"array": [normalise(item) for item in description["array"]]}
    if "map" in description:
        entries = [[normalise(k), normalise(v)] for k, v in description["map"]]
        entries.sort(key=lambda entry: json.dumps(entry[0], sort_keys=True))
        return {"map": entries}
    if "tag" in description:
        return {"tag": description["tag"], "value": normalise(description["value"])}
    return description


# ---------------------------------------------------------------------------------------------
# RFC 8949 section 4.2.1 deterministic encoding: cbor2 for every leaf, map keys sorted bytewise.

def head(major, argument):
    if argument < 24:
        return bytes([major << 5 | argument])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * width):
            return bytes([major << 5 | info]) + argument.to_bytes(width, "big")
    raise ValueError("argument too large")


def shortest_float(value):
    """RFC 8949 section 4.2.1 / Appendix A: the shortest of binary16, binary32, binary64 that
    preserves the value; NaN as 0xf97e00. Done here rather than by cbor2 because cbor2 5.4.6
    (its C extension) writes halves with the top exponent, 32768 <= |v| <= 65504, as binary32:
    cbor2.dumps(65504.0, canonical=True) is fa477fe000 where Appendix A has f97bff."""
    if math.isnan(value):
        return b"\xf9\x7e\x00"
    for initial, layout in ((0xF9, ">e"), (0xFA, ">f")):
        try:
            packed = struct.pack(layout, value)
        except OverflowError:
            continue
        if struct.unpack(layout, packed)[0] == value:
            return bytes([initial]) + packed
    return b"\xfb" + struct.pack(">d", value)


def dumps_deterministic(value):
    if isinstance(value, cbor2.CBORSimpleValue):  # a namedtuple: not an array
        return cbor2.dumps(value, canonical=True)
    if isinstance(value, float):
        return shortest_float(value)
    if isinstance(value, dict):
        pairs = sorted((dumps_deterministic(k), dumps_deterministic(v)) for k, v in value.items())
        return head(5, len(pairs)) + b"".join(k + v for k, v in pairs)
    if isinstance(value, (list, tuple)):
        return head(4, len(value)) + b"".join(dumps_deterministic(item) for item in value)
    if isinstance(value, cbor2.CBORTag):
        return head(6, value.tag) + dumps_deterministic(value.value)
    return cbor2.dumps(value, canonical=True)


# ---------------------------------------------------------------------------------------------
# Generated values.

def random_int(rng):
    bits = rng.choice([0, 1, 5, 8, 9, 16, 17, 32, 33, 63, 64])
    magnitude = rng.getrandbits(bits) if bits else 0
    return magnitude if rng.random() < 0.5 else -1 - magnitude


def random_float(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0]  # NaNs included
    if kind == 1:
        return struct.unpack(">f", rng.getrandbits(32).to_bytes(4, "big"))[0]
    if kind == 2:
        return struct.unpack(">e", rng.getrandbits(16).to_bytes(2, "big"))[0]
    if kind == 3:
        return rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 65504.0, 5.960464477539063e-8,
                           1.1, 1e300, 3.4028234663852886e38])
    if kind == 4:
        return math.ldexp(rng.randrange(-2048, 2048), rng.randrange(-40, 20))
    return rng.randrange(-100000, 100000) / 16.0


def random_text(rng):
    pieces = []
    for _ in range(rng.randrange(12)):
        plane = rng.randrange(4)
        if plane == 0:
            code = rng.randrange(0x20, 0x7f)
        elif plane == 1:
            code = rng.randrange(0, 0x800)
        elif plane == 2:
            code = rng.choice([rng.randrange(0x800, 0xd800), rng.randrange(0xe000, 0x10000)])
        else:
            code = rng.randrange(0x10000, 0x110000)
        pieces.append(chr(code))
    return "".join(pieces)


def random_key(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return random_int(rng)
    if kind == 1:
        return random_text(rng)
    if kind == 2:
        return rng.randbytes(rng.randrange(6))
    return tuple(random_int(rng) for _ in range(rng.randrange(3)))


def random_value(rng, depth):
    kind = rng.randrange(11 if depth > 0 else 7)
    if kind == 0:
        return random_int(rng)
    if kind == 1:
        return random_float(rng)
    if kind == 2:
        return rng.randbytes(rng.choice([0, 1, 23, 24, 255, 256, 300]) if rng.random() < 0.2
                             else rng.randrange(20))
    if kind == 3:
        return random_text(rng)
    if kind == 4:
        return rng.choice([True, False, None, cbor2.undefined])
    if kind == 5:
        return cbor2.CBORSimpleValue(rng.choice(list(range(0, 20)) + list(range(32, 256))))
    if kind == 6:
        return random_int(rng)
    if kind == 7:
        return [random_value(rng, depth - 1) for _ in range(rng.choice([0, 1, 3, 24, 30]))]
    if kind in (8, 9):
        return {random_key(rng): random_value(rng, depth - 1) for _ in range(rng.randrange(8))}
    return cbor2.CBORTag(rng.choice(SAFE_TAGS), random_value(rng, depth - 1))


def run_tool(tool, arguments, lines):
    result = subprocess.run([tool] + arguments, input="".join(line + "\n" for line in lines),
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail("%s %s exited %d: %s" % (tool, arguments, result.returncode, result.stderr[-2000:]))
        return None
    # Split on newlines only: str.splitlines() would also split inside text values holding
    # U+001C..U+001E, U+0085, U+2028 or U+2029.
    output = result.stdout.split("\n")[:-1]
    if len(output) != len(lines):
        fail("%s %s gave %d lines for %d" % (tool, arguments, len(output), len(lines)))
        return None
    return output


def cbor_differential(tool, count, seed):
    rng = random.Random(seed)
    values = [random_value(rng, 3) for _ in range(count)]
    expected = [normalise(describe(value)) for value in values]
    reference = [dumps_deterministic(value) for value in values]

    # cbor2 (with RFC 8949 key order) -> our deterministic decoder gives the same value.
    decoded = run_tool(tool, ["cbor-decode", "--deterministic"], [b.hex() for b in reference])
    if decoded is not None:
        for i, line in enumerate(decoded):
            got = json.loads(line)
            if "error" in got or normalise(got) != expected[i]:
                fail("cbor2 -> ours: %s decoded as %s, expected %s"
                     % (reference[i].hex(), line[:300], json.dumps(expected[i])[:300]))

    # Our encoder reproduces the identical bytes, and cbor2 decodes ours to the same value.
    ours = run_tool(tool, ["cbor-encode"], [json.dumps(describe(value)) for value in values])
    if ours is not None:
        for i, line in enumerate(ours):
            if line != reference[i].hex():
                fail("ours -> bytes: %s, cbor2 (RFC 8949 order): %s" % (line, reference[i].hex()))
            back = normalise(describe(cbor2.loads(bytes.fromhex(line))))
            if back != expected[i]:
                fail("ours -> cbor2: %s decoded by cbor2 as %s" % (line, json.dumps(back)[:300]))

    # cbor2's own canonical=True (RFC 7049 length-first key order): the lenient decoder reads the
    # same value, and the deterministic decoder refuses exactly those whose bytes differ from the
    # RFC 8949 order.
    legacy = [cbor2.dumps(value, canonical=True) for value in values]
    lenient = run_tool(tool, ["cbor-decode"], [b.hex() for b in legacy])
    strict = run_tool(tool, ["cbor-decode", "--deterministic"], [b.hex() for b in legacy])
    reordered = 0
    if lenient is not None and strict is not None:
        for i, (loose, tight) in enumerate(zip(lenient, strict)):
            if normalise(json.loads(loose)) != expected[i]:
                fail("cbor2 canonical -> ours (lenient): %s gave %s" % (legacy[i].hex(), loose))
            differs = legacy[i] != reference[i]
            reordered += differs
            if ("error" in json.loads(tight)) != differs:
                fail("deterministic decoder on cbor2 canonical %s: %s" % (legacy[i].hex(), tight))

    # Non-deterministic cbor2 output (floats always 8 bytes, insertion-order maps) and
    # indefinite-length items: the lenient decoder reads the same values.
    plain = [cbor2.dumps(value) for value in values]
    loose = run_tool(tool, ["cbor-decode", "--indefinite"], [b.hex() for b in plain])
    if loose is not None:
        for i, line in enumerate(loose):
            if normalise(json.loads(line)) != expected[i]:
                fail("cbor2 default -> ours: %s gave %s" % (plain[i].hex(), line[:300]))
    print("cbor: %d values (%d bytes) both ways; %d of cbor2's canonical=True encodings differ "
          "from RFC 8949 (RFC 7049 key order or cbor2's binary32 for large halves) and were "
          "refused by the deterministic decoder as they should be"
          % (count, sum(len(b) for b in reference), reordered))


# ---------------------------------------------------------------------------------------------
# COSE_Sign1

ALGORITHMS = {
    "ES256": (-7, lambda: ec.generate_private_key(ec.SECP256R1()), hashes.SHA256(), 32),
    "ES384": (-35, lambda: ec.generate_private_key(ec.SECP384R1()), hashes.SHA384(), 48),
    "EdDSA": (-8, ed25519.Ed25519PrivateKey.generate, None, None),
}


def sig_structure(protected, external_aad, payload):
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def python_verify(name, public_key, message, external_aad=b"", detached=None):
    """Verifies a COSE_Sign1 per RFC 9052; returns (ok, reason)."""
    alg_id, _, hash_algorithm, size = ALGORITHMS[name]
    decoded = cbor2.loads(message)
    if isinstance(decoded, cbor2.CBORTag):
        if decoded.tag != 18:
            return False, "tag %d" % decoded.tag
        decoded = decoded.value
    if not isinstance(decoded, list) or len(decoded) != 4:
        return False, "not a 4-element array"
    protected, _unprotected, payload, signature = decoded
    headers = cbor2.loads(protected) if protected else {}
    if headers.get(1) != alg_id:
        return False, "protected alg %r, expected %d" % (headers.get(1), alg_id)
    if payload is None:
        payload = detached
    to_be_signed = sig_structure(protected, external_aad, payload)
    try:
        if size is None:
            public_key.verify(signature, to_be_signed)
        else:
            if len(signature) != 2 * size:
                return False, "signature length %d" % len(signature)
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            public_key.verify(der, to_be_signed, ec.ECDSA(hash_algorithm))
    except InvalidSignature:
        return False, "bad signature"
    return True, "verified"


def python_sign(name, private_key, payload, tagged, detached=False, external_aad=b""):
    alg_id, _, hash_algorithm, size = ALGORITHMS[name]
    protected = cbor2.dumps({1: alg_id, 4: b"python-kid", 2: ["cloister.test"],
                             "cloister.test": "from python"})
    to_be_signed = sig_structure(protected, external_aad, payload)
    if size is None:
        signature = private_key.sign(to_be_signed)
    else:
        r, s = decode_dss_signature(private_key.sign(to_be_signed, ec.ECDSA(hash_algorithm)))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    message = [protected, {"note": "unprotected"}, None if detached else payload, signature]
    return cbor2.dumps(cbor2.CBORTag(18, message) if tagged else message)


def flip(data, index):
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def tool_verify(tool, key_path, message, aad=b"", detached=None):
    arguments = [tool, "cose-verify", "--key", key_path, "--message", message.hex(),
                 "--aad", aad.hex()]
    if detached is not None:
        arguments += ["--detached-payload", detached.hex()]
    result = subprocess.run(arguments, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout.strip() + result.stderr.strip()


def cose_interop(tool):
    with tempfile.TemporaryDirectory() as directory:
        for name, (_, generate, _, _) in ALGORITHMS.items():
            private_key = generate()
            other_key = generate()
            key_paths = {}
            for label, key in (("private", private_key), ("other", other_key)):
                path = os.path.join(directory, "%s-%s.der" % (name, label))
                with open(path, "wb") as out:
                    out.write(key.private_bytes(serialization.Encoding.DER,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
                key_paths[label] = path
                public_path = os.path.join(directory, "%s-%s.pub.der" % (name, label))
                with open(public_path, "wb") as out:
                    out.write(key.public_key().public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
                key_paths[label + ".pub"] = public_path
            payload = ("payload for %s \u00fc" % name).encode()
            aad = b"external aad"
            cose_ours_to_python(tool, name, private_key, key_paths, payload, aad)
            cose_python_to_ours(tool, name, private_key, key_paths, payload)
            print("cose %s: both directions and tampering checked" % name)


def cose_ours_to_python(tool, name, private_key, key_paths, payload, aad):
    public_key = private_key.public_key()
    for flags in ([], ["--untagged"], ["--detached"], ["--untagged", "--detached"]):
        result = subprocess.run([tool, "cose-sign", "--key", key_paths["private"], "--payload",
                                 payload.hex(), "--kid", b"kid-1".hex(), "--aad", aad.hex()]
                                + flags, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            fail("%s cose-sign %s: %s" % (name, flags, result.stderr))
            continue
        message = bytes.fromhex(result.stdout.strip())
        tagged = cbor2.loads(message)
        if isinstance(tagged, cbor2.CBORTag) != ("--untagged" not in flags):
            fail("%s %s: tagging wrong" % (name, flags))
        detached = payload if "--detached" in flags else None
        ok, reason = python_verify(name, public_key, message, aad, detached)
        if not ok:
            fail("%s %s: our message does not verify in Python: %s" % (name, flags, reason))
        ok, _ = python_verify(name, public_key, message, b"other aad", detached)
        if ok:
            fail("%s %s: Python accepted our message under another external AAD" % (name, flags))
        tampered = flip(message, len(message) - 3)  # inside the signature
        ok, _ = python_verify(name, public_key, tampered, aad, detached)
        if ok:
            fail("%s %s: Python accepted our message with a changed signature" % (name, flags))
        code, output = tool_verify(tool, key_paths["private.pub"], tampered, aad, detached)
        if code != 1:
            fail("%s %s: our verifier gave %d on a changed signature: %s"
                 % (name, flags, code, output))
        code, output = tool_verify(tool, key_paths["private.pub"], message, aad, detached)
        if code != 0:
            fail("%s %s: our verifier refused our own message: %s" % (name, flags, output))


def cose_python_to_ours(tool, name, private_key, key_paths, payload):
    for tagged in (True, False):
        message = python_sign(name, private_key, payload, tagged)
        code, output = tool_verify(tool, key_paths["private.pub"], message)
        if code != 0:
            fail("%s tagged=%s: Python's message refused by ours: %s" % (name, tagged, output))
        payload_at = message.find(payload)
        for what, changed in (("payload", flip(message, payload_at)),
                              ("signature", flip(message, len(message) - 1))):
            code, output = tool_verify(tool, key_paths["private.pub"], changed)
            if code != 1:
                fail("%s: ours gave %d on Python's message with a changed %s: %s"
                     % (name, code, what, output))
            ok, _ = python_verify(name, private_key.public_key(), changed)
            if ok:
                fail("%s: Python accepted its own message with a changed %s" % (name, what))
        code, output = tool_verify(tool, key_paths["other.pub"], message)
        if code != 1:
            fail("%s: ours gave %d under the wrong key: %s" % (name, code, output))
    detached = python_sign(name, private_key, payload, True, detached=True, external_aad=b"x")
    code, output = tool_verify(tool, key_paths["private.pub"], detached, b"x", payload)
    if code != 0:
        fail("%s: Python's detached message refused by ours: %s" % (name, output))
    code, output = tool_verify(tool, key_paths["private.pub"], detached, b"x", payload + b"!")
    if code != 1:
        fail("%s: ours gave %d on a detached message with another payload" % (name, code))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["cbor", "cose"])
    parser.add_argument("--tool", required=True)
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=8949)
    arguments = parser.parse_args()
    if arguments.mode == "cbor":
        cbor_differential(arguments.tool, arguments.count, arguments.seed)
    else:
        cose_interop(arguments.tool)
    if failures:
        print("%d disagreement(s)" % len(failures), file=sys.stderr)
        return 1
    print("all checks agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
