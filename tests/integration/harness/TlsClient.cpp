// TlsClient.cpp — the Python script behind TlsClient, and running it.
#include "harness/TlsClient.h"

#include "harness/TcpClient.h"
#include "harness/Text.h"

#include <gtest/gtest.h>

namespace portico::test {
namespace {

std::filesystem::path write_script(const TempDir &dir) {
    return dir.write_file("tls_client.py", R"PY(
import argparse, os, socket, ssl, sys, time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("--ca")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--send", action="append", default=[])
p.add_argument("--lines", type=int, default=0)
p.add_argument("--wait-file")
p.add_argument("--send2")
p.add_argument("--max-version")
p.add_argument("--proxy-header")  # hex bytes sent in plain before the handshake
a = p.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
if a.ca:
    ctx.load_verify_locations(a.ca)
else:
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
if a.max_version == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2

def out(text):
    print(text, flush=True)

try:
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=15)
    if a.proxy_header:
        raw.sendall(bytes.fromhex(a.proxy_header))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1" if a.ca else None)
    cert = s.getpeercert() if a.ca else None
    cn = ""
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
    out("cn=" + cn)
    out("version=" + s.version())
    f = s.makefile("rb")
    def read_line():
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        out("line=" + line.decode().rstrip("\n"))
    for _ in range(a.lines):
        read_line()
    for line in a.send:
        s.sendall((line + "\n").encode())
        read_line()
    if a.wait_file:
        out("waiting")
        deadline = time.time() + 30
        while not os.path.exists(a.wait_file) and time.time() < deadline:
            time.sleep(0.02)
        s.sendall((a.send2 + "\n").encode())
        read_line()
    s.close()
except Exception as e:  # the test reads the reason from the output
    out("error=%s: %s" % (type(e).__name__, e))
    sys.exit(3)
)PY");
}

} // namespace

TlsClient::TlsClient(const TempDir &dir) : script_(write_script(dir)) {}

ToolResult TlsClient::run(std::uint16_t port, const std::vector<std::string> &args, Millis timeout) const {
    std::vector<std::string> all{script_.string(), std::to_string(port)};
    all.insert(all.end(), args.begin(), args.end());
    return run_tool(require_tool("python3", "python3"), all, timeout);
}

std::unique_ptr<ChildProcess> TlsClient::start_waiting(std::uint16_t port, const std::string &ca,
                                                       const std::string &first, const std::filesystem::path &go,
                                                       const std::string &second) const {
    return std::make_unique<ChildProcess>(require_tool("python3", "python3"),
                                          std::vector<std::string>{script_.string(), std::to_string(port), "--ca", ca,
                                                                   "--send", first, "--wait-file", go.string(),
                                                                   "--send2", second});
}

void expect_plain_text_client_closed(PorticoProcess &host, std::uint16_t port) {
    TcpClient plain(port);
    plain.send("hello in plain text\n");
    const auto reply = plain.read_until_closed(10s);
    ASSERT_TRUE(reply.has_value()) << "the host must close a plain-text client on a TLS port";
    EXPECT_FALSE(contains(*reply, "HELLO IN PLAIN TEXT"));
    EXPECT_TRUE(host.wait_for_log("TLS handshake failed", 5s));
}

} // namespace portico::test
