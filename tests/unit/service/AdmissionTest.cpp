// AdmissionTest.cpp — admission over real TCP connections on 127.0.0.1,
// without a host process: the limits refuse visibly, and a ticket holds its
// slot exactly as long as it lives (moved or not), including one that
// expires in the queue.
#include "service/Admission.h"

#include <Poco/Logger.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace portico::host {
namespace {

using namespace std::chrono_literals;

struct AdmissionTest : ::testing::Test {
    ServiceConfig config;
    ServiceCounters counters;
    Poco::Net::ServerSocket listener{Poco::Net::SocketAddress("127.0.0.1", 0)};
    std::vector<Poco::Net::StreamSocket> clients;

    AdmissionTest() {
        config.name = "unit";
        config.listen.host = "127.0.0.1";
        config.busy_message = "busy\n";
    }

    // A new client connection; returns the host's end of it, as accepted.
    Poco::Net::StreamSocket connect() {
        clients.emplace_back(listener.address());
        clients.back().setReceiveTimeout(Poco::Timespan(5, 0));
        return listener.acceptConnection();
    }

    // What the last client received until the host's end closed.
    std::string last_client_reads() {
        std::string got;
        char buf[64];
        for (int n; (n = clients.back().receiveBytes(buf, sizeof buf)) > 0;)
            got.append(buf, static_cast<std::size_t>(n));
        return got;
    }

