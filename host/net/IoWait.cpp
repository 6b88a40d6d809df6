// IoWait.cpp — PollWait: poll(2) until ready or the deadline, and with a
// notifier also on an eventfd its signal writes to.
#include "net/IoWait.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace portico::host {
namespace {

// Milliseconds to the deadline for poll(2), rounded up; <= 0 when it has passed.
long long left_ms(IoWait::Clock::time_point deadline) {
    return std::chrono::ceil<std::chrono::milliseconds>(deadline - IoWait::Clock::now()).count();
}

} // namespace

PollWait::~PollWait() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

IoWait::Result PollWait::wait(bool write, Clock::time_point deadline) {
    const auto left = left_ms(deadline);
    if (left <= 0) return Result::timeout;
    pollfd p{fd_, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (rc > 0) return Result::ready;
    if (rc == 0 || errno == EINTR) return Result::timeout; // the caller looks at the clock again
    return Result::failed;
}

IoWait::Result PollWait::wait_or(Notifier *notifier, bool write, Clock::time_point deadline, bool &notified) {
    notified = false;
    if (notifier == nullptr) return wait(write, deadline);
    if (wake_fd_ < 0) {
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) return Result::failed;
    }
    NotifierRef hold(*notifier);
    if (!notifier->arm(*this)) {
        notified = true;
        return Result::timeout;
    }
    const auto left = left_ms(deadline);
    pollfd p[2] = {{fd_, static_cast<short>(write ? POLLOUT : POLLIN), 0}, {wake_fd_, POLLIN, 0}};
    const int rc = left > 0 ? ::poll(p, 2, static_cast<int>(std::min<long long>(left, INT_MAX))) : 0;
    const int error = errno;
    notified = notifier->disarm(*this);
    // notify() writes only while armed and only for a signal disarm then
    // reports: after disarm, what it wrote is all there is, and reading it
    // leaves the eventfd clear for the next wait.
    if (notified || p[1].revents != 0) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
    }
    if (rc > 0 && p[0].revents != 0) return Result::ready;
    if (rc >= 0 || error == EINTR) return Result::timeout;
    errno = error;
    return Result::failed;
}

void PollWait::notify() noexcept {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

} // namespace portico::host
