// AdminServer.cpp — binds admin.listen and runs AdminLoop around
// route_admin_request(): turns a parsed request into an AdminRequest, routes
// it, writes the reply. A failure inside an endpoint becomes a 500 with the
// reason, never an exception on a loop or worker thread.
#include "admin/AdminServer.h"

#include "admin/AdminAuth.h"
#include "admin/AdminEndpoints.h"
#include "admin/AdminHttp.h"
#include "admin/AdminLoop.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include <stdexcept>

#include <unistd.h>

namespace portico::host {
namespace {

Poco::Logger &admin_log() {
    return Poco::Logger::get("portico.admin");
}

// The decoded path of a request target, without a trailing slash; nullopt
// when the target is not a valid URI.
std::optional<std::string> route_path(const std::string &target) {
    try {
        std::string path = Poco::URI(target).getPath();
        if (path.empty()) path = "/";
        if (path.size() > 1 && path.ends_with('/')) path.pop_back();
        return path;
    } catch (const Poco::Exception &) {
        return std::nullopt;
    }
}

// Probes, the page and every refusal are answered on the loop thread; what
// reads a snapshot or reloads goes to a worker.
bool is_quick(const HttpRequestHead &head) {
    const auto path = route_path(head.target);
    return !path || (*path != "/status" && *path != "/metrics" && *path != "/reload" && *path != "/upgrade");
}

AdminReply reply_for(AdminContext &context, const HttpRequestHead &head) {
    if (head.minor_version >= 1 && !head.header("host") && context.check_host)
        return text_reply(400, "missing Host header (HTTP/1.1 requires it)\n");
    AdminRequest request;
    request.method = head.method;
    try {
        const Poco::URI uri(head.target);
        request.path = uri.getPath().empty() ? "/" : uri.getPath();
        for (const auto &[key, value] : uri.getQueryParameters())
            request.query[key] = value;
    } catch (const Poco::Exception &) {
        return text_reply(400, "bad request target: not a valid URI\n");
    }
    request.authorization = head.header("authorization").value_or("");
    request.host = head.header("host");
    request.origin = head.header("origin");
    return route_admin_request(context, request);
}

std::string respond(AdminContext &context, const HttpRequestHead &head, const std::string &peer) {
    AdminReply reply;
    try {
        reply = reply_for(context, head);
    } catch (const Poco::Exception &e) {
        reply = text_reply(500, "admin endpoint failed: " + e.displayText() + "\n");
    } catch (const std::exception &e) {
        reply = text_reply(500, std::string("admin endpoint failed: ") + e.what() + "\n");
    }
    // A 503 from /ready is an answer, not a failure: a balancer asks it
    // every few hundred ms while the host starts or drains.
    if (reply.status >= 500 && reply.status != 503)
        admin_log().error("%s %s from %s: %s", head.method, printable_excerpt(head.target), peer, reply.body);
    else if (admin_log().debug())
        admin_log().debug("%s %s from %s: %d", head.method, printable_excerpt(head.target), peer, reply.status);
    std::vector<std::pair<std::string, std::string>> headers{
        {"Content-Type", reply.content_type}, {"Cache-Control", "no-store"}, {"Server", "portico"}};
    headers.insert(headers.end(), reply.headers.begin(), reply.headers.end());
    return http_response_bytes(reply.status, headers, reply.body, head.method == "HEAD");
}

Poco::Net::ServerSocket bind_admin(const AdminConfig &config) {
    const ListenAddress &listen = *config.listen;
    Poco::Net::ServerSocket socket;
    try {
        if (listen.kind == ListenAddress::Kind::unix_path) {
            socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, listen.path), false);
        } else {
            const std::string host = listen.host.empty() ? "127.0.0.1" : listen.host;
            const Poco::Net::SocketAddress address(host, listen.port);
            // SO_REUSEADDR only (restarts past TIME_WAIT); SO_REUSEPORT would
            // let a second host share the port and answer half the requests.
            if (listen.is_v6())
                socket.bind6(address, true, false, true);
            else
                socket.bind(address, true, false);
        }
        socket.listen(128);
    } catch (const Poco::Exception &e) {
        throw std::runtime_error("admin: cannot listen on " + listen.to_string() + ": " + e.displayText() + " (" +
                                 config.listen_pos.to_string() +
                                 "; is another portico running with this admin.listen?)");
    }
    socket.setBlocking(false);
    return socket;
}

} // namespace

AdminServer::AdminServer(Host &host, const AdminConfig &config, std::optional<Poco::Net::ServerSocket> inherited,
                         bool owns_file)
    : context_(std::make_unique<AdminContext>(host, effective_admin_token(config))) {
    if (!config.listen) throw std::logic_error("AdminServer needs admin.listen");
    socket_ = std::make_unique<Poco::Net::ServerSocket>(inherited ? *inherited : bind_admin(config));
    // AdminLoop accepts until EAGAIN: a passed socket may still block.
    socket_->setBlocking(false);
    const ListenAddress &listen = *config.listen;
    if (listen.kind == ListenAddress::Kind::unix_path && owns_file) unix_path_ = listen.path;
    address_ = listen.kind == ListenAddress::Kind::unix_path ? listen.to_string() : socket_->address().toString();
    context_->host_names = config.hosts;
    context_->check_host = listen.kind != ListenAddress::Kind::unix_path;
    AdminContext &context = *context_;
    AdminResponder responder{is_quick, [&context](const HttpRequestHead &head, const std::string &peer) {
                                 return respond(context, head, peer);
                             }};
    loop_ = std::make_unique<AdminLoop>(socket_->impl()->sockfd(), std::move(responder));
}

AdminServer::~AdminServer() {
    stop();
}

void AdminServer::start() {
    loop_->start();
    context_->accepting = true;
    admin_log().information("admin listening on %s%s", address_,
                            std::string(context_->token.empty() ? "" : " (bearer token required)"));
}

void AdminServer::set_not_ready() {
    context_->accepting = false;
}

void AdminServer::stop() {
    if (stopped_) return;
    stopped_ = true;
    context_->accepting = false;
    loop_->stop();
    socket_->close();
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void AdminServer::stop_accepting() {
    context_->accepting = false;
    unix_path_.clear(); // the successor serves on that file now
    loop_->stop_accepting();
}

std::string AdminServer::address() const {
    return address_;
}

} // namespace portico::host
