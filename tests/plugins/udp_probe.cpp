// Test plugin "udp_probe": exercises the datagram side of the SDK end to end.
// Handler "probe" keeps a per-service counter in its ServiceContext and
// answers by the datagram's first word:
//   "peer"               → "peer <sender address>"
//   "fwd ADDRESS TEXT"   → sends TEXT to ADDRESS with send_to, replies "sent"
//   "throw"              → throws (the host must count it and carry on)
//   anything else        → "<config tag>#<n> <data>", n counting per service
#include "portico/portico.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

namespace {
class Counter : public portico::ServiceContext {
public:
    void open() override { tag_ = config("tag", "probe"); }
    const std::string &tag() const { return tag_; }
    uint64_t next() { return ++count_; }

private:
    std::string tag_;
    std::atomic<uint64_t> count_{0};
};

class Probe : public portico::BasicDatagramHandler<Counter> {
    void handle(portico::Datagram &datagram) override {
        const std::string data(datagram.data());
        if (data == "peer") return datagram.reply("peer " + datagram.peer());
        if (data == "throw") throw std::runtime_error("asked to throw");
        if (data.starts_with("fwd ")) {
            const std::size_t space = data.find(' ', 4);
            datagram.send_to(data.substr(4, space - 4), space == std::string::npos ? "" : data.substr(space + 1));
            return datagram.reply("sent");
        }
        datagram.reply(context().tag() + "#" + std::to_string(context().next()) + " " + data);
    }
};
} // namespace

PORTICO_PLUGIN("udp_probe", "1.0.0", reg) { reg.datagram<Probe>("probe"); }
