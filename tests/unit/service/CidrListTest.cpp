// CidrListTest.cpp — matching sources against allow/deny networks, IPv4,
// IPv6 and IPv4-mapped IPv6.
#include "net/CidrList.h"

#include <gtest/gtest.h>

using Poco::Net::IPAddress;
using portico::host::Cidr;
using portico::host::CidrList;

namespace {

CidrList list(std::initializer_list<const char *> texts) {
    std::vector<Cidr> networks;
    for (const char *text : texts)
        networks.push_back(*Cidr::parse(text, nullptr));
    return CidrList(std::move(networks));
}

TEST(CidrList, EmptyContainsNothing) {
    EXPECT_TRUE(CidrList().empty());
    EXPECT_FALSE(CidrList().contains(IPAddress("127.0.0.1")));
}

TEST(CidrList, MatchesIpv4PrefixesOnAnyBitBoundary) {
    const CidrList nets = list({"10.0.0.0/8", "192.168.4.0/22", "172.16.5.7"});
    EXPECT_TRUE(nets.contains(IPAddress("10.255.1.2")));
    EXPECT_FALSE(nets.contains(IPAddress("11.0.0.1")));
    EXPECT_TRUE(nets.contains(IPAddress("192.168.7.255")));
    EXPECT_FALSE(nets.contains(IPAddress("192.168.8.0")));
    EXPECT_FALSE(nets.contains(IPAddress("192.168.3.255")));
    EXPECT_TRUE(nets.contains(IPAddress("172.16.5.7")));
    EXPECT_FALSE(nets.contains(IPAddress("172.16.5.8")));
}

TEST(CidrList, ZeroPrefixMatchesEveryAddressOfItsFamily) {
    EXPECT_TRUE(list({"0.0.0.0/0"}).contains(IPAddress("8.8.8.8")));
    EXPECT_FALSE(list({"0.0.0.0/0"}).contains(IPAddress("::2")));
    EXPECT_TRUE(list({"::/0"}).contains(IPAddress("2001:db8::1")));
    EXPECT_FALSE(list({"::/0"}).contains(IPAddress("8.8.8.8")));
}

TEST(CidrList, MatchesIpv6) {
    const CidrList nets = list({"::1", "fd00::/8", "2001:db8:abcd::/48"});
    EXPECT_TRUE(nets.contains(IPAddress("::1")));
    EXPECT_FALSE(nets.contains(IPAddress("::2")));
    EXPECT_TRUE(nets.contains(IPAddress("fdff::1")));
    EXPECT_TRUE(nets.contains(IPAddress("2001:db8:abcd:ffff::1")));
    EXPECT_FALSE(nets.contains(IPAddress("2001:db8:abce::1")));
    EXPECT_FALSE(nets.contains(IPAddress("127.0.0.1")));
}

TEST(CidrList, Ipv4MappedSourcesMatchIpv4Networks) {
    EXPECT_TRUE(list({"127.0.0.0/8"}).contains(IPAddress("::ffff:127.0.0.1")));
    EXPECT_FALSE(list({"10.0.0.0/8"}).contains(IPAddress("::ffff:127.0.0.1")));
}

} // namespace
