// PrometheusText.h — /metrics in the Prometheus text exposition format 0.0.4.
#pragma once

#include "admin/StatusSnapshot.h"

#include <string>

namespace portico::host {

std::string prometheus_text(const StatusSnapshot &snapshot);
// A label value with \, " and newline escaped as the format requires.
std::string prometheus_label_value(const std::string &value);

} // namespace portico::host