    Poco::Logger &logger() { return Poco::Logger::get("portico.unit.admission"); }
};

TEST_F(AdmissionTest, MaxConnectionsRefusesVisiblyUntilATicketIsDestroyed) {
    config.max_connections = 2;
    Admission admission(config, counters, logger());
    auto first = admission.admit(connect(), 0, false);
    auto second = admission.admit(connect(), 0, false);
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    {
        Poco::Net::StreamSocket third = connect();
        EXPECT_FALSE(admission.admit(third, 0, false));
        third.close(); // as the caller does with a refused socket
    }
    EXPECT_EQ(last_client_reads(), "busy\n");
    EXPECT_EQ(counters.refused.load(), 1u);
    EXPECT_EQ(admission.admitted(), 2u);

    first = {}; // its slot is free again
    EXPECT_EQ(admission.admitted(), 1u);
    EXPECT_TRUE(admission.admit(connect(), 0, false));
}

TEST_F(AdmissionTest, AMovedTicketHoldsOneSlotAndFreesItOnce) {
    config.per_source_max = 1;
    Admission admission(config, counters, logger());
    Admission::Ticket held = admission.admit(connect(), 0, false);
    ASSERT_TRUE(held);
    Admission::Ticket moved(std::move(held));
    EXPECT_FALSE(held);
    EXPECT_TRUE(moved);
    EXPECT_EQ(admission.admitted(), 1u);
    EXPECT_FALSE(admission.admit(connect(), 0, false)) << "per_source_max 1 with one open";

    Admission::Ticket assigned;
    assigned = std::move(moved);
    EXPECT_EQ(admission.admitted(), 1u);
    held = std::move(assigned); // back where it began
    held = {};
    EXPECT_EQ(admission.admitted(), 0u);
    EXPECT_TRUE(admission.admit(connect(), 0, false)) << "the source's slot was not freed";
}

TEST_F(AdmissionTest, AFullQueueRefusesOnlyWhenEveryWorkerIsBusy) {
    config.max_queued = 1;
    Admission admission(config, counters, logger());
    auto a = admission.admit(connect(), 5, false);
    EXPECT_TRUE(a) << "a free worker takes it, however long the queue";
    auto b = admission.admit(connect(), 0, true);
    EXPECT_TRUE(b);
    EXPECT_FALSE(admission.admit(connect(), 1, true));
    EXPECT_EQ(counters.refused.load(), 1u);
}

TEST_F(AdmissionTest, ATicketQueuedPastQueueTimeoutIsRefusedAndMayNotStart) {
    config.queue_timeout = 50ms;
    Admission admission(config, counters, logger());
    Poco::Net::StreamSocket started_socket = connect();
    auto started = admission.admit(started_socket, 0, true);
    ASSERT_TRUE(started.start()) << "picked up in time";
    Poco::Net::StreamSocket waiting_socket = connect();
    auto waiting = admission.admit(waiting_socket, 0, true);

    admission.expire_queued(Admission::Clock::now() + 1s);
    EXPECT_EQ(last_client_reads(), "busy\n") << "the waiting client is told and its connection shut down";
    EXPECT_FALSE(waiting.start()) << "an expired connection must not be served";
    EXPECT_TRUE(started.start()) << "a running session is never expired";
    EXPECT_EQ(counters.refused.load(), 1u);
    EXPECT_EQ(admission.admitted(), 2u) << "the slot stays held until the ticket goes";
    waiting = {};
    EXPECT_EQ(admission.admitted(), 1u);
}

TEST_F(AdmissionTest, DenyAndAllowListsRefuseBySource) {
    config.deny = {*Cidr::parse("127.0.0.0/8", nullptr)};
    {
        Admission admission(config, counters, logger());
        EXPECT_FALSE(admission.admit(connect(), 0, false));
    }
    config.deny.clear();
    config.allow = {*Cidr::parse("10.0.0.0/8", nullptr)};
    {
        Admission admission(config, counters, logger());
        EXPECT_FALSE(admission.admit(connect(), 0, false));
    }
    config.allow = {*Cidr::parse("127.0.0.1/32", nullptr)};
    Admission admission(config, counters, logger());
    EXPECT_TRUE(admission.admit(connect(), 0, false));
    EXPECT_EQ(counters.refused.load(), 2u);
}

// proxy_protocol: at accept only proxy_from counts; the client named by the
// header is what per_source_max and deny see, and its slot is freed by source.
TEST_F(AdmissionTest, BehindAProxyTheClientIsAdmittedAfterItsHeader) {
    config.proxy_protocol = ProxyProtocol::v2;
    config.per_source_max = 1;
    config.deny = {*Cidr::parse("10.9.0.0/16", nullptr)};
    Admission admission(config, counters, logger());
    const Poco::Net::SocketAddress alice("10.0.0.1", 4000);

    // Two connections from the one proxy address: both pass accept.
    Poco::Net::StreamSocket first_socket = connect();
    Admission::Ticket first = admission.admit(first_socket, 0, false);
    Poco::Net::StreamSocket second_socket = connect();
    Admission::Ticket second = admission.admit(second_socket, 0, false);
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    EXPECT_TRUE(admission.admit_client(first, first_socket, alice, "127.0.0.1:1"));
    EXPECT_FALSE(admission.admit_client(second, second_socket, alice, "127.0.0.1:2")) << "per_source_max of alice";
    EXPECT_EQ(counters.refused_by[static_cast<std::size_t>(RefusalReason::per_source_max)].load(), 1u);
    Poco::Net::StreamSocket third_socket = connect();
    Admission::Ticket third = admission.admit(third_socket, 0, false);
    EXPECT_FALSE(admission.admit_client(third, third_socket, Poco::Net::SocketAddress("10.9.1.1", 1), "p"));
    EXPECT_EQ(counters.refused_by[static_cast<std::size_t>(RefusalReason::allow_deny)].load(), 1u);

    first = {}; // alice's slot is free again
    Poco::Net::StreamSocket fourth_socket = connect();
    Admission::Ticket fourth = admission.admit(fourth_socket, 0, false);
    EXPECT_TRUE(admission.admit_client(fourth, fourth_socket, alice, "127.0.0.1:4"));
}

TEST_F(AdmissionTest, ProxyFromRefusesOtherPeersAtAccept) {
    config.proxy_protocol = ProxyProtocol::any;
    config.proxy_from = {*Cidr::parse("10.0.0.0/8", nullptr)};
    Admission admission(config, counters, logger());
    {
        Poco::Net::StreamSocket socket = connect();
        EXPECT_FALSE(admission.admit(socket, 0, false));
        socket.close();
    }
    EXPECT_EQ(last_client_reads(), "busy\n");
    EXPECT_EQ(counters.refused_by[static_cast<std::size_t>(RefusalReason::proxy_from)].load(), 1u);
}

} // namespace
} // namespace portico::host
