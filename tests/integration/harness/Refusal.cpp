// Refusal.cpp — a refused connection may be closed before or after our send;
// either way the host's last words are still in the socket for us to read.
#include "harness/Refusal.h"

#include "harness/Elapsed.h"
#include "harness/HarnessError.h"

#include <gtest/gtest.h>

namespace portico::test {

std::string probe(TcpClient &client) {
    try {
        client.send("ping\n");
    } catch (const HarnessError &) {
        // Already closed by the host: what it said is still in our buffer.
    }
    try {
        return client.read_line(5s).value_or("");
    } catch (const HarnessError &) {
        return ""; // reset with nothing said
    }
}

std::string probe_new(std::uint16_t port) {
    TcpClient client(port);
    return probe(client);
}

void expect_refused_promptly(TcpClient &client, const std::string &why) {
    const auto start = Clock::now();
    const auto said = client.read_until_closed(2s);
    ASSERT_TRUE(said.has_value()) << why << ": the host left the connection open instead of refusing it";
    EXPECT_EQ(*said, kBusy) << why;
    EXPECT_LT(since(start), 1000ms) << why << ": refusal should be immediate";
}

void expect_flood_refused(const StormResult &storm, int attempts, int served) {
    EXPECT_EQ(storm.hung, 0) << storm.first_failure;
    EXPECT_EQ(storm.connect_failed, 0) << storm.first_failure;
    EXPECT_EQ(storm.served, served) << "the service had room for " << served << " more clients";
    EXPECT_EQ(storm.refused, attempts - served);
    const auto busy = storm.refused_saying.find(kBusy);
    EXPECT_EQ(busy == storm.refused_saying.end() ? 0 : busy->second, storm.refused)
        << "every refused client gets the busy line first";
    for (const auto &[said, count] : storm.refused_saying)
        if (said != kBusy) ADD_FAILURE() << count << " refused attempts received \"" << said << "\"";
    EXPECT_LT(storm.slowest, 5000ms);
}

} // namespace portico::test
