// NotifySocket.h — the receiving end of the sd_notify protocol, as systemd
// holds it: a unix datagram socket (a path, or an abstract name), each
// datagram one notification ("READY=1\nSTATUS=...").
#pragma once

#include "harness/Deadline.h"

#include <optional>
#include <string>

namespace portico::test {

class NotifySocket {
public:
    // `address`: a file path, or "@name" for the abstract namespace.
    explicit NotifySocket(std::string address);
    ~NotifySocket();
    NotifySocket(const NotifySocket &) = delete;
    NotifySocket &operator=(const NotifySocket &) = delete;

    // What NOTIFY_SOCKET must say.
    const std::string &address() const { return address_; }
    // The next notification, or nullopt if none came within `timeout`.
    std::optional<std::string> receive(Millis timeout);
    // The next notification that has `field` ("READY=1") as one of its
    // lines, skipping the others; nullopt on timeout. `skipped` collects the
    // notifications passed over, one per line, when given.
    std::optional<std::string> receive_with(const std::string &field, Millis timeout, std::string *skipped = nullptr);

private:
    std::string address_;
    int fd_ = -1;
};

// True if `message` has `field` as one of its newline-separated lines.
bool has_field(const std::string &message, const std::string &field);

} // namespace portico::test
