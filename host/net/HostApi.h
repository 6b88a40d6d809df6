// HostApi.h — the table of host functions handed to every plugin's init: the
// only way plugin code reaches the host (portico.h describes each entry).
#pragma once

#include "portico/portico.h"

namespace portico::host {
const portico_host_api *host_api();
} // namespace portico::host
