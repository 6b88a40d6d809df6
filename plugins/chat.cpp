// chat — a group chat room per bound service: every line a member sends
// (handler `chat`) goes to every other member, prefixed with the sender's
// address. Handler `relay` is the threaded chat example's room from
// socketserver tutorials (docs/socketserver.md): whatever bytes a
// member sends (one read of up to 1024) go to every other member unchanged,
// with no greeting and no notices (joins and leaves are only logged).
//
// Each member's own handler thread is the only one that writes to its
// socket. Others never touch it: they append to the member's bounded
// outbound queue and wake its thread, which flushes the queue and checks its
// socket for input (1 ms) in turns. So a member whose socket is slow only
// ever blocks itself; when its queue overflows it is dropped from the room
// and disconnected. (The SDK cannot wait on a socket and a queue at once, so
// an idle member looks at its socket every poll_interval_ms: that bounds the
// delay of what it sends.)
//
// Settings (`config:` of the service):
//   max_queue_bytes   outbound bytes a member may have pending (default 262144)
//   poll_interval_ms  how often an idle member checks its socket (default 10)
#include <portico/portico.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
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

// One connected client, shared by its own thread (which drains the queue)
// and the threads of the others (which fill it).
class Member {
public:
    explicit Member(std::string address) : address_(std::move(address)) {}

    const std::string &address() const { return address_; }

    // Queues text for this member; false when that would exceed `limit`
    // (the member is then marked dropped and its queue is freed).
    bool offer(std::string_view text, std::size_t limit) {
        std::lock_guard lock(mutex_);
        if (dropped_) return false;
        if (pending_.size() + text.size() > limit) {
            dropped_ = true;
            pending_ = std::string();
            ready_.notify_one();
            return false;
        }
        pending_ += text;
        ready_.notify_one();
        return true;
    }
    // Waits until something is queued (or the member is dropped), at most `timeout`.
    void wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        ready_.wait_for(lock, timeout, [&] { return dropped_ || !pending_.empty(); });
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
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::string pending_;
    bool dropped_ = false;
};

// The room: who is in it, and delivery to everyone but the sender. An
// announcing room greets members and tells the others who came and went; a
// quiet one only logs it.
class Room : public portico::ServiceContext {
public:
    explicit Room(bool announce = true) : announce_(announce) {}

    void open() override {
        max_queue_ = setting(*this, "max_queue_bytes", 256 * 1024);
        poll_interval_ = std::chrono::milliseconds(setting(*this, "poll_interval_ms", 10));
    }

    std::chrono::milliseconds poll_interval() const { return poll_interval_; }

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
    std::chrono::milliseconds poll_interval_{10};
};

class QuietRoom : public Room {
public:
    QuietRoom() : Room(false) {}
};

// One member's connection, in turns: deliver what the others sent, then
// pass on what this member sent (pass_on, waiting at most a couple of ms).
template <class RoomType> class Membership : public portico::BasicStreamHandler<RoomType> {
public:
    // Waits for the others' lines on a condition variable (Member::wait):
    // a blocking wait outside Stream calls, so mode threads only.
    static constexpr bool may_block = true;

protected:
    using Base = portico::BasicStreamHandler<RoomType>;

    // Reads what the member sent within `wait` and broadcasts it; false at
    // end of stream; throws IoError(PORTICO_ERR_TIMEOUT) when nothing came.
    virtual bool pass_on(std::chrono::milliseconds wait) = 0;

    Member &member() { return *member_; }

private:
    void setup() override {
        member_ = std::make_shared<Member>(Base::stream().peer());
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
            try {
                if (!pass_on(std::chrono::milliseconds(2))) return; // 2: the host rounds down
            } catch (const portico::IoError &e) {
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                member_->wait(Base::context().poll_interval());
            }
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

// chat.chat: lines, each passed on as "[sender] line\n".
class ChatMember final : public Membership<Room> {
    bool pass_on(std::chrono::milliseconds wait) override {
        const auto line = stream().read_line(wait);
        if (!line) return false;
        std::string_view text = *line;
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
            text.remove_suffix(1);
        context().broadcast(member(), "[" + member().address() + "] " + std::string(text) + "\n");
        return true;
    }
};

// chat.relay: what arrived (the example's recv(1024)), passed on unchanged.
class RelayMember final : public Membership<QuietRoom> {
    bool pass_on(std::chrono::milliseconds wait) override {
        char buf[1024];
        const std::size_t n = stream().read(buf, sizeof buf, wait);
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
