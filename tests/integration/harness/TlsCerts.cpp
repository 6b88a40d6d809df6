// TlsCerts.cpp — the openssl invocations behind TlsCerts, and the Python client.
#include "harness/TlsCerts.h"

#include "harness/ExternalTool.h"
#include "harness/HarnessError.h"

#include <fstream>

namespace portico::test {
namespace {

void openssl(const std::filesystem::path &folder, std::vector<std::string> args) {
    const auto tool = require_tool("openssl", "openssl");
    // Paths are given relative to the folder: run through sh to cd there.
    std::string command = "cd '" + folder.string() + "' && exec '" + tool.string() + "'";
    for (const auto &arg : args) command += " '" + arg + "'";
    const ToolResult result = run_tool("/bin/sh", {"-c", command}, 60s);
    if (result.status != ExitStatus::exited(0)) throw HarnessError("openssl failed: " + result.describe());
}

const std::vector<std::string> kEcKey = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace

TlsCerts::TlsCerts(const TempDir &dir) : folder_(dir.subdir("certs")) {
    ca_ = folder_ / "ca.pem";
    ca_key_ = folder_ / "ca.key";
    openssl(folder_, concat({"req", "-x509"}, concat(kEcKey, {"-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
                                                              "-subj", "/CN=Portico Test CA"})));
    server_one_ = signed_by_ca("server-one", "/CN=server-one", true);
    server_two_ = signed_by_ca("server-two", "/CN=server-two", true);
    alice_ = signed_by_ca("alice", "/CN=alice/O=Portico Tests", false);

    mallory_ = {folder_ / "mallory.pem", folder_ / "mallory.key"};
    openssl(folder_, concat({"req", "-x509"}, concat(kEcKey, {"-keyout", "mallory.key", "-out", "mallory.pem",
                                                              "-days", "3", "-subj", "/CN=mallory"})));

    // `openssl ca` is the one 3.0 command that sets a past validity period.
    std::ofstream(folder_ / "index.txt").flush();
    std::ofstream(folder_ / "serial") << "1000\n";
    std::ofstream(folder_ / "ca.cnf") << "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\n"
                                         "new_certs_dir = .\nserial = serial\ndefault_md = sha256\n"
                                         "policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n";
    openssl(folder_, concat({"req", "-new"}, concat(kEcKey, {"-keyout", "expired.key", "-out", "expired.csr",
                                                             "-subj", "/CN=expired"})));
    openssl(folder_, {"ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in",
                      "expired.csr", "-out", "expired.pem", "-notext", "-extfile", "server-one.ext", "-startdate", "20200101000000Z", "-enddate",
                      "20200102000000Z"});
    expired_ = {folder_ / "expired.pem", folder_ / "expired.key"};
}

CertPair TlsCerts::signed_by_ca(std::string_view name, std::string_view subject, bool server) {
    const std::string n(name);
    std::ofstream(folder_ / (n + ".ext")) << (server ? "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                                                     : "extendedKeyUsage = clientAuth\n");
    openssl(folder_, concat({"req", "-new"}, concat(kEcKey, {"-keyout", n + ".key", "-out", n + ".csr", "-subj",
                                                             std::string(subject)})));
    openssl(folder_, {"x509", "-req", "-in", n + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
                      std::to_string(serial_++), "-days", "3", "-extfile", n + ".ext", "-out", n + ".pem"});
    return {folder_ / (n + ".pem"), folder_ / (n + ".key")};
}

std::filesystem::path write_tls_client_script(const TempDir &dir) {
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

} // namespace portico::test
