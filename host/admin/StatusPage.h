// StatusPage.h — GET /: one self-contained HTML page (inline CSS and JS, no
// external assets) that polls /status and renders services, connections,
// plugin versions, draining versions and the reload history.
#pragma once

#include <string_view>

namespace portico::host {

std::string_view status_page_html();

} // namespace portico::host
