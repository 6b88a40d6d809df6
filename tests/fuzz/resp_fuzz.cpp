// resp_fuzz.cpp — fuzz target for the kv plugin's RESP2 parser and command
// layer: whatever the bytes, parsing a pipelined buffer must terminate, never
// read outside it, and report consistent results; every parsed command runs
// against a real Keyspace and must append exactly one reply.
#include "Commands.h"
#include "Resp.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    namespace resp = portico::kv::resp;
    resp::Limits limits;
    limits.max_bulk = 1 << 20;
    limits.max_args = 1 << 16;
    limits.max_inline = 1 << 12;
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    std::string_view rest = input;
    resp::Command command;
    portico::kv::Keyspace keys;
    const portico::kv::ServerInfo server{"fuzz", 0};
    portico::kv::TimeMs now = 1'000'000; // one ms per command, so expiry happens too
    std::string reply;
    for (;;) {
        resp::parse_command(rest, command, limits);
        if (command.status != resp::ParseStatus::complete) break;
        if (command.consumed == 0 || command.consumed > rest.size()) std::abort();
        for (const std::string_view arg : command.args)
            if (arg.data() < rest.data() || arg.data() + arg.size() > rest.data() + command.consumed) std::abort();
        if (!command.args.empty()) {
            reply.clear();
            portico::kv::execute(keys, server, command.args, reply, ++now);
            if (reply.empty() ||
                (reply[0] != '+' && reply[0] != '-' && reply[0] != ':' && reply[0] != '$' && reply[0] != '*'))
                std::abort();
        }
        rest.remove_prefix(command.consumed);
    }
    if (command.status == resp::ParseStatus::error && command.error.empty()) std::abort();
    if (command.status != resp::ParseStatus::complete && !command.args.empty()) std::abort();
    // The encoders must round-trip what the parser accepted.
    std::string encoded;
    resp::append_array(encoded, 1);
    resp::append_bulk(encoded, input.substr(0, 64));
    resp::parse_command(encoded, command, limits);
    if (command.status != resp::ParseStatus::complete || command.args.size() != 1 ||
        command.args[0] != input.substr(0, 64))
        std::abort();
    return 0;
}
