// chat — a group chat room per bound service (socketserver seed 003): every
// line a member sends goes to every other member, prefixed with the sender's
// address.
//
// Each member's own handler thread is the only one that writes to its
// socket. Others never touch it: they append to the member's bounded
// outbound queue and wake its thread, which flushes the queue and checks its
// socket for input (1 ms) in turns. So a member whose socket is slow only
// ever blocks itself; when its queue overflows it is dropped from the room
// and disconnected. (The SDK cannot wait on a socket and a queue at once, so
// an idle member looks at its socket every poll_interval_ms: that bounds the
// delay of a line it sends.)
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

// The room: who is in it, and delivery to everyone but the sender.
class Room : public portico::ServiceContext {
public:
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
        member->offer("* welcome " + member->address() + ", " + std::to_string(count) + " online\n", max_queue_);
        broadcast(*member, "* " + member->address() + " joined\n");
    }

    void leave(const Member &member, std::string_view why) {
        if (remove(member)) broadcast(member, "* " + member.address() + " left" + std::string(why) + "\n");
    }

    // Queues text for every member but `from`; members whose queue
    // overflows are dropped from the room, and the others are told.
    void broadcast(const Member &from, const std::string &text) {
        std::vector<std::shared_ptr<Member>> overflowed;
        {
            std::lock_guard lock(mutex_);
            for (const auto &member : members_)
                if (member.get() != &from && !member->offer(text, max_queue_)) overflowed.push_back(member);
        }
        for (const auto &member : overflowed) leave(*member, " (too slow to keep up)");
    }

private:
    bool remove(const Member &member) {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(members_.begin(), members_.end(), [&](const auto &m) { return m.get() == &member; });
        if (it == members_.end()) return false;
        members_.erase(it);
        return true;
    }

    std::mutex mutex_;
    std::vector<std::shared_ptr<Member>> members_;
    std::size_t max_queue_ = 0;
    std::chrono::milliseconds poll_interval_{10};
};

class ChatMember : public portico::BasicStreamHandler<Room> {
    void setup() override {
        member_ = std::make_shared<Member>(stream().peer());
        context().join(member_);
    }

    void handle() override {
        for (;;) {
            flush();
            if (member_->dropped()) {
                stream().close();
                return;
            }
            if (stream().stopping()) return;
            std::optional<std::string_view> line;
            try {
                line = stream().read_line(std::chrono::milliseconds(2)); // 2: the host rounds down
            } catch (const portico::IoError &e) {
                if (e.status() != PORTICO_ERR_TIMEOUT) throw;
                member_->wait(context().poll_interval());
                continue;
            }
            if (!line) return;
            std::string_view text = *line;
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
            context().broadcast(*member_, "[" + member_->address() + "] " + std::string(text) + "\n");
        }
    }

    void finish() override {
        if (member_) context().leave(*member_, "");
    }

    void flush() {
        const std::string pending = member_->take();
        if (!pending.empty()) stream().write_all(pending);
    }

    std::shared_ptr<Member> member_;
};

} // namespace

PORTICO_PLUGIN("chat", "1.0.0", reg) { reg.stream<ChatMember>("chat"); }
