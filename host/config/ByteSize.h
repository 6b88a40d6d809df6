// ByteSize.h — parses config byte sizes: "65536", "64KiB", "1MiB", "16B", "64KB".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::host {

// Integer bytes with an optional suffix: B, KiB/MiB/GiB (powers of 1024) or
// KB/MB/GB (powers of 1000). On failure returns nullopt and sets *error.
std::optional<uint64_t> parse_byte_size(std::string_view text, std::string *error);

// Shortest exact text using binary units: 65536 -> "64KiB", 100 -> "100B".
std::string format_byte_size(uint64_t bytes);

} // namespace portico::host
