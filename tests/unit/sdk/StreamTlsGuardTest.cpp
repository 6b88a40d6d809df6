// StreamTlsGuardTest.cpp — Stream::is_tls() and peer_certificate_subject()
// (ABI minor 1) call the host only when its table is long enough: on a host
// built before minor 1 they answer "plain" without touching memory past the
// table's end.
#include "net/HostApi.h"

#include "portico/portico.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>

namespace {

int calls = 0;
int fake_is_tls(portico_conn *) {
    return ++calls, 1;
}
size_t fake_subject(portico_conn *, char *buf, size_t cap) {
    ++calls;
    const char text[] = "/CN=alice";
    if (cap > 0) std::snprintf(buf, cap, "%s", text);
    return sizeof text - 1;
}

TEST(StreamTlsGuard, NewHostAnswers) {
    portico_host_api api = *portico::host::host_api();
    EXPECT_GE(api.abi_minor, 1u);
    EXPECT_GE(api.size, offsetof(portico_host_api, conn_peer_subject) + sizeof(void *));
    api.conn_is_tls = &fake_is_tls;
    api.conn_peer_subject = &fake_subject;
    calls = 0;
    const portico::Stream stream(&api, nullptr);
    EXPECT_TRUE(stream.is_tls());
    EXPECT_EQ(stream.peer_certificate_subject(), "/CN=alice");
    EXPECT_EQ(calls, 2);
}

TEST(StreamTlsGuard, OlderHostIsPlainWithoutACall) {
    portico_host_api api = *portico::host::host_api();
    api.size = offsetof(portico_host_api, conn_is_tls); // a minor-0 host's table
    api.abi_minor = 0;
    api.conn_is_tls = &fake_is_tls; // past its end: must not be read
    api.conn_peer_subject = &fake_subject;
    calls = 0;
    const portico::Stream stream(&api, nullptr);
    EXPECT_FALSE(stream.is_tls());
    EXPECT_EQ(stream.peer_certificate_subject(), "");
    EXPECT_EQ(calls, 0);
}

TEST(StreamTlsGuard, RealTableOnANullConnectionIsPlain) {
    const portico_host_api *api = portico::host::host_api();
    char buf[8] = "x";
    EXPECT_EQ(api->conn_is_tls(nullptr), 0);
    EXPECT_EQ(api->conn_peer_subject(nullptr, buf, sizeof buf), 0u);
    EXPECT_STREQ(buf, "");
}

} // namespace
