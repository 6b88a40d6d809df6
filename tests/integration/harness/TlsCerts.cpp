// TlsCerts.cpp — the openssl invocations behind TlsCerts.
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
    for (const auto &arg : args)
        command += " '" + arg + "'";
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
    openssl(folder_, concat({"req", "-x509"}, concat(kEcKey, {"-keyout", "mallory.key", "-out", "mallory.pem", "-days",
                                                              "3", "-subj", "/CN=mallory"})));

    // `openssl ca` is the one 3.0 command that sets a past validity period.
    std::ofstream(folder_ / "index.txt").flush();
    std::ofstream(folder_ / "serial") << "1000\n";
    std::ofstream(folder_ / "ca.cnf") << "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\n"
                                         "new_certs_dir = .\nserial = serial\ndefault_md = sha256\n"
                                         "policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n";
    openssl(folder_, concat({"req", "-new"},
                            concat(kEcKey, {"-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=expired"})));
    openssl(folder_, {"ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in",
                      "expired.csr", "-out", "expired.pem", "-notext", "-extfile", "server-one.ext", "-startdate",
                      "20200101000000Z", "-enddate", "20200102000000Z"});
    expired_ = {folder_ / "expired.pem", folder_ / "expired.key"};
}

CertPair TlsCerts::signed_by_ca(std::string_view name, std::string_view subject, bool server) {
    const std::string n(name);
    std::ofstream(folder_ / (n + ".ext"))
        << (server ? "subjectAltName = IP:127.0.0.1, DNS:localhost\n" : "extendedKeyUsage = clientAuth\n");
    openssl(folder_, concat({"req", "-new"}, concat(kEcKey, {"-keyout", n + ".key", "-out", n + ".csr", "-subj",
                                                             std::string(subject)})));
    openssl(folder_, {"x509", "-req", "-in", n + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
                      std::to_string(serial_++), "-days", "3", "-extfile", n + ".ext", "-out", n + ".pem"});
    return {folder_ / (n + ".pem"), folder_ / (n + ".key")};
}

} // namespace portico::test
