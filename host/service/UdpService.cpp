// UdpService.cpp — binding the datagram socket, the receive loop with its
// screening, and the step from a queued datagram to the plugin's handler.
#include "service/UdpService.h"

#include "net/Datagram.h"
#include "net/SocketOptions.h"
#include "net/UnixSocketFile.h"
#include "plugin/RunningCode.h"

#include <Poco/Logger.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr int kReceiveBuffer = 4 << 20;

DatagramWorkers::Params workers_of(const ServiceConfig &c) {
    const bool single = c.mode == ServiceMode::single;
    DatagramWorkers::Params params;
    params.name = c.name;
    params.min_threads = single ? 1 : c.threads.min;
    params.max_threads = single ? 1 : c.threads.max;
    params.idle = c.threads.idle;
    params.capacity = static_cast<std::size_t>(std::max(1, c.max_queued));
    params.stack_bytes = c.threads.stack_kib * 1024;
    return params;
}

constexpr std::string_view kUnbound = "an unbound unix: client";

// How logs name a sender.
std::string describe(const DatagramSender &sender) {
    return sender.unbound ? std::string(kUnbound) : datagram_sender_text(sender.address, false);
}

// A unix: sender's address is the path it bound. An unbound client (Linux
// then returns no address at all) or an abstract name (Poco cannot address
// one) has none: Poco refuses an empty path, so it is flagged instead.
DatagramSender sender_of(const sockaddr_storage &from, socklen_t from_len) {
    if (from_len > 0 && from.ss_family != AF_UNIX) {
        try {
            return {Poco::Net::SocketAddress(reinterpret_cast<const sockaddr *>(&from), from_len), false};
        } catch (const Poco::Exception &) {
            return {Poco::Net::SocketAddress(), true}; // no address Poco can send to
        }
    }
    const auto &un = reinterpret_cast<const sockaddr_un &>(from);
    const std::size_t offset = offsetof(sockaddr_un, sun_path);
    const std::size_t room = from_len > offset ? std::min<std::size_t>(from_len - offset, sizeof un.sun_path) : 0;
    const std::string path(un.sun_path, ::strnlen(un.sun_path, room));
    if (path.empty()) return {Poco::Net::SocketAddress(), true};
    return {Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path), false};
}

} // namespace

UdpService::UdpService(ServiceConfig config, std::shared_ptr<ServiceHandle> handle,
                       std::shared_ptr<HandlerBinding> binding)
    : Service(std::move(config), std::move(handle), std::move(binding)), allow_(this->config().allow),
      deny_(this->config().deny), inet_(this->config().listen.kind == ListenAddress::Kind::inet),
      limiter_(this->config().rate_limit), buffer_(this->config().max_datagram + 1) {}

UdpService::~UdpService() {
    stop_accepting();
    wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    workers_.reset();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    // Every reply has left; a unix: file goes with the socket (unless a
    // successor took it over).
    if (listener_fd() >= 0) close_listener();
}

Poco::Net::DatagramSocket UdpService::make_socket() const {
    const ServiceConfig &cfg = config();
    if (cfg.listen.kind == ListenAddress::Kind::unix_path) {
        // socketserver's UnixDatagramServer: replies go to each sender's own bound path.
        remove_stale_unix_socket(cfg.listen.path);
        Poco::Net::DatagramSocket socket(Poco::Net::SocketAddress::UNIX_LOCAL);
        socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, cfg.listen.path), false);
        set_unix_socket_mode(cfg.listen.path, cfg.unix_mode);
        return socket;
    }
    const Poco::Net::SocketAddress address(cfg.listen.host, cfg.listen.port);
    Poco::Net::DatagramSocket socket(address.family());
    if (address.family() == Poco::Net::SocketAddress::IPv6) {
        // As for TCP: [::] means IPv6 only, so an IPv4 service may share the port.
        socket.setOption(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    }
    socket.bind(address, cfg.reuse_address, cfg.reuse_port);
    // The default buffer (~200KiB) holds only a few hundred small datagrams
    // (each costs ~1KiB of skb overhead), so a receive thread descheduled for
    // a few ms on a busy machine loses a burst. Ask for more; the kernel caps
    // it at net.core.rmem_max.
    try {
        socket.setReceiveBufferSize(kReceiveBuffer);
    } catch (const Poco::Exception &) {
        // Keep the default: smaller, but still a working socket.
    }
    // After the host's own choices, so the operator's win.
    if (const std::string failed =
            apply_socket_options(socket.impl()->sockfd(), cfg.socket_options, SocketOptionTarget::listener);
        !failed.empty())
        throw std::runtime_error("service '" + cfg.name + "': " + failed);
    return socket;
}

