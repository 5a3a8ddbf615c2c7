// Binary encoding of raft messages and configuration changes.
//
// The node layer carries these bytes inside its authenticated frames; raft cannot use the CBOR
// codec (it lives in crypto), so this is a small format of its own built on ByteWriter and
// ByteReader. Layout (version 1): version u8, type u8, flags u8 (bit0 reject, bit1 force,
// bit2 snapshot present), then from, to, term, log_term, index, commit, context, reject_hint as
// LEB128 varints, then an entry count and the entries (term, index, type u8, length, data),
// then the optional snapshot (index, term, voters, learners, length, data).
//
// The decoder treats its input as hostile: every length is checked against what remains and
// against fixed bounds (kMaxEntriesPerMessage, kMaxMembers, kMaxPayloadBytes), unknown versions,
// types and flags are refused, varints must be minimal and fit 64 bits, and trailing bytes are an
// error. Each error names the field that was wrong.
#pragma once

#include "cloister/base/bytes.h"
#include "cloister/base/result.h"
#include "cloister/raft/types.h"

namespace cloister::raft {

inline constexpr uint8_t kMessageFormatVersion = 1;
inline constexpr size_t kMaxEntriesPerMessage = 65536;
inline constexpr size_t kMaxMembers = 1024;
inline constexpr size_t kMaxPayloadBytes = size_t{64} << 20;

Bytes EncodeMessage(const Message& message);
// Rejects malformed input with a message naming the field ("raft message: entry 3: data: ...").
Result<Message> DecodeMessage(ByteSpan input);

Bytes EncodeConfChange(const ConfChange& change);
Result<ConfChange> DecodeConfChange(ByteSpan input);

}  // namespace cloister::raft
