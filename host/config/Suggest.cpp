// Suggest.cpp — typo suggestions, kept deliberately simple: the candidate lists
// are a dozen words, so an O(n*m) table per pair is plenty.
#include "config/Suggest.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace portico::host {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Short words need a close match or every key would "look like" every other.
std::size_t max_distance(std::size_t length) { return length <= 3 ? 1 : length <= 6 ? 2 : 3; }

} // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
    for (std::size_t i = 0; i <= n; ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= m; ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            // Case slips ("Listen") count as no edit at all.
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

std::optional<std::string> closest_match(std::string_view typed, std::span<const std::string_view> candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = max_distance(typed.size()) + 1;
    for (const std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(typed, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = std::string(candidate);
        }
    }
    return best;
}

std::string list_alternatives(std::span<const std::string_view> options) {
    auto quote = [](std::string_view s) { return "'" + std::string(s) + "'"; };
    if (options.size() == 1)
        return quote(options[0]);
    if (options.size() == 2)
        return quote(options[0]) + " or " + quote(options[1]);
    std::string text = "one of ";
    for (std::size_t i = 0; i < options.size(); ++i)
        text += (i ? ", " : "") + quote(options[i]);
    return text;
}

} // namespace portico::host
