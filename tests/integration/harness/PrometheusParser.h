// PrometheusParser.h — a /metrics text read by the real Prometheus Python
// client's parser (python3-prometheus-client), so the exposition is checked
// by the parser scrapers use, not by a look-alike.
#pragma once

#include "harness/TempDir.h"

#include <map>
#include <string>

namespace portico::test {

struct ParsedMetrics {
    // "name{label="value",…}" with labels sorted by name → value.
    std::map<std::string, double> samples;
    // family (as the parser names it: counters without _total) → type.
    std::map<std::string, std::string> types;

    // The sample's value; throws HarnessError naming the key when it is absent.
    double at(const std::string &key) const;
    bool has(const std::string &key) const { return samples.count(key) != 0; }
};

// Parses `text` with prometheus_client.parser.text_string_to_metric_families;
// throws HarnessError with the parser's complaint when it refuses the text.
ParsedMetrics parse_with_prometheus_client(const TempDir &dir, const std::string &text);

} // namespace portico::test
