// AdminAuth.h — the admin bearer token: where it comes from and how a
// request's Authorization header is checked against it.
#pragma once

#include "config/Config.h"

#include <string>
#include <string_view>

namespace portico::host {

// The environment variable that supplies the token when admin.token is unset.
inline constexpr const char *kAdminTokenEnv = "PORTICO_ADMIN_TOKEN";

// admin.token if set, else $PORTICO_ADMIN_TOKEN, else "" (no auth).
std::string effective_admin_token(const AdminConfig &config);

// Whether `authorization` (the header's value) is "Bearer <token>"; compared
// in constant time so the token cannot be guessed byte by byte.
bool bearer_matches(std::string_view authorization, std::string_view token);

} // namespace portico::host
