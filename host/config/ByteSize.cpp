// ByteSize.cpp — byte sizes for limits like max_line and thread stacks.
#include "config/ByteSize.h"

#include <array>
#include <charconv>

namespace portico::host {
namespace {

struct Unit {
    std::string_view suffix;
    uint64_t bytes;
};

constexpr std::array<Unit, 7> kUnits{{{"B", 1},
                                      {"KiB", uint64_t{1} << 10},
                                      {"MiB", uint64_t{1} << 20},
                                      {"GiB", uint64_t{1} << 30},
                                      {"KB", 1'000},
                                      {"MB", 1'000'000},
                                      {"GB", 1'000'000'000}}};

// 1TiB: beyond every limit we have, and small enough that n * unit cannot overflow.
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;

std::string expected(std::string_view got) {
    return "expected a byte size like 65536, 64KiB or 1MiB (units B, KiB, MiB, GiB, KB, MB, GB), got '" +
           std::string(got) + "'";
}

} // namespace

std::optional<uint64_t> parse_byte_size(std::string_view text, std::string *error) {
    uint64_t number = 0;
    const char *const end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, number);
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && number > kMaxBytes)) {
        if (error)
            *error = "byte size '" + std::string(text) + "' is too large (at most 1TiB)";
        return std::nullopt;
    }
    if (ec != std::errc{}) {
        if (error)
            *error = expected(text);
        return std::nullopt;
    }
    const std::string_view suffix(rest, static_cast<std::size_t>(end - rest));
    if (suffix.empty())
        return number;
    for (const Unit &u : kUnits) {
        if (u.suffix != suffix)
            continue;
        if (number > kMaxBytes / u.bytes) {
            if (error)
                *error = "byte size '" + std::string(text) + "' is too large (at most 1TiB)";
            return std::nullopt;
        }
        return number * u.bytes;
    }
    if (error)
        *error = expected(text);
    return std::nullopt;
}

std::string format_byte_size(uint64_t bytes) {
    // Largest binary unit that divides exactly; decimal units never print.
    for (uint64_t unit = uint64_t{1} << 30; unit >= 1024; unit >>= 10) {
        if (bytes != 0 && bytes % unit == 0) {
            const std::string_view suffix = unit == (uint64_t{1} << 30) ? "GiB" : unit == (uint64_t{1} << 20) ? "MiB" : "KiB";
            return std::to_string(bytes / unit) + std::string(suffix);
        }
    }
    return std::to_string(bytes) + "B";
}

} // namespace portico::host
