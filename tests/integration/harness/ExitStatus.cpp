// ExitStatus.cpp — decoding waitpid() status words.
#include "harness/ExitStatus.h"

#include <cstring>

#include <sys/wait.h>

namespace portico::test {

ExitStatus ExitStatus::from_wait_status(int status) {
    if (WIFEXITED(status)) return exited(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return signaled(WTERMSIG(status));
    return still_running();
}

std::string ExitStatus::describe() const {
    switch (kind) {
    case Kind::running: return "still running";
    case Kind::exited: return "exit code " + std::to_string(value);
    case Kind::signaled: return "killed by signal " + std::to_string(value) + " (" + ::strsignal(value) + ")";
    }
    return "?";
}

} // namespace portico::test
