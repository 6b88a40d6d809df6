// AdminAuth.cpp — token lookup and a timing-safe comparison.
#include "admin/AdminAuth.h"

#include <cstdlib>

namespace portico::host {

std::string effective_admin_token(const AdminConfig &config) {
    if (!config.token.empty()) return config.token;
    const char *env = std::getenv(kAdminTokenEnv);
    return env ? std::string(env) : std::string();
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (token.empty()) return true;
    if (authorization.size() < scheme.size()) return false;
    // The scheme is case-insensitive (RFC 9110); the token is not.
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((authorization[i] | 0x20) != (scheme[i] | 0x20)) return false;
    const std::string_view given = authorization.substr(scheme.size());
    unsigned diff = given.size() == token.size() ? 0u : 1u;
    for (std::size_t i = 0; i < token.size(); ++i)
        diff |= static_cast<unsigned>(static_cast<unsigned char>(i < given.size() ? given[i] : 0) ^
                                      static_cast<unsigned char>(token[i]));
    return diff == 0;
}

} // namespace portico::host
