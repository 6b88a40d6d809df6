// chat — a group chat room per bound service: every line a member sends
// (handler `chat`) goes to every other member, prefixed with the sender's
// address. Handler `relay` is the threaded chat example's room from
// socketserver tutorials (docs/socketserver.md): whatever bytes a
// member sends (one read of up to 1024) go to every other member unchanged,
// with no greeting and no notices (joins and leaves are only logged).
//
// Each member's own session is the only one that writes to its socket.
// Others never touch it: they append to the member's bounded outbound queue
// and ring its doorbell (a portico::Notifier). The session waits for its
// peer's bytes or the doorbell at once (Stream::wait_readable_or), then
// flushes the queue and passes on what its peer sent: no polling, so it
// serves in mode events too, many members to a thread. A member whose
// socket is slow only ever blocks itself; when its queue overflows it is
// dropped from the room and disconnected.
//
// Settings (`config:` of the service):
//   max_queue_bytes   outbound bytes a member may have pending (default 262144)
#include <portico/portico.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::size_t setting(const portico::ServiceContext &ctx, std::string_view key, std::size_t fallback) {
    const auto text = ctx.config(key);
    if (!text) return fallback;
    try {
        const long long n = std::stoll(*text);
        return n > 0 ? static_cast<std::size_t>(n) : fallback;
    } catch (const std::exception &) {
        return fallback;
    }
}

// One connected client, shared by its own session (which drains the queue)
// and the sessions of the others (which fill it and ring the doorbell).
class Member {
public:
    Member(std::string address, portico::Notifier doorbell)
        : address_(std::move(address)), doorbell_(std::move(doorbell)) {}

    const std::string &address() const { return address_; }
    const portico::Notifier &doorbell() const { return doorbell_; }

    // Queues text for this member; false when that would exceed `limit`
    // (the member is then marked dropped and its queue is freed).
    bool offer(std::string_view text, std::size_t limit) {
        bool queued = false;
        {
            std::lock_guard lock(mutex_);
            if (dropped_) return false;
            if (pending_.size() + text.size() > limit) {
                dropped_ = true;
                pending_ = std::string();
            } else {
                pending_ += text;
                queued = true;
            }
        }
        doorbell_.signal();
        return queued;
    }
    // Everything queued so far; the queue is empty afterwards.
    std::string take() {
        std::lock_guard lock(mutex_);
        std::string out;
        out.swap(pending_);
        return out;
    }
    bool dropped() const {
        std::lock_guard lock(mutex_);
        return dropped_;
    }

private:
    const std::string address_;
    const portico::Notifier doorbell_;
    mutable std::mutex mutex_;
    std::string pending_;
    bool dropped_ = false;
};

// The room: who is in it, and delivery to everyone but the sender. An
// announcing room greets members and tells the others who came and went; a
// quiet one only logs it.
class Room : public portico::ServiceContext {
public:
    explicit Room(bool announce = true) : announce_(announce) {}

    void open() override { max_queue_ = setting(*this, "max_queue_bytes", 256 * 1024); }

    void join(const std::shared_ptr<Member> &member) {
        std::size_t count = 0;
        {
            std::lock_guard lock(mutex_);
            members_.push_back(member);
            count = members_.size();
        }
        if (!announce_) {
            log(portico::LogLevel::info, member->address() + " joined the room, " + std::to_string(count) + " online");
            return;
        }
        member->offer("* welcome " + member->address() + ", " + std::to_string(count) + " online\n", max_queue_);
        broadcast(*member, "* " + member->address() + " joined\n");
    }

    void leave(const Member &member, std::string_view why) {
        if (!remove(member)) return;
        if (announce_)
            broadcast(member, "* " + member.address() + " left" + std::string(why) + "\n");
        else
            log(portico::LogLevel::info, member.address() + " left the room" + std::string(why));
    }

    // Queues text for every member but `from`; members whose queue
    // overflows are dropped from the room (and an announcing room says so).
    void broadcast(const Member &from, const std::string &text) {
        std::vector<std::shared_ptr<Member>> overflowed;
        {
            std::lock_guard lock(mutex_);
            for (const auto &member : members_)
                if (member.get() != &from && !member->offer(text, max_queue_)) overflowed.push_back(member);
        }
        for (const auto &member : overflowed)
            leave(*member, " (too slow to keep up)");
    }

private:
    bool remove(const Member &member) {
        std::lock_guard lock(mutex_);
        const auto it =
            std::find_if(members_.begin(), members_.end(), [&](const auto &m) { return m.get() == &member; });
        if (it == members_.end()) return false;
        members_.erase(it);
        return true;
    }

    std::mutex mutex_;
    std::vector<std::shared_ptr<Member>> members_;
    const bool announce_;
    std::size_t max_queue_ = 0;
};

class QuietRoom : public Room {
public:
    QuietRoom() : Room(false) {}
};

// One member's connection: wait for the peer's bytes or the doorbell, then
// deliver what the others sent and pass on what this member sent.
template <class RoomType> class Membership : public portico::BasicStreamHandler<RoomType> {
protected:
    using Base = portico::BasicStreamHandler<RoomType>;

    // Passes on what the member sent that the host holds now, without
    // waiting for more; false at end of stream.
    virtual bool pass_on() = 0;

    Member &member() { return *member_; }

private:
    void setup() override {
        member_ = std::make_shared<Member>(Base::stream().peer(), portico::Notifier(Base::stream().host_api()));
        Base::context().join(member_);
    }

    void handle() override {
        for (;;) {
            flush();
            if (member_->dropped()) {
                Base::stream().close();
                return;
            }
            if (Base::stream().stopping()) return;
            const portico::Wakeup woke = Base::stream().wait_readable_or(member_->doorbell(), portico::forever);
            if (woke.readable && !pass_on()) return;
        }
    }

    void finish() override {
        if (member_) Base::context().leave(*member_, "");
    }

    void flush() {
        const std::string pending = member_->take();
        if (!pending.empty()) Base::stream().write_all(pending);
    }

    std::shared_ptr<Member> member_;
};

// chat.chat: lines, each passed on as "[sender] line\n". A line not yet
// complete stays with the host until its '\n' comes.
class ChatMember final : public Membership<Room> {
    bool pass_on() override {
        for (;;) {
            std::optional<std::string_view> line;
            try {
                line = stream().read_line(std::chrono::milliseconds(0));
            } catch (const portico::IoError &e) {
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                return true; // no whole line left
            }
            if (!line) return false;
            std::string_view text = *line;
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                text.remove_suffix(1);
            context().broadcast(member(), "[" + member().address() + "] " + std::string(text) + "\n");
        }
    }
};

// chat.relay: what arrived (the example's recv(1024)), passed on unchanged.
class RelayMember final : public Membership<QuietRoom> {
    bool pass_on() override {
        char buf[1024];
        const std::size_t n = stream().read(buf, sizeof buf);
        if (n == 0) return false;
        context().broadcast(member(), std::string(buf, n));
        return true;
    }
};

} // namespace

PORTICO_PLUGIN("chat", "1.0.0", reg) {
    reg.stream<ChatMember>("chat");
    reg.stream<RelayMember>("relay");
}
