// InstalledHost.h — an installed portico (a DESTDIR, or an unpacked .deb)
// run on its own installed config, changed only so it can run here:
// plugins.dir moved below the root, every service on a free port (0), the
// admin server on a free fixed port (the CLI reads it from the file).
#pragma once

#include "harness/ChildProcess.h"
#include "harness/Deadline.h"
#include "harness/ExitStatus.h"
#include "harness/InstallLayout.h"
#include "harness/TempDir.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace portico::test {

// `installed_yaml` with those changes. Throws HarnessError when it has no
// plugins.dir naming the installed plugins or no loopback listen address,
// so a drift of the installed config fails loudly.
std::string runnable_config(const std::string &installed_yaml, const InstallLayout &layout, std::uint16_t admin_port);

class InstalledHost {
public:
    // Writes runnable_config() of the layout's config to dir/portico.yaml
    // and starts the installed binary from / with no --config and
    // PORTICO_CONFIG naming that file. Does not wait: call wait_ready().
    InstalledHost(const InstallLayout &layout, const TempDir &dir);
    ~InstalledHost();
    InstalledHost(const InstalledHost &) = delete;
    InstalledHost &operator=(const InstalledHost &) = delete;

    bool wait_ready(Millis timeout = 10s);
    // From the "service 'NAME' listening on HOST:PORT" line; throws if none.
    std::uint16_t port(std::string_view service) const;
    const std::filesystem::path &config_path() const { return config_path_; }
    std::string log_text() const { return child_.output(); }
    void send_signal(int signal) const { child_.send_signal(signal); }
    ExitStatus wait_exit(Millis timeout) { return child_.wait_exit(timeout); }

private:
    std::filesystem::path config_path_;
    std::string yaml_;
    ChildProcess child_;
};

} // namespace portico::test
