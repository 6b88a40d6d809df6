// Glob.cpp — Redis's stringmatch semantics for KEYS patterns (see Glob.h).
#include "Glob.h"

namespace portico::kv {
namespace {

// Bounds the recursion that each `*` costs, as Redis does, so that a hostile
// pattern cannot exhaust the stack.
constexpr int max_nesting = 1000;

unsigned char byte(char c) {
    return static_cast<unsigned char>(c);
}

// Matches one `[...]` class against `c`. `p` points just past the `[`;
// returns whether it matched and leaves `p` on the closing `]` (or on the
// pattern's last byte when the class is unterminated).
bool match_class(std::string_view pattern, std::size_t &p, char c) {
    const bool negate = p < pattern.size() && pattern[p] == '^';
    if (negate) ++p;
    bool match = false;
    for (;;) {
        if (p >= pattern.size()) {
            --p; // unterminated: the class ends with the pattern
            break;
        }
        if (pattern[p] == '\\' && pattern.size() - p >= 2) {
            ++p;
            if (pattern[p] == c) match = true;
        } else if (pattern[p] == ']') {
            break;
        } else if (pattern.size() - p >= 3 && pattern[p + 1] == '-') {
            unsigned char start = byte(pattern[p]), end = byte(pattern[p + 2]);
            if (start > end) std::swap(start, end);
            if (byte(c) >= start && byte(c) <= end) match = true;
            p += 2;
        } else if (pattern[p] == c) {
            match = true;
        }
        ++p;
    }
    return negate ? !match : match;
}

// Once a `*` failed to match the rest at every later start, no earlier `*`
// can do better: `give_up` short-cuts the search (Redis's skipLongerMatches).
bool match(std::string_view pattern, std::string_view text, bool &give_up, int nesting) {
    if (nesting > max_nesting) return false;
    std::size_t p = 0, t = 0;
    while (p < pattern.size() && t < text.size()) {
        switch (pattern[p]) {
        case '*': {
            while (p + 1 < pattern.size() && pattern[p + 1] == '*')
                ++p;
            if (p + 1 == pattern.size()) return true;
            for (; t < text.size(); ++t) {
                if (match(pattern.substr(p + 1), text.substr(t), give_up, nesting + 1)) return true;
                if (give_up) return false;
            }
            give_up = true;
            return false;
        }
        case '?':
            ++t;
            break;
        case '[':
            ++p;
            if (!match_class(pattern, p, text[t])) return false;
            ++t;
            break;
        case '\\':
            if (pattern.size() - p >= 2) ++p;
            [[fallthrough]];
        default:
            if (pattern[p] != text[t]) return false;
            ++t;
            break;
        }
        ++p;
        if (t == text.size()) {
            while (p < pattern.size() && pattern[p] == '*')
                ++p;
            break;
        }
    }
    return p == pattern.size() && t == text.size();
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    bool give_up = false;
    return match(pattern, text, give_up, 0);
}

} // namespace portico::kv
