// StreamReadViewGuardTest.cpp — Stream::read_view() (ABI minor 2) takes the
// host's lent bytes where the host has read_view, and on an older host reads
// through a buffer of its own without touching memory past the table's end.
#include "net/HostApi.h"

#include "portico/portico.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace {

int view_calls = 0;
int read_calls = 0;
const char lent[] = "lent bytes";

int64_t fake_view(portico_conn *, const char **data, size_t max, int32_t) {
    ++view_calls;
    *data = lent;
    return static_cast<int64_t>(std::min(max, sizeof lent - 1));
}
int64_t fake_read(portico_conn *, void *buf, size_t cap, int32_t) {
    ++read_calls;
    const char copied[] = "copied";
    const size_t n = std::min(cap, sizeof copied - 1);
    std::memcpy(buf, copied, n);
    return static_cast<int64_t>(n);
}
int64_t fake_end(portico_conn *, const char **, size_t, int32_t) {
    return 0;
}

TEST(StreamReadViewGuard, NewHostLendsItsBuffer) {
    portico_host_api api = *portico::host::host_api();
    EXPECT_GE(api.abi_minor, 2u);
    api.read_view = &fake_view;
    api.read = &fake_read;
    view_calls = read_calls = 0;
    portico::Stream stream(&api, nullptr);
    const auto bytes = stream.read_view(4);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, "lent");
    EXPECT_EQ(bytes->data(), lent) << "the view is the host's buffer, not a copy";
    EXPECT_EQ(view_calls, 1);
    EXPECT_EQ(read_calls, 0);
}

TEST(StreamReadViewGuard, EndOfStreamIsNullopt) {
    portico_host_api api = *portico::host::host_api();
    api.read_view = &fake_end;
    portico::Stream stream(&api, nullptr);
    EXPECT_FALSE(stream.read_view());
}

TEST(StreamReadViewGuard, OlderHostReadsThroughTheStreamsBuffer) {
    portico_host_api api = *portico::host::host_api();
    api.size = offsetof(portico_host_api, read_view); // a minor-1 host's table
    api.abi_minor = 1;
    api.read_view = &fake_view; // past its end: must not be read
    api.read = &fake_read;
    view_calls = read_calls = 0;
    portico::Stream stream(&api, nullptr);
    const auto bytes = stream.read_view(64);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(*bytes, "copied");
    EXPECT_EQ(view_calls, 0);
    EXPECT_EQ(read_calls, 1);
}

TEST(StreamReadViewGuard, RealTableOnANullConnectionIsInvalid) {
    const portico_host_api *api = portico::host::host_api();
    const char *data = nullptr;
    EXPECT_EQ(api->read_view(nullptr, &data, 16, PORTICO_TIMEOUT_DEFAULT), PORTICO_ERR_INVALID);
}

} // namespace
