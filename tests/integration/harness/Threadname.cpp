// Threadname.cpp — a thread name may itself hold ": " ("names:1"), so the
// reply is read from its end.
#include "harness/Threadname.h"

#include "harness/HarnessError.h"

namespace portico::test {

std::string thread_name_in(const std::optional<std::string> &reply, const std::string &line) {
    const std::string tail = ": " + line;
    if (!reply || !reply->ends_with(tail) || reply->size() == tail.size()) return "";
    return reply->substr(0, reply->size() - tail.size());
}

std::string thread_of(TcpClient &client, const std::string &line) {
    client.send(line + "\n");
    const auto reply = client.read_line();
    const std::string name = thread_name_in(reply, line + "\n");
    if (name.empty())
        throw HarnessError("not a threadname reply to \"" + line + "\": \"" + reply.value_or("<EOF>") + "\"");
    return name;
}

} // namespace portico::test
