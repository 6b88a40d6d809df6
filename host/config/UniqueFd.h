// UniqueFd.h — a file descriptor closed on every return path (the config's
// bounded file reads and the plugin loader both open files by descriptor).
#pragma once

#include <utility>

#include <unistd.h>

namespace portico::host {

class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

} // namespace portico::host
