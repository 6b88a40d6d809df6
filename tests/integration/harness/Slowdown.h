// Slowdown.h — sanitizer builds run the host several times slower; tests
// that measure time or pace work scale by this, never below what the normal
// build must meet.
#pragma once

namespace portico::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `normal` in a plain build, `sanitized` under ASan/TSan.
template <class T> constexpr T scaled(T normal, T sanitized) { return kSanitized ? sanitized : normal; }

} // namespace portico::test
