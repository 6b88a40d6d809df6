// PrometheusParser.cpp — runs python3 with prometheus_client's parser over a
// scrape saved in the test's directory and reads back one line per sample.
#include "harness/PrometheusParser.h"

#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portico::test {
namespace {

constexpr const char *kScript = R"(import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    print("TYPE\t%s\t%s" % (family.name, family.type))
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("SAMPLE\t%s{%s}\t%r" % (s.name, labels, float(s.value)))
)";

} // namespace

double ParsedMetrics::at(const std::string &key) const {
    const auto found = samples.find(key);
    if (found == samples.end()) throw HarnessError("no sample " + key);
    return found->second;
}

ParsedMetrics parse_with_prometheus_client(const TempDir &dir, const std::string &text) {
    const auto file =
        dir.path() / ("scrape-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".txt");
    std::ofstream(file, std::ios::binary) << text;
    // The module comes from python3-prometheus-client, installed for Debian's
    // python3; another python3 earlier in $PATH (pyenv, a venv) lacks it.
    const std::filesystem::path debian_python = "/usr/bin/python3";
    const std::filesystem::path python =
        std::filesystem::exists(debian_python) ? debian_python : require_tool("python3", "python3-prometheus-client");
    const ToolResult result = run_tool(python, {"-c", kScript, file.string()}, 30s);
    if (result.status != ExitStatus::exited(0))
        throw HarnessError("the Prometheus parser refused the exposition: " + result.describe());
    ParsedMetrics parsed;
    std::istringstream in(result.output);
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find('\t');
        const auto second = first == std::string::npos ? first : line.find('\t', first + 1);
        if (second == std::string::npos) throw HarnessError("unexpected parser output: " + line);
        const std::string kind = line.substr(0, first);
        const std::string name = line.substr(first + 1, second - first - 1);
        const std::string value = line.substr(second + 1);
        if (kind == "TYPE")
            parsed.types[name] = value;
        else if (kind == "SAMPLE")
            parsed.samples[name] = value == "inf" ? INFINITY : std::stod(value);
        else
            throw HarnessError("unexpected parser output: " + line);
    }
    return parsed;
}

} // namespace portico::test
