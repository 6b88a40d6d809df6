// Duration.h — parses config durations: "250ms", "30s", "5m", "1h", "1.5s".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portico::host {

// A bare integer is refused: the unit must be explicit. On failure returns
// nullopt and sets *error to what is wrong and the accepted forms.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string *error);

// Shortest exact text for d: "250ms", "30s", "5m".
std::string format_duration(std::chrono::milliseconds d);

} // namespace portico::host
