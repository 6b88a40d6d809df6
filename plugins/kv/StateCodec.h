// StateCodec.h — the kv plugin's hot-reload hand-off format: every live key
// of a Keyspace, with its type, contents and remaining lifetime, as bytes.
#pragma once

#include "Keyspace.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace portico::kv {

// "PKV2", then one RESP array of bulk strings: per key its name, type name,
// remaining lifetime in ms (-1: none), element count n, and n elements
// (strings: the value; hashes: field, value pairs; sorted sets: member,
// score pairs, so a pair counts as two). Expired keys are dropped first.
std::string encode_state(Keyspace &keys, TimeMs now);

// Adds the keys of a "PKV2" or "PKV1" (strings only: name, value, lifetime
// triples) hand-off to `keys` and returns how many there were; nullopt when
// the bytes are in neither format. Throws std::runtime_error, saying what is
// wrong, on a known but corrupt hand-off.
std::optional<std::size_t> decode_state(std::string_view bytes, Keyspace &keys, TimeMs now);

} // namespace portico::kv
