// StateSink.h — what a plugin's `portico_sink *` points at: the bytes a
// plugin version exports for its successor during a hot reload.
#pragma once

#include <string>

struct portico_sink {
    std::string bytes;
};
