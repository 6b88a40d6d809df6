// CidrTest.cpp — allow/deny entries: addresses, networks, and the mistakes a
// user makes writing them.
#include "config/Cidr.h"

#include <gtest/gtest.h>

using portico::host::Cidr;

namespace {

std::string error_of(std::string_view text) {
    std::string error;
    EXPECT_FALSE(Cidr::parse(text, &error)) << text;
    return error;
}

TEST(Cidr, ParsesNetworksAndSingleAddresses) {
    EXPECT_EQ(Cidr::parse("10.0.0.0/8", nullptr)->to_string(), "10.0.0.0/8");
    EXPECT_EQ(Cidr::parse("127.0.0.1", nullptr)->to_string(), "127.0.0.1/32");
    EXPECT_EQ(Cidr::parse("0.0.0.0/0", nullptr)->to_string(), "0.0.0.0/0");
    EXPECT_EQ(Cidr::parse("::1", nullptr)->to_string(), "::1/128");
    EXPECT_EQ(Cidr::parse("fd00::/8", nullptr)->to_string(), "fd00::/8");
    EXPECT_TRUE(Cidr::parse("fd00::/8", nullptr)->v6);
    EXPECT_FALSE(Cidr::parse("10.0.0.0/8", nullptr)->v6);
}

TEST(Cidr, RefusesWhatIsNotAnAddress) {
    EXPECT_NE(error_of("localhost").find("expected an IP address or network"), std::string::npos);
    EXPECT_NE(error_of("").find("expected"), std::string::npos);
    EXPECT_NE(error_of("10.0.0/8").find("expected"), std::string::npos);
}

TEST(Cidr, RefusesBadPrefixes) {
    EXPECT_NE(error_of("10.0.0.0/33").find("/0 to /32"), std::string::npos);
    EXPECT_NE(error_of("::/129").find("/0 to /128"), std::string::npos);
    EXPECT_NE(error_of("10.0.0.0/").find("bad prefix"), std::string::npos);
    EXPECT_NE(error_of("10.0.0.0/8x").find("bad prefix"), std::string::npos);
    EXPECT_NE(error_of("10.0.0.0/-1").find("bad prefix"), std::string::npos);
}

TEST(Cidr, HostBitsBelowThePrefixSuggestTheNetwork) {
    EXPECT_NE(error_of("10.1.2.3/8").find("did you mean 10.0.0.0/8?"), std::string::npos);
    EXPECT_NE(error_of("fd00::1/8").find("did you mean fd00::/8?"), std::string::npos);
}

} // namespace
