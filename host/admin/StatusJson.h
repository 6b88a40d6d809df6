// StatusJson.h — the /status document (and the reload reply) as JSON text.
#pragma once

#include "admin/StatusSnapshot.h"

#include <string>

namespace portico::host {

std::string status_json(const StatusSnapshot &snapshot);
// {"scope":…,"ok":…,"changes":[…],"errors":[…]}
std::string reload_json(const ReloadRecord &record);

} // namespace portico::host
