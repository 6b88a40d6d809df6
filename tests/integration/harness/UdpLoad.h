// UdpLoad.h — one client's stream of datagrams at a steady rate, with every
// reply checked against what was sent. Each payload is unique (it carries the
// client's tag and a sequence number), so a reply is matched to its request
// whatever the order, and lost, wrong and duplicated replies are all counted.
#pragma once

#include "harness/Deadline.h"
#include "harness/UdpClient.h"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace portico::test {

struct UdpLoadSpec {
    std::string tag = "c0"; // unique per client; starts every payload
    std::size_t datagrams = 2000;
    int per_second = 2000;
    std::size_t window = 32; // unanswered datagrams before the sender waits
    Millis drain = 5s;       // after the last send, how long to wait for the rest
};

struct UdpLoadResult {
    std::size_t sent = 0;
    std::size_t answered = 0;   // requests that got a correct reply
    std::size_t wrong = 0;      // replies matching no request's accepted forms
    std::size_t duplicates = 0; // a second reply to an answered request
    // answered[i] by which accepted form it was (index into accepted(payload)).
    std::vector<std::size_t> by_form;
    std::vector<std::string> wrong_samples; // the first few wrong replies
    std::size_t missing() const { return sent - answered; }
    std::string summary() const;
};

// The replies that are correct for `payload` (e.g. {upper(payload)}).
using AcceptedReplies = std::function<std::vector<std::string>(const std::string &payload)>;

// Payload number `seq` of client `tag`: mixed-case text of varying length.
std::string udp_load_payload(const std::string &tag, std::size_t seq);

UdpLoadResult run_udp_load(UdpClient &client, const UdpLoadSpec &spec, const AcceptedReplies &accepted);

} // namespace portico::test