void UdpService::start() {
    const ServiceConfig &cfg = config();
    socket_ = Poco::Net::DatagramSocket(open_listener([this] { return make_socket(); }));
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error("service '" + cfg.name + "': eventfd failed: " + std::strerror(errno));
    workers_ = std::make_unique<DatagramWorkers>(workers_of(cfg), [this](DatagramJob &job) { run_handler(job); });
    receiving_ = true;
    receiver_ = std::thread([this] { receive_loop(); });
}

void UdpService::stop_accepting() {
    std::lock_guard lock(stop_mutex_);
    if (!receiver_.joinable()) return;
    receiving_ = false;
    const uint64_t one = 1;
    // The loop sleeps in poll() on the socket and this fd; writing wakes it.
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
    receiver_.join();
}

void UdpService::receive_loop() {
    const std::string thread_name = name().substr(0, 10) + ":recv";
    pthread_setname_np(pthread_self(), thread_name.c_str());
    const int fd = socket_.impl()->sockfd();
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    sockaddr_storage from{};
    while (receiving_) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
            handle()->logger.error("service '%s': poll failed: %s; no more datagrams are received", name(),
                                   std::string(std::strerror(errno)));
            return;
        }
        // Drain what is ready before polling again: one wake-up per burst.
        while (receiving_) {
            // Zeroed each time: an unbound unix: sender fills in no path, and
            // must not inherit the previous sender's.
            from = {};
            socklen_t from_len = sizeof from;
            // MSG_TRUNC: Linux returns the datagram's real size even when it
            // did not fit, so the log can say how large it was.
            const ssize_t n = ::recvfrom(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC,
                                         reinterpret_cast<sockaddr *>(&from), &from_len);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                uint64_t suppressed = 0;
                if (error_log_.allow(LogThrottle::Clock::now(), &suppressed))
                    handle()->logger.warning("service '%s': receive failed: %s (%Lu more not logged)", name(),
                                             std::string(std::strerror(errno)), static_cast<Poco::UInt64>(suppressed));
                break;
            }
            const DatagramSender sender = sender_of(from, from_len);
            const auto size = static_cast<std::size_t>(n);
            dispatch(std::string_view(buffer_.data(), std::min(size, buffer_.size())), size, sender);
        }
    }
}

bool UdpService::permitted(const DatagramSender &sender) {
    // As for a unix: stream service, a unix: sender has no IP: the file's mode guards it.
    if (!inet_) return true;
    const Poco::Net::IPAddress ip = sender.address.host();
    if (deny_.contains(ip)) return false;
    return allow_.empty() || allow_.contains(ip);
}

void UdpService::drop(const char *reason, const DatagramSender &sender, LogThrottle &throttle,
                      std::string_view detail) {
    uint64_t suppressed = 0;
    if (!throttle.allow(LogThrottle::Clock::now(), &suppressed)) return;
    std::string text = "service '" + name() + "': dropped a datagram from " + describe(sender) + ": " + reason;
    if (!detail.empty()) text += " " + std::string(detail);
    if (suppressed > 0) text += " (" + std::to_string(suppressed) + " more such drops not logged)";
    handle()->logger.warning(text);
}

