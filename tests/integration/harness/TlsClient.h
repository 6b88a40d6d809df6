// TlsClient.h — the TLS client of the TLS tests: a Python script (python3's
// ssl module) written to the test's folder, which connects to
// 127.0.0.1:port, prints "cn=<server CN>", "version=<TLS version>" and each
// line it reads as "line=<text>"; "error=<reason>" and exit 3 when the
// handshake or a read fails. Its arguments:
//   --ca FILE  --cert FILE --key FILE  --max-version 1.2  --send LINE (repeatable)
//   --lines N (lines to read before sending)  --wait-file F (then --send2 LINE)
//   --proxy-header HEX (bytes sent in plain before the handshake: a PROXY header)
#pragma once

#include "harness/ChildProcess.h"
#include "harness/ExternalTool.h"
#include "harness/PorticoProcess.h"
#include "harness/TempDir.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace portico::test {

class TlsClient {
public:
    // Writes the script into `dir`.
    explicit TlsClient(const TempDir &dir);

    // Runs the client against `port` with `args` until it ends.
    ToolResult run(std::uint16_t port, const std::vector<std::string> &args, Millis timeout = 40s) const;

    // Starts a client that verifies against `ca`, sends `first`, prints
    // "waiting" and, once the file `go` exists (at most 30 s), sends `second`:
    // a session the test holds open, its handler waiting in a read.
    std::unique_ptr<ChildProcess> start_waiting(std::uint16_t port, const std::string &ca, const std::string &first,
                                                const std::filesystem::path &go, const std::string &second) const;

private:
    std::filesystem::path script_;
};

// A GoogleTest check on the wrong client: a line of plain text sent to the
// TLS service (upper) on `port` fails the handshake, is never answered, and
// the host closes the connection and logs "TLS handshake failed".
void expect_plain_text_client_closed(PorticoProcess &host, std::uint16_t port);

} // namespace portico::test
