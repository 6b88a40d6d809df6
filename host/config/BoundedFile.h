// BoundedFile.h — reading a file the config names (the YAML itself, TLS
// certificates and keys) without trusting it: never blocking on a FIFO or a
// device, never reading more than a cap.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace portico::host {

// The file could not be read; what() is "<what> <path>: cannot read it:
// <reason>", reason() only why.
class BoundedFileError : public std::runtime_error {
public:
    BoundedFileError(const std::string &where, std::string reason)
        : std::runtime_error(where + "cannot read it: " + reason), reason_(std::move(reason)) {}
    const std::string &reason() const { return reason_; }

private:
    std::string reason_;
};

// The whole content of `path`, which must be a regular file of at most `cap`
// bytes. `what` names it in errors ("services[0].tls.key file", "config
// file"). Opened with O_NONBLOCK, so a FIFO nobody writes is an error at once
// rather than a hang. Throws BoundedFileError.
std::string read_config_named_file(const std::filesystem::path &path, std::size_t cap, const std::string &what);

// "4 MiB", "64 KiB", "100 bytes": a cap as the errors show it.
std::string describe_cap(std::size_t cap);

} // namespace portico::host
