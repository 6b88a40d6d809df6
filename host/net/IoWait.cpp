// IoWait.cpp — PollWait: poll(2) until ready or the deadline.
#include "net/IoWait.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include <poll.h>

namespace portico::host {

IoWait::Result PollWait::wait(bool write, Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Result::timeout;
    pollfd p{fd_, static_cast<short>(write ? POLLOUT : POLLIN), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (rc > 0) return Result::ready;
    if (rc == 0 || errno == EINTR) return Result::timeout; // the caller looks at the clock again
    return Result::failed;
}

} // namespace portico::host