void UdpService::dispatch(std::string_view data, std::size_t size, const DatagramSender &sender) {
    ServiceCounters &counters = this->counters();
    if (!permitted(sender)) {
        counters.count_refusal(RefusalReason::allow_deny);
        drop("source not allowed", sender, denied_log_, "(allow/deny)");
        return;
    }
    if (size > config().max_datagram) {
        counters.count_drop(DropReason::oversized);
        drop("too large", sender, oversized_log_,
             "(" + std::to_string(size) + " bytes, max_datagram is " + std::to_string(config().max_datagram) + ")");
        return;
    }
    if (inet_ && !limiter_.allow(sender.address.host(), LogThrottle::Clock::now())) {
        counters.count_refusal(RefusalReason::rate_limit);
        drop("rate limit", sender, rate_log_,
             "(rate_limit.per_second " + std::to_string(config().rate_limit.per_second) + ")");
        return;
    }
    counters.bytes_in += size;
    // Resolved per datagram, here at arrival: this datagram keeps this plugin
    // version however long it waits in the queue and whatever reloads happen.
    DatagramJob job{std::string(data), sender, binding()};
    // portico --once: this datagram is the one; the receive loop ends here.
    if (config().once) receiving_ = false;
    if (!workers_->try_submit(job)) {
        counters.count_drop(DropReason::queue_full);
        drop("queue full", sender, queue_log_,
             "(all " + std::to_string(config().threads.max) + " workers busy, max_queued " +
                 std::to_string(config().max_queued) + " waiting)");
    }
}

void UdpService::run_handler(DatagramJob &job) {
    ServiceCounters &counters = this->counters();
    portico_datagram datagram;
    datagram.data = job.data.data();
    datagram.size = job.data.size();
    datagram.sender = job.sender.address;
    datagram.sender_unbound = job.sender.unbound;
    datagram.socket = &socket_;
    datagram.service = &job.binding->service();
    ++counters.active;
    const auto started = std::chrono::steady_clock::now();
    int rc;
    {
        const PluginVersion &version = job.binding->version();
        const RunningCodeScope running(name(), version.plugin_name(), version.plugin_version(), version.generation(),
                                       version.plugin_name() + "." + job.binding->handler().name, describe(job.sender));
        rc = job.binding->handle_datagram(&datagram);
    }
    counters.session_duration.record(std::chrono::steady_clock::now() - started);
    --counters.active;
    ++counters.datagrams;
    counters.bytes_out += datagram.bytes_out;
    if (rc == PORTICO_ERR_HANDLER || rc == PORTICO_ERR_INVALID) ++counters.handler_errors;
    if (datagram.reply_unaddressable) unaddressable_reply();
}

void UdpService::unaddressable_reply() {
    counters().count_drop(DropReason::unaddressable_reply);
    // Once per service: the cause is the client's code, and the counter
    // (dropped_by unaddressable_reply) says how often it recurs.
    if (unaddressable_logged_.exchange(true)) return;
    handle()->logger.warning("service '%s': served a datagram from a unix: client that bound no path of its own, "
                             "so the reply could not be sent; the client must bind its socket to a path before "
                             "sending, as with socketserver's UnixDatagramServer (counted as dropped "
                             "unaddressable_reply; logged once)",
                             name());
}

bool UdpService::wait_sessions(std::chrono::steady_clock::time_point deadline) {
    return !workers_ || workers_->wait_idle(deadline);
}

void UdpService::close_sessions() {
    if (!workers_) return;
    counters().count_drop(DropReason::discarded, workers_->discard_queued([](const DatagramJob &) { return true; }));
}

std::size_t UdpService::close_sessions_replaced_by(std::chrono::steady_clock::time_point replaced_by) {
    if (!workers_) return 0;
    const std::size_t dropped =
        workers_->discard_queued([&](const DatagramJob &job) { return job.binding->replaced_at() <= replaced_by; });
    counters().count_drop(DropReason::discarded, dropped);
    return dropped;
}

std::map<uint64_t, std::size_t> UdpService::sessions_by_generation() {
    return workers_ ? workers_->jobs_by_generation() : std::map<uint64_t, std::size_t>{};
}

} // namespace portico::host
