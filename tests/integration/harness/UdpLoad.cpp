// UdpLoad.cpp — a paced, windowed sender and the reply bookkeeping.
#include "harness/UdpLoad.h"

#include <chrono>
#include <unordered_map>

namespace portico::test {

std::string udp_load_payload(const std::string &tag, std::size_t seq) {
    static const std::string words[] = {"Hello, Server!", "mixed Case text", "udp", "", "Zz-9 !"};
    std::string payload = tag + "-" + std::to_string(seq) + ":";
    for (std::size_t i = 0; i < seq % 5; ++i) payload += " " + words[(seq + i) % 5];
    return payload;
}

std::string UdpLoadResult::summary() const {
    std::string text = "sent " + std::to_string(sent) + ", answered " + std::to_string(answered) + ", missing " +
                       std::to_string(missing()) + ", wrong " + std::to_string(wrong) + ", duplicates " +
                       std::to_string(duplicates);
    for (const auto &sample : wrong_samples) text += "\n  wrong reply: \"" + sample + "\"";
    return text;
}

UdpLoadResult run_udp_load(UdpClient &client, const UdpLoadSpec &spec, const AcceptedReplies &accepted) {
    using Clock = std::chrono::steady_clock;
    struct Expected {
        std::size_t seq;
        std::size_t form;
    };
    UdpLoadResult result;
    std::unordered_map<std::string, Expected> expected; // accepted reply → its request
    std::vector<bool> answered(spec.datagrams, false);
    std::size_t given_up = 0; // window slots freed after waiting a second for a reply

    const auto take = [&](const std::string &reply) {
        const auto it = expected.find(reply);
        if (it == expected.end()) {
            ++result.wrong;
            if (result.wrong_samples.size() < 5) result.wrong_samples.push_back(reply.substr(0, 120));
            return;
        }
        if (answered[it->second.seq]) {
            ++result.duplicates;
            return;
        }
        answered[it->second.seq] = true;
        ++result.answered;
        if (result.by_form.size() <= it->second.form) result.by_form.resize(it->second.form + 1);
        ++result.by_form[it->second.form];
    };

    const auto interval = std::chrono::nanoseconds(1'000'000'000 / std::max(1, spec.per_second));
    const auto start = Clock::now();
    while (result.sent < spec.datagrams) {
        const bool window_full = result.sent - result.answered - given_up >= spec.window;
        // A signed count: unsigned arithmetic on durations wraps when `due` has just passed.
        const auto due = start + interval * static_cast<long long>(result.sent);
        const auto now = Clock::now();
        if (!window_full && now >= due) {
            const std::string payload = udp_load_payload(spec.tag, result.sent);
            const auto forms = accepted(payload);
            for (std::size_t form = 0; form < forms.size(); ++form) expected[forms[form]] = {result.sent, form};
            client.send(payload);
            ++result.sent;
            continue;
        }
        const auto wait = window_full ? Millis(1000) : std::max(Millis(1), std::chrono::ceil<Millis>(due - now));
        if (auto reply = client.receive(wait))
            take(*reply);
        else if (window_full)
            ++given_up;
    }
    Deadline drain(spec.drain);
    while (result.answered < result.sent && !drain.expired()) {
        if (auto reply = client.receive(drain.remaining())) take(*reply);
    }
    // Late duplicates or strays would show up here.
    while (auto reply = client.receive(Millis(20))) take(*reply);
    return result;
}

} // namespace portico::test
