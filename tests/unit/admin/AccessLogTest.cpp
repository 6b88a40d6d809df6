// AccessLogTest.cpp — how a session's end is named, and the line's format.
#include "service/AccessLog.h"

#include "portico/portico.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <gtest/gtest.h>

namespace portico::host {
namespace {

TEST(AccessLog, ClassifiesHowASessionEnded) {
    EXPECT_EQ(classify_session_end(PORTICO_OK, false, nullptr), SessionEnd::eof);
    EXPECT_EQ(classify_session_end(PORTICO_ERR_HANDLER, false, nullptr), SessionEnd::handler_error);
    EXPECT_EQ(classify_session_end(PORTICO_ERR_TIMEOUT, false, nullptr), SessionEnd::timeout);
    EXPECT_EQ(classify_session_end(PORTICO_OK, false, "idle timeout"), SessionEnd::timeout);
    EXPECT_EQ(classify_session_end(PORTICO_OK, true, nullptr), SessionEnd::closed_by_host);
    EXPECT_EQ(classify_session_end(PORTICO_ERR_STOPPING, false, nullptr), SessionEnd::closed_by_host);
    EXPECT_EQ(classify_session_end(PORTICO_ERR_CLOSED, false, nullptr), SessionEnd::reset);
}

AccessRecord sample() {
    AccessRecord r;
    r.service = "upper";
    r.peer = "127.0.0.1:5000";
    r.handler = "upper.upper";
    r.plugin_version = "1.0.0";
    r.generation = 2;
    r.duration = std::chrono::microseconds(12'345);
    r.bytes_in = 6;
    r.bytes_out = 7;
    r.end = SessionEnd::timeout;
    r.detail = "idle timeout";
    return r;
}

TEST(AccessLog, TextIsLogfmt) {
    EXPECT_EQ(format_access_text(sample()),
              "access service=upper peer=127.0.0.1:5000 handler=upper.upper plugin_version=1.0.0 generation=2 "
              "duration_ms=12.345 bytes_in=6 bytes_out=7 end=timeout detail=\"idle timeout\"");
}

TEST(AccessLog, JsonFieldsParse) {
    const auto o = Poco::JSON::Parser().parse(format_access_json(sample())).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(o->getValue<std::string>("service"), "upper");
    EXPECT_EQ(o->getValue<std::string>("end"), "timeout");
    EXPECT_DOUBLE_EQ(o->getValue<double>("duration_ms"), 12.345);
    EXPECT_EQ(o->getValue<int>("bytes_out"), 7);
}

TEST(AccessLog, NamesTheProxyAfterTheClientWhenThereIsOne) {
    AccessRecord r = sample();
    r.peer = "203.0.113.7:41000";
    r.proxy = "127.0.0.1:5000";
    EXPECT_EQ(format_access_text(r),
              "access service=upper peer=203.0.113.7:41000 proxy=127.0.0.1:5000 handler=upper.upper "
              "plugin_version=1.0.0 generation=2 duration_ms=12.345 bytes_in=6 bytes_out=7 end=timeout "
              "detail=\"idle timeout\"");
    const auto o = Poco::JSON::Parser().parse(format_access_json(r)).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(o->getValue<std::string>("peer"), "203.0.113.7:41000");
    EXPECT_EQ(o->getValue<std::string>("proxy"), "127.0.0.1:5000");
    EXPECT_FALSE(
        Poco::JSON::Parser().parse(format_access_json(sample())).extract<Poco::JSON::Object::Ptr>()->has("proxy"));
}

} // namespace
} // namespace portico::host
