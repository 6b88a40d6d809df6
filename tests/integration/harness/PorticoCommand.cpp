// PorticoCommand.cpp — one-shot runs of the binary.
#include "harness/PorticoCommand.h"

#include "harness/ChildProcess.h"
#include "harness/Paths.h"

namespace portico::test {

CommandResult run_portico(const std::vector<std::string> &args, Millis timeout) {
    ChildProcess child(portico_binary(), args);
    CommandResult result;
    result.status = child.wait_exit(timeout);
    child.kill();
    result.output = child.output();
    return result;
}

} // namespace portico::test
