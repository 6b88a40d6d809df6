// SocketOptionsReader.cpp — `socket_options:` entries: names checked against
// the table, with a suggestion for a typo; every error names its line.
#include "config/SocketOptionsReader.h"

#include "config/SocketOption.h"
#include "config/Suggest.h"

#include <array>
#include <climits>
#include <vector>

namespace portico::host {
namespace {

const KnownSocketOption *find_option(std::string_view level, std::string_view name) {
    for (const KnownSocketOption &known : known_socket_options())
        if (known.level == level && known.name == name) return &known;
    return nullptr;
}

void read_level(ConfigReader &r, const YamlValue &v, SocketOptionConfig &out) {
    if (const auto level = r.one_of(v, socket_option_levels())) out.level = *level;
}

// Checked against the level once both are read (keys come in any order).
void read_name(ConfigReader &r, const YamlValue &v, SocketOptionConfig &out) {
    if (const auto name = r.text(v, "an option name like SO_KEEPALIVE")) out.name = *name;
}

void read_target(ConfigReader &r, const YamlValue &v, SocketOptionConfig &out) {
    static constexpr std::array<std::string_view, 2> targets{"accepted", "listener"};
    if (const auto on = r.one_of(v, targets))
        out.on = *on == "listener" ? SocketOptionTarget::listener : SocketOptionTarget::accepted;
}

const Schema<SocketOptionConfig> &option_schema() {
    static const Schema<SocketOptionConfig> schema{
        {"level", read_level, true, "level: SOL_SOCKET"},
        {"name", read_name, true, "name: SO_KEEPALIVE"},
        {"value", set_int(&SocketOptionConfig::value, INT_MIN, INT_MAX), true, "value: 1"},
        {"on", read_target},
    };
    return schema;
}

} // namespace

void read_socket_options(ConfigReader &r, const YamlValue &v, ServiceConfig &out) {
    const auto items =
        r.sequence(v, "a list of socket options like [{level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1}]");
    if (!items) return;
    for (const YamlValue &item : *items) {
        SocketOptionConfig option;
        option.pos = item.pos;
        const std::size_t issues_before = r.issue_count();
        if (!read_map(r, item, option_schema(), option) || r.issue_count() != issues_before) continue;
        const KnownSocketOption *known = find_option(option.level, option.name);
        if (known == nullptr) {
            std::vector<std::string_view> names;
            for (const KnownSocketOption &k : known_socket_options())
                if (k.level == option.level) names.push_back(k.name);
            const auto at = r.lookup(item, "name");
            std::string message = "unknown socket option '" + option.name + "' at level " + option.level;
            if (const auto suggestion = closest_match(option.name, names))
                message += " (did you mean '" + *suggestion + "'?)";
            message += "; known at this level: " + list_alternatives(names);
            r.report(at ? *at : item, std::move(message));
            continue;
        }
        option.level_value = known->level_value;
        option.name_value = known->name_value;
        out.socket_options.push_back(std::move(option));
    }
}

void check_socket_options(ConfigReader &r, const YamlValue &item, const ServiceConfig &service) {
    const auto at = r.lookup(item, "socket_options");
    if (!at) return;
    const bool udp = service.protocol == Protocol::udp;
    const bool unix_socket = service.listen.kind == ListenAddress::Kind::unix_path;
    for (const SocketOptionConfig &option : service.socket_options) {
        const KnownSocketOption *known = find_option(option.level, option.name);
        const std::string what = option.level + " " + option.name;
        if (known == nullptr) continue;
        if (udp && known->tcp_only)
            r.report(option.pos, at->path, what + " is a TCP option and this service is protocol udp; remove it");
        else if (unix_socket && known->ip_only)
            r.report(option.pos, at->path,
                     what + " is an IP option and this service listens on a unix: socket; remove it");
        else if (udp && option.on == SocketOptionTarget::accepted)
            r.report(option.pos, at->path,
                     what + ": a UDP service has no accepted connections, only its socket; write on: listener");
    }
}

} // namespace portico::host
