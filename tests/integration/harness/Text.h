// Text.h — the string checks and transforms tests make on replies, logs and
// tool output.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace portico::test {

inline bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

// `text` as the shipped upper plugin returns it (ASCII letters upper-cased).
inline std::string upper_cased(std::string text) {
    for (char &c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// A reply line without its line end ("\n" or "\r\n").
inline std::string strip(std::string line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    return line;
}

} // namespace portico::test
