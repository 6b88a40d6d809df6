// ExitStatus.h — how a child process ended (or that it has not yet), in a
// form GoogleTest can compare and print: EXPECT_EQ(st, ExitStatus::exited(0)).
#pragma once

#include <ostream>
#include <string>

namespace portico::test {

struct ExitStatus {
    enum class Kind { running, exited, signaled };
    Kind kind = Kind::running;
    int value = 0; // exit code, or signal number

    static ExitStatus still_running() { return {}; }
    static ExitStatus exited(int code) { return {Kind::exited, code}; }
    static ExitStatus signaled(int signal) { return {Kind::signaled, signal}; }
    // From a waitpid() status word.
    static ExitStatus from_wait_status(int status);

    bool is_running() const { return kind == Kind::running; }
    std::string describe() const;
    bool operator==(const ExitStatus &) const = default;
};

inline std::ostream &operator<<(std::ostream &os, const ExitStatus &s) { return os << s.describe(); }

} // namespace portico::test
