// Suggest.h — "did you mean …?" for misspelled keys and enum values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portico::host {

// Edit distance counting insertions, deletions, substitutions and swaps of
// adjacent characters (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `typed`, if it is close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view typed, std::span<const std::string_view> candidates);

// "'a' or 'b'" / "one of 'a', 'b', 'c'" for messages.
std::string list_alternatives(std::span<const std::string_view> options);

} // namespace portico::host
