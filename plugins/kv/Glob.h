// Glob.h — glob-style pattern matching as Redis's KEYS does it (stringmatch):
// `*`, `?`, `[abc]`, `[^a-z]` and backslash escapes.
#pragma once

#include <string_view>

namespace portico::kv {

// True when `text` matches `pattern` as a whole. Bytes compare as unsigned
// chars; a `[` without its `]` matches up to the end of the pattern.
bool glob_match(std::string_view pattern, std::string_view text);

} // namespace portico::kv
