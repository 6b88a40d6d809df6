// Duration.cpp — exact, integer-only parsing and printing of config durations,
// so "1.5s" is 1500ms with no floating-point rounding.
#include "config/Duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace portico::host {
namespace {

struct Unit {
    std::string_view suffix;
    int64_t ms;
};

// Largest first: format_duration prefers the larger unit on a tie.
constexpr std::array<Unit, 4> kUnits{{{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

// A century is far beyond any sensible timeout and keeps all arithmetic in int64.
constexpr int64_t kMaxMillis = int64_t{100} * 365 * 24 * 3'600'000;

constexpr std::string_view kForms = "e.g. 30s, 250ms, 5m, 1h or 1.5s";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

const Unit *find_unit(std::string_view suffix) {
    for (const Unit &u : kUnits)
        if (u.suffix == suffix)
            return &u;
    return nullptr;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

bool fail(std::string *error, std::string message) {
    if (error)
        *error = std::move(message);
    return false;
}

// Splits "12.5s" into number "12.5" and suffix "s"; false when the number part
// is not digits with at most one '.' that has digits on both sides.
bool split_number(std::string_view text, std::string_view &number, std::string_view &suffix) {
    std::size_t i = 0;
    while (i < text.size() && is_digit(text[i]))
        ++i;
    if (i == 0)
        return false;
    if (i < text.size() && text[i] == '.') {
        const std::size_t frac_start = ++i;
        while (i < text.size() && is_digit(text[i]))
            ++i;
        if (i == frac_start)
            return false;
    }
    number = text.substr(0, i);
    suffix = text.substr(i);
    return true;
}

// number * unit in milliseconds, exactly; false if it is not a whole number of
// milliseconds or exceeds kMaxMillis.
bool to_millis(std::string_view number, int64_t unit_ms, int64_t &out, bool &too_large) {
    const std::size_t dot = number.find('.');
    const std::string_view whole = number.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
    int64_t value = 0;
    for (char c : whole) {
        value = value * 10 + (c - '0');
        if (value > kMaxMillis) {
            too_large = true;
            return false;
        }
    }
    if (value > kMaxMillis / unit_ms) {
        too_large = true;
        return false;
    }
    value *= unit_ms;
    // Each fractional digit is worth unit_ms / 10^k; it must divide evenly.
    int64_t scale = unit_ms;
    for (char c : frac) {
        const int digit = c - '0';
        if (digit != 0 && scale % 10 != 0)
            return false;
        scale /= 10;
        value += digit * scale;
    }
    if (value > kMaxMillis) {
        too_large = true;
        return false;
    }
    out = value;
    return true;
}

// "1.5" for 1500 / 1000; empty when the quotient is not a short exact decimal.
std::string exact_decimal(int64_t ms, int64_t unit_ms) {
    std::string text = std::to_string(ms / unit_ms);
    int64_t rest = ms % unit_ms;
    if (rest == 0)
        return text;
    text += '.';
    for (int digits = 0; rest != 0; ++digits) {
        if (digits == 3)
            return {};
        rest *= 10;
        text += static_cast<char>('0' + rest / unit_ms);
        rest %= unit_ms;
    }
    return text;
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string *error) {
    if (text.empty()) {
        fail(error, "expected a duration (" + std::string(kForms) + "), got an empty value");
        return std::nullopt;
    }
    if (text.front() == '-') {
        fail(error, "negative duration " + quoted(text) + ": durations must be 0 or more");
        return std::nullopt;
    }
    std::string_view number, suffix;
    if (!split_number(text, number, suffix)) {
        fail(error, "expected a duration (" + std::string(kForms) + "), got " + quoted(text));
        return std::nullopt;
    }
    if (suffix.empty()) {
        // Suggest only spellings that parse: "1.5ms" would not.
        const std::string n(number);
        const std::string fix = n.find('.') == std::string::npos ? n + "s or " + n + "ms" : n + "s";
        fail(error, "missing unit in " + quoted(text) + ": add one of ms, s, m, h (write " + fix + ")");
        return std::nullopt;
    }
    const Unit *unit = find_unit(suffix);
    if (!unit) {
        fail(error, "unknown unit " + quoted(suffix) + " in " + quoted(text) + ": use ms, s, m or h (" +
                        std::string(kForms) + ")");
        return std::nullopt;
    }
    int64_t ms = 0;
    bool too_large = false;
    if (!to_millis(number, unit->ms, ms, too_large)) {
        fail(error, too_large ? "duration " + quoted(text) + " is too large (at most 100 years)"
                              : "duration " + quoted(text) + " is not a whole number of milliseconds");
        return std::nullopt;
    }
    return std::chrono::milliseconds(ms);
}

std::string format_duration(std::chrono::milliseconds d) {
    const int64_t count = d.count();
    if (count == 0)
        return "0s";
    if (count < 0)
        return "-" + format_duration(-d);
    // Only units the value reaches (no "0.25s" for 250ms); shortest text wins.
    std::string best;
    for (const Unit &u : kUnits) {
        if (count < u.ms)
            continue;
        const std::string number = exact_decimal(count, u.ms);
        if (number.empty())
            continue;
        std::string candidate = number + std::string(u.suffix);
        if (best.empty() || candidate.size() < best.size())
            best = std::move(candidate);
    }
    return best;
}

} // namespace portico::host
