// StateHandoff.cpp — both ends of the process-mode state hand-off. One
// SOCK_SEQPACKET message each way: the master sends "E" (export); the worker
// answers "S" with the memfd attached (state), "N" (nothing to hand over) or
// "F" followed by the reason (failed). A memfd rather than the socket for the
// bytes: the master never reads or buffers them, it only passes them on.
#include "service/StateHandoff.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr char kAskExport = 'E';
constexpr char kState = 'S';
constexpr char kNothing = 'N';
constexpr char kFailed = 'F';
// A reply is a code and a sentence.
constexpr std::size_t kMaxReply = 2048;

std::string mib(std::size_t bytes) {
    return std::to_string(bytes >> 20) + " MiB";
}

// A sealed memfd holding bytes; -1 with errno set on failure.
int state_memfd(const std::string &bytes) {
    const int fd = ::memfd_create("portico-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::close(fd);
            errno = err;
            return -1;
        }
        done += static_cast<std::size_t>(n);
    }
    // Sealed: the size the master and the new worker see is the size it keeps.
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    return fd;
}

// Sends one reply; a master that stopped listening (gave up, or is gone)
// is not an error worth more than returning.
void send_reply(int control, char code, const std::string &text, int fd) {
    std::string message(1, code);
    message += text.substr(0, kMaxReply - 1);
    iovec part{message.data(), message.size()};
    msghdr msg{};
    msg.msg_iov = &part;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control_bytes{};
    if (fd >= 0) {
        msg.msg_control = control_bytes.data();
        msg.msg_controllen = control_bytes.size();
        cmsghdr *header = CMSG_FIRSTHDR(&msg);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    while (::sendmsg(control, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

} // namespace

ControlSockets make_control_sockets() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::system_error(errno, std::generic_category(), "socketpair for a worker's control socket");
    return ControlSockets{std::make_unique<UniqueFd>(fds[0]), std::make_unique<UniqueFd>(fds[1])};
}

StateRequest::StateRequest(std::unique_ptr<UniqueFd> control, pid_t from, int slot, std::chrono::milliseconds wait)
    : control_(std::move(control)), from_(from), slot_(slot), wait_(wait),
      deadline_(std::chrono::steady_clock::now() + wait) {
    const char ask = kAskExport;
    ssize_t sent;
    while ((sent = ::send(control_->get(), &ask, 1, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (sent < 0) send_error_ = std::string("cannot ask it: ") + std::strerror(errno);
}

std::optional<HandoffReply> StateRequest::poll() {
    HandoffReply reply;
    if (!send_error_.empty()) {
        reply.problem = send_error_;
        return reply;
    }
    std::array<char, kMaxReply> text{};
    iovec part{text.data(), text.size()};
    msghdr msg{};
    msg.msg_iov = &part;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control_bytes{};
    msg.msg_control = control_bytes.data();
    msg.msg_controllen = control_bytes.size();
    ssize_t n;
    while ((n = ::recvmsg(control_->get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (std::chrono::steady_clock::now() < deadline_) return std::nullopt;
        reply.problem = "no answer within " + std::to_string(wait_.count()) + "ms (plugins.call_timeout and a margin)";
        return reply;
    }
    // ECONNRESET: it ended with the request still unread.
    if (n < 0 && errno != ECONNRESET) {
        reply.problem = std::string("cannot read its answer: ") + std::strerror(errno);
        return reply;
    }
    if (n <= 0) {
        reply.problem = "it ended before it answered";
        return reply;
    }
    for (cmsghdr *header = CMSG_FIRSTHDR(&msg); header != nullptr; header = CMSG_NXTHDR(&msg, header))
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
            header->cmsg_len == CMSG_LEN(sizeof(int))) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
            reply.state = std::make_unique<UniqueFd>(fd);
        }
    const char code = text[0];
    const std::string said(text.data() + 1, static_cast<std::size_t>(n) - 1);
    if (code == kNothing) {
        reply.state.reset();
        return reply;
    }
    if (code != kState || reply.state == nullptr) {
        reply.state.reset();
        reply.problem = code == kFailed ? said : "it answered something other than its state";
        return reply;
    }
    struct stat info {};
    if (::fstat(reply.state->get(), &info) != 0 || info.st_size < 0 ||
        static_cast<std::size_t>(info.st_size) > kMaxHandoffBytes) {
        reply.state.reset();
        reply.problem = "its state is unreadable or larger than " + mib(kMaxHandoffBytes);
        return reply;
    }
    reply.bytes = static_cast<std::size_t>(info.st_size);
    return reply;
}

StateResponder::StateResponder(int control_fd, std::function<ExportOutcome()> exporter)
    : control_fd_(control_fd), exporter_(std::move(exporter)), thread_([this] { run(); }) {}

StateResponder::~StateResponder() {
    // Wakes the blocked recv: it returns 0 and the thread ends.
    ::shutdown(control_fd_, SHUT_RDWR);
    thread_.join();
    ::close(control_fd_);
}

void StateResponder::run() {
    for (;;) {
        char ask = 0;
        const ssize_t n = ::recv(control_fd_, &ask, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        if (ask != kAskExport) continue;
        ExportOutcome outcome;
        try {
            outcome = exporter_();
        } catch (const std::exception &e) {
            outcome.problem = e.what();
        }
        if (!outcome.problem.empty()) {
            send_reply(control_fd_, kFailed, outcome.problem, -1);
            continue;
        }
        if (!outcome.bytes) {
            send_reply(control_fd_, kNothing, {}, -1);
            continue;
        }
        if (outcome.bytes->size() > kMaxHandoffBytes) {
            send_reply(control_fd_, kFailed,
                       "state_export wrote " + std::to_string(outcome.bytes->size()) + " bytes, more than the " +
                           mib(kMaxHandoffBytes) + " a hand-off between workers may carry",
                       -1);
            continue;
        }
        const int fd = state_memfd(*outcome.bytes);
        if (fd < 0) {
            send_reply(control_fd_, kFailed, std::string("cannot store the state: ") + std::strerror(errno), -1);
            continue;
        }
        send_reply(control_fd_, kState, {}, fd);
        ::close(fd);
    }
}

std::optional<std::string> read_handed_state(int fd) {
    if (::fcntl(fd, F_GETFD) < 0) return std::nullopt;
    const UniqueFd owned(fd);
    struct stat info {};
    if (::fstat(fd, &info) != 0)
        throw std::runtime_error("cannot read the handed-over state (descriptor " + std::to_string(fd) +
                                 "): " + std::strerror(errno));
    if (info.st_size < 0 || static_cast<std::size_t>(info.st_size) > kMaxHandoffBytes)
        throw std::runtime_error("the handed-over state is larger than " + mib(kMaxHandoffBytes));
    std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw std::runtime_error("cannot read the handed-over state (descriptor " + std::to_string(fd) +
                                     "): " + (n < 0 ? std::strerror(errno) : "it ended early"));
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

} // namespace portico::host
