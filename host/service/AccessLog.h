// AccessLog.h — the optional one line per connection (services[].access_log):
// who connected, what served them, for how long, and how it ended. Logged to
// the Poco logger "portico.access.<service>" so level and format (text or
// JSON lines) follow the `logging:` config.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace portico::host {

// How a session ended, as the access log and its docs name it.
enum class SessionEnd { eof, handler_error, timeout, closed_by_host, reset };
const char *to_string(SessionEnd end);

// From the handler's return code and what the connection saw.
SessionEnd classify_session_end(int handler_rc, bool forced_by_host, const char *host_end_reason);

struct AccessRecord {
    std::string service;
    std::string peer;
    std::string proxy;   // the load balancer that sent a PROXY header naming `peer`; "" when none
    std::string handler; // plugin.handler
    std::string plugin_version;
    uint64_t generation = 0;
    std::chrono::nanoseconds duration{0};
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    SessionEnd end = SessionEnd::eof;
    std::string detail; // the host's reason when it ended the session ("idle timeout")
};

// logfmt: `access service=upper peer=127.0.0.1:5000 … end=eof`
std::string format_access_text(const AccessRecord &record);
// The same fields as one JSON object, for the JSON-lines log format.
std::string format_access_json(const AccessRecord &record);
// Logs `record` at information level to portico.access.<service>.
void write_access_log(const AccessRecord &record);

} // namespace portico::host
