// InstallLayout.h — where `cmake --install` and the .deb put portico's
// files: below a root (a DESTDIR, or a package unpacked with dpkg-deb -x)
// for the prefix this build was configured with, or at another prefix
// given to `cmake --install --prefix`. The only file that reads the
// PORTICO_INSTALL_* macros set by tests/CMakeLists.txt.
#pragma once

#include <filesystem>
#include <string>

namespace portico::test {

class InstallLayout {
public:
    // The configured prefix (/usr) staged below `root`.
    static InstallLayout below_root(const std::filesystem::path &root);
    // Installed with `cmake --install --prefix <prefix>` (not /usr: its
    // config goes to <prefix>/etc, as GNUInstallDirs has it).
    static InstallLayout at_prefix(const std::filesystem::path &prefix);

    const std::filesystem::path &root() const { return root_; }
    const std::filesystem::path &prefix() const { return prefix_; }
    std::filesystem::path binary() const;     // prefix/bin/portico
    std::filesystem::path plugin_dir() const; // prefix/lib/portico/plugins
    const std::filesystem::path &config() const { return config_; }
    std::filesystem::path unit_dir() const; // prefix/lib/systemd/system
    std::filesystem::path doc_dir() const;  // prefix/share/doc/portico
    std::filesystem::path include_dir() const;

    // The paths as the installed config and units name them (on the target
    // machine: without the root).
    std::filesystem::path named_binary() const;
    std::filesystem::path named_plugin_dir() const;
    std::filesystem::path named_config() const;
    std::filesystem::path named_unit_dir() const;
    std::filesystem::path named_doc_dir() const;

private:
    InstallLayout(std::filesystem::path root, std::filesystem::path named_prefix, std::filesystem::path named_config);
    std::filesystem::path root_;         // "" when installed in place
    std::filesystem::path named_prefix_; // prefix as the files name it
    std::filesystem::path named_config_;
    std::filesystem::path prefix_; // root + named prefix
    std::filesystem::path config_; // root + named config
};

// The config path compiled into the binary (/etc/portico/portico.yaml).
std::filesystem::path installed_config();

std::filesystem::path build_dir();
std::filesystem::path cmake_command();
std::filesystem::path cpack_command();

// `cmake --install <build>` of one component (empty: the default, all), into
// DESTDIR=root, or at `prefix` when root is empty; throws HarnessError with
// the output if it fails.
void install_into(const std::filesystem::path &root, const std::string &component = {});
void install_at_prefix(const std::filesystem::path &prefix, const std::string &component = {});

} // namespace portico::test
