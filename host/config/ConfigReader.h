// ConfigReader.h — the typed, issue-collecting walk over a YAML document that
// ConfigLoader's schema tables are written in. Readers never throw on bad
// input: they report an issue and return nullopt, so one run finds every
// problem in the file.
#pragma once

#include "config/Config.h"
#include "config/ConfigLoader.h"

#include <yaml-cpp/yaml.h>

#include <climits>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portico::host {

// One node of the document with what messages need: its dotted key path and
// where it was written.
struct YamlValue {
    YAML::Node node;
    std::string path; // "services[1].threads.max"; empty for the document
    SourcePos pos;
};

class ConfigReader {
public:
    ConfigReader(std::string file_label, std::filesystem::path base_dir);
    ConfigReader(const ConfigReader &) = delete;
    ConfigReader &operator=(const ConfigReader &) = delete;

    YamlValue document(const YAML::Node &root) const;
    SourcePos pos_of(const YAML::Mark &mark) const;
    // Relative paths in the config mean "next to the config file".
    std::filesystem::path resolve(const std::filesystem::path &path) const;

    void report(const SourcePos &pos, std::string key, std::string message);
    void report(const YamlValue &at, std::string message) { report(at.pos, at.path, std::move(message)); }
    std::size_t issue_count() const { return issues_.size(); }
    // Every issue so far, in file order.
    std::vector<ConfigIssue> take_issues();

    // A map's entries in document order, each paired with its index in
    // `names`; unknown and repeated keys are reported and left out. nullopt
    // (after reporting) when the value is not a map; an empty value is an
    // empty map.
    struct Entry {
        std::size_t name_index;
        YamlValue value;
    };
    std::optional<std::vector<Entry>> entries(const YamlValue &map, std::span<const std::string_view> names);
    // An empty value is an empty list.
    std::optional<std::vector<YamlValue>> sequence(const YamlValue &value, std::string_view expected);
    void missing(const YamlValue &map, std::string_view name, std::string_view example);
    // The value written for key `name` in `map`, if any; for checks that
    // relate two keys and must point at one of them.
    std::optional<YamlValue> lookup(const YamlValue &map, std::string_view name) const;

    // Typed readers: the value, or nullopt after reporting why not.
    std::optional<std::string> text(const YamlValue &value, std::string_view expected = "a string");
    std::optional<long long> integer(const YamlValue &value, long long min, long long max);
    std::optional<bool> boolean(const YamlValue &value);
    std::optional<Millis> duration(const YamlValue &value);
    std::optional<uint64_t> byte_size(const YamlValue &value, uint64_t min, uint64_t max);
    std::optional<std::string> one_of(const YamlValue &value, std::span<const std::string_view> options);
    // Unix socket paths come back resolved against the config's folder.
    std::optional<ListenAddress> listen(const YamlValue &value);

    // How a node reads in "expected X, got Y": 'text', a list, a map, an empty value.
    static std::string describe(const YAML::Node &node);

private:
    YamlValue child(const YamlValue &map, const YAML::Node &key, const YAML::Node &value, std::string_view name) const;
    std::optional<std::string> scalar(const YamlValue &value, std::string_view expected);

    std::string file_;
    std::filesystem::path base_dir_;
    std::vector<ConfigIssue> issues_;
};

// One known key of a YAML map: its name and how its value lands in T. Adding
// a config key means adding one Field row to a schema table.
template <class T>
struct Field {
    std::string_view name;
    std::function<void(ConfigReader &, const YamlValue &, T &)> read;
    bool required = false;
    std::string_view example = {}; // shown when a required key is missing
};

template <class T>
using Schema = std::vector<Field<T>>;

// Reads every key of `map` through its row of `schema`. Returns false if the
// value was not a map at all.
template <class T>
bool read_map(ConfigReader &reader, const YamlValue &map, const Schema<T> &schema, T &out) {
    std::vector<std::string_view> names;
    names.reserve(schema.size());
    for (const Field<T> &field : schema)
        names.push_back(field.name);
    const auto entries = reader.entries(map, names);
    if (!entries)
        return false;
    std::vector<bool> seen(schema.size(), false);
    for (const ConfigReader::Entry &entry : *entries) {
        seen[entry.name_index] = true;
        schema[entry.name_index].read(reader, entry.value, out);
    }
    for (std::size_t i = 0; i < schema.size(); ++i)
        if (schema[i].required && !seen[i])
            reader.missing(map, schema[i].name, schema[i].example);
    return true;
}

// Row builders for the common case "this key sets that member".
template <class T>
auto set_int(int T::*member, long long min, long long max = INT_MAX) {
    return [=](ConfigReader &r, const YamlValue &v, T &out) {
        if (const auto value = r.integer(v, min, max))
            out.*member = static_cast<int>(*value);
    };
}

template <class T>
auto set_bool(bool T::*member) {
    return [=](ConfigReader &r, const YamlValue &v, T &out) {
        if (const auto value = r.boolean(v))
            out.*member = *value;
    };
}

template <class T>
auto set_duration(Millis T::*member) {
    return [=](ConfigReader &r, const YamlValue &v, T &out) {
        if (const auto value = r.duration(v))
            out.*member = *value;
    };
}

template <class T>
auto set_text(std::string T::*member) {
    return [=](ConfigReader &r, const YamlValue &v, T &out) {
        if (auto value = r.text(v))
            out.*member = std::move(*value);
    };
}

// `options` must outlive the schema: pass a static array.
template <class T>
auto set_choice(std::string T::*member, std::span<const std::string_view> options) {
    return [=](ConfigReader &r, const YamlValue &v, T &out) {
        if (auto value = r.one_of(v, options))
            out.*member = std::move(*value);
    };
}

} // namespace portico::host
