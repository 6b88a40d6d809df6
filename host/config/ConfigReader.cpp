// ConfigReader.cpp — typed reads of YAML nodes with messages that say what was
// found and what would be accepted.
#include "config/ConfigReader.h"

#include "config/ByteSize.h"
#include "config/Duration.h"
#include "config/Suggest.h"

#include <sys/un.h>

#include <algorithm>
#include <charconv>

namespace portico::host {
namespace {

std::string join_names(std::span<const std::string_view> names) {
    std::string text;
    for (const std::string_view name : names)
        text += (text.empty() ? "" : ", ") + std::string(name);
    return text;
}

std::string join_path(const std::string &parent, std::string_view name) {
    return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

bool lies_before(const ConfigIssue &a, const ConfigIssue &b) {
    if (a.pos.line != b.pos.line)
        return a.pos.line < b.pos.line;
    return a.pos.column < b.pos.column;
}

// YAML 1.1 and 1.2 spellings, as people write them in hand-edited files.
std::optional<bool> parse_bool(const std::string &text) {
    static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    if (std::find(std::begin(kTrue), std::end(kTrue), text) != std::end(kTrue))
        return true;
    if (std::find(std::begin(kFalse), std::end(kFalse), text) != std::end(kFalse))
        return false;
    return std::nullopt;
}

} // namespace

ConfigReader::ConfigReader(std::string file_label, std::filesystem::path base_dir)
    : file_(std::move(file_label)), base_dir_(std::move(base_dir)) {}

std::string ConfigReader::describe(const YAML::Node &node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a map";
    default:
        return "an empty value";
    }
}

SourcePos ConfigReader::pos_of(const YAML::Mark &mark) const {
    if (mark.is_null())
        return SourcePos{file_, 0, 0};
    return SourcePos{file_, mark.line + 1, mark.column + 1};
}

YamlValue ConfigReader::document(const YAML::Node &root) const { return YamlValue{root, "", pos_of(root.Mark())}; }

std::filesystem::path ConfigReader::resolve(const std::filesystem::path &path) const {
    return (path.is_absolute() ? path : base_dir_ / path).lexically_normal();
}

void ConfigReader::report(const SourcePos &pos, std::string key, std::string message) {
    issues_.push_back(ConfigIssue{pos, std::move(key), std::move(message)});
}

std::vector<ConfigIssue> ConfigReader::take_issues() {
    // Cross-checks run after the walk; sorting puts their issues in place.
    std::stable_sort(issues_.begin(), issues_.end(), lies_before);
    return std::move(issues_);
}

YamlValue ConfigReader::child(const YamlValue &map, const YAML::Node &key, const YAML::Node &value,
                              std::string_view name) const {
    // An empty value ("listen:" then a newline) is marked where the next line
    // starts; point at its key instead, which is what the user will look for.
    const YAML::Mark mark = value.Mark();
    const bool use_key = mark.is_null() || (value.IsNull() && mark.line != key.Mark().line);
    return YamlValue{value, join_path(map.path, name), pos_of(use_key ? key.Mark() : mark)};
}

std::optional<std::vector<ConfigReader::Entry>> ConfigReader::entries(const YamlValue &map,
                                                                      std::span<const std::string_view> names) {
    if (map.node.IsNull())
        return std::vector<Entry>{};
    if (!map.node.IsMap()) {
        report(map, "expected a map (keys: " + join_names(names) + "), got " + describe(map.node));
        return std::nullopt;
    }
    std::vector<Entry> found;
    std::vector<std::optional<SourcePos>> first_seen(names.size());
    // yaml-cpp yields map entries by value: copy the nodes, never hold
    // references into an iterator's temporary.
    for (const auto &entry : map.node) {
        const YAML::Node key = entry.first;
        const SourcePos key_pos = pos_of(key.Mark());
        if (!key.IsScalar()) {
            report(key_pos, map.path, "expected a key name, got " + describe(key));
            continue;
        }
        const std::string &name = key.Scalar();
        const auto known = std::find(names.begin(), names.end(), name);
        if (known == names.end()) {
            const auto suggestion = closest_match(name, names);
            report(key_pos, join_path(map.path, name),
                   "unknown key '" + name + "' " +
                       (suggestion ? "(did you mean '" + *suggestion + "'?)" : "(valid keys: " + join_names(names) + ")"));
            continue;
        }
        const auto index = static_cast<std::size_t>(known - names.begin());
        if (first_seen[index]) {
            report(key_pos, join_path(map.path, name),
                   "duplicate key '" + name + "' (first defined at " + first_seen[index]->to_string() + ")");
            continue;
        }
        first_seen[index] = key_pos;
        found.push_back(Entry{index, child(map, key, entry.second, name)});
    }
    return found;
}

std::optional<std::vector<YamlValue>> ConfigReader::sequence(const YamlValue &value, std::string_view expected) {
    if (value.node.IsNull())
        return std::vector<YamlValue>{};
    if (!value.node.IsSequence()) {
        report(value, "expected " + std::string(expected) + ", got " + describe(value.node));
        return std::nullopt;
    }
    std::vector<YamlValue> items;
    std::size_t index = 0;
    for (const YAML::Node &item : value.node) {
        const SourcePos pos = item.Mark().is_null() ? value.pos : pos_of(item.Mark());
        items.push_back(YamlValue{item, value.path + "[" + std::to_string(index++) + "]", pos});
    }
    return items;
}

void ConfigReader::missing(const YamlValue &map, std::string_view name, std::string_view example) {
    std::string message = "missing required key '" + std::string(name) + "'";
    if (!example.empty())
        message += " (e.g. " + std::string(example) + ")";
    report(map, std::move(message));
}

std::optional<YamlValue> ConfigReader::lookup(const YamlValue &map, std::string_view name) const {
    if (!map.node.IsMap())
        return std::nullopt;
    for (const auto &entry : map.node)
        if (entry.first.IsScalar() && entry.first.Scalar() == name)
            return child(map, entry.first, entry.second, name);
    return std::nullopt;
}

std::optional<std::string> ConfigReader::scalar(const YamlValue &value, std::string_view expected) {
    if (value.node.IsScalar())
        return value.node.Scalar();
    report(value, "expected " + std::string(expected) + ", got " + describe(value.node));
    return std::nullopt;
}

std::optional<std::string> ConfigReader::text(const YamlValue &value, std::string_view expected) {
    return scalar(value, expected);
}

std::optional<long long> ConfigReader::integer(const YamlValue &value, long long min, long long max) {
    const auto text = scalar(value, "an integer");
    if (!text)
        return std::nullopt;
    long long number = 0;
    const char *const end = text->data() + text->size();
    const auto [rest, ec] = std::from_chars(text->data(), end, number);
    if (ec == std::errc::result_out_of_range && rest == end) {
        report(value, text->front() == '-' ? "must be at least " + std::to_string(min) + ", got " + *text
                                           : "must be at most " + std::to_string(max) + ", got " + *text);
        return std::nullopt;
    }
    if (ec != std::errc{} || rest != end) {
        report(value, "expected an integer, got '" + *text + "'");
        return std::nullopt;
    }
    if (number < min) {
        report(value, "must be at least " + std::to_string(min) + ", got " + *text);
        return std::nullopt;
    }
    if (number > max) {
        report(value, "must be at most " + std::to_string(max) + ", got " + *text);
        return std::nullopt;
    }
    return number;
}

std::optional<bool> ConfigReader::boolean(const YamlValue &value) {
    const auto text = scalar(value, "true or false");
    if (!text)
        return std::nullopt;
    const auto parsed = parse_bool(*text);
    if (!parsed)
        report(value, "expected true or false, got '" + *text + "'");
    return parsed;
}

std::optional<Millis> ConfigReader::duration(const YamlValue &value) {
    const auto text = scalar(value, "a duration like 30s or 250ms");
    if (!text)
        return std::nullopt;
    std::string error;
    const auto parsed = parse_duration(*text, &error);
    if (!parsed)
        report(value, std::move(error));
    return parsed;
}

std::optional<uint64_t> ConfigReader::byte_size(const YamlValue &value, uint64_t min, uint64_t max) {
    const auto text = scalar(value, "a byte size like 65536 or 64KiB");
    if (!text)
        return std::nullopt;
    std::string error;
    const auto parsed = parse_byte_size(*text, &error);
    if (!parsed) {
        report(value, std::move(error));
        return std::nullopt;
    }
    if (*parsed < min) {
        report(value, "must be at least " + format_byte_size(min) + ", got " + *text);
        return std::nullopt;
    }
    if (*parsed > max) {
        report(value, "must be at most " + format_byte_size(max) + ", got " + *text);
        return std::nullopt;
    }
    return parsed;
}

std::optional<std::string> ConfigReader::one_of(const YamlValue &value, std::span<const std::string_view> options) {
    const auto expected = list_alternatives(options);
    auto text = scalar(value, expected);
    if (!text)
        return std::nullopt;
    if (std::find(options.begin(), options.end(), *text) != options.end())
        return text;
    std::string message = "expected " + expected + ", got '" + *text + "'";
    if (const auto suggestion = closest_match(*text, options))
        message += " (did you mean '" + *suggestion + "'?)";
    report(value, std::move(message));
    return std::nullopt;
}

std::optional<ListenAddress> ConfigReader::listen(const YamlValue &value) {
    const auto text = scalar(value, "an address like 127.0.0.1:9000, [::1]:9000 or unix:/path");
    if (!text)
        return std::nullopt;
    std::string error;
    auto address = ListenAddress::parse(*text, &error);
    if (!address) {
        report(value, std::move(error));
        return std::nullopt;
    }
    if (address->kind != ListenAddress::Kind::unix_path)
        return address;
    address->path = resolve(address->path).string();
    // The kernel silently truncates longer paths into a different socket name.
    constexpr std::size_t max_path = sizeof(sockaddr_un{}.sun_path) - 1;
    if (address->path.size() > max_path) {
        report(value, "unix socket path '" + address->path + "' is too long (" + std::to_string(address->path.size()) +
                          " bytes, at most " + std::to_string(max_path) + "); use a shorter path");
        return std::nullopt;
    }
    return address;
}

} // namespace portico::host
