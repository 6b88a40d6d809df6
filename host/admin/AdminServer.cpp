// AdminServer.cpp — Poco's HTTPServer around route_admin_request(): parse the
// URI, call the router, write the reply. A failure inside an endpoint becomes
// a 500 with the reason, never an exception on Poco's worker thread.
#include "admin/AdminServer.h"

#include "admin/AdminAuth.h"
#include "admin/AdminEndpoints.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <stdexcept>

namespace portico::host {
namespace {

Poco::Logger &admin_log() {
    return Poco::Logger::get("portico.admin");
}

AdminRequest to_admin_request(Poco::Net::HTTPServerRequest &request) {
    AdminRequest out;
    out.method = request.getMethod();
    const Poco::URI uri(request.getURI());
    out.path = uri.getPath().empty() ? "/" : uri.getPath();
    for (const auto &[key, value] : uri.getQueryParameters())
        out.query[key] = value;
    out.authorization = request.get("Authorization", "");
    return out;
}

class AdminRequestHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit AdminRequestHandler(AdminContext &context) : context_(context) {}

    void handleRequest(Poco::Net::HTTPServerRequest &request, Poco::Net::HTTPServerResponse &response) override {
        AdminReply reply;
        try {
            reply = route_admin_request(context_, to_admin_request(request));
        } catch (const Poco::Exception &e) {
            reply = text_reply(500, "admin endpoint failed: " + e.displayText() + "\n");
        } catch (const std::exception &e) {
            reply = text_reply(500, std::string("admin endpoint failed: ") + e.what() + "\n");
        }
        if (reply.status >= 500)
            admin_log().error("%s %s: %s", request.getMethod(), request.getURI(), reply.body);
        else if (admin_log().debug())
            admin_log().debug("%s %s from %s: %d", request.getMethod(), request.getURI(),
                              request.clientAddress().toString(), reply.status);
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
        response.setContentType(reply.content_type);
        response.set("Cache-Control", "no-store");
        for (const auto &[name, value] : reply.headers)
            response.set(name, value);
        response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
        std::ostream &out = response.send();
        if (request.getMethod() != "HEAD") out << reply.body;
    }

private:
    AdminContext &context_;
};

class AdminHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit AdminHandlerFactory(AdminContext &context) : context_(context) {}
    Poco::Net::HTTPRequestHandler *createRequestHandler(const Poco::Net::HTTPServerRequest &) override {
        // Poco's contract: the server takes ownership of the raw pointer.
        return new AdminRequestHandler(context_);
    }

private:
    AdminContext &context_;
};

bool is_loopback(const std::string &host) {
    return host == "localhost" || host == "::1" || host.starts_with("127.");
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
            if (listen.is_v6())
                socket.bind6(address, true, false, true);
            else
                socket.bind(address, true);
        }
        socket.listen(64);
    } catch (const Poco::Exception &e) {
        throw std::runtime_error("admin: cannot listen on " + listen.to_string() + ": " + e.displayText() + " (" +
                                 config.listen_pos.to_string() + ")");
    }
    return socket;
}

} // namespace

AdminServer::AdminServer(Host &host, const AdminConfig &config, std::optional<Poco::Net::ServerSocket> inherited)
    : context_(std::make_unique<AdminContext>(host, effective_admin_token(config))) {
    if (!config.listen) throw std::logic_error("AdminServer needs admin.listen");
    Poco::Net::ServerSocket socket = inherited ? *inherited : bind_admin(config);
    socket_ = socket;
    const ListenAddress &listen = *config.listen;
    address_ = listen.kind == ListenAddress::Kind::unix_path ? listen.to_string() : socket.address().toString();
    if (context_->token.empty() && listen.kind == ListenAddress::Kind::inet && !is_loopback(listen.host) &&
        !listen.host.empty())
        admin_log().warning("admin listens on %s without a token: anyone who can reach it can reload; set "
                            "admin.token or $%s",
                            address_, std::string(kAdminTokenEnv));

    auto params = Poco::Net::HTTPServerParams::Ptr(new Poco::Net::HTTPServerParams);
    params->setMaxThreads(4);
    params->setMaxQueued(32);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(100);
    params->setKeepAliveTimeout(Poco::Timespan(5, 0));
    params->setTimeout(Poco::Timespan(10, 0));
    params->setServerName("portico");
    // Its own pool: never Poco's shared default pool, which plugins' code could also use.
    pool_ = std::make_unique<Poco::ThreadPool>("admin", 1, 4, 60);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new AdminHandlerFactory(*context_), *pool_, socket, params);
}

AdminServer::~AdminServer() {
    stop();
}

void AdminServer::start() {
    server_->start();
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
    // stopAll(true) also aborts keep-alive connections, so no worker outlives us.
    server_->stopAll(true);
    server_.reset();
    pool_->joinAll();
}

void AdminServer::stop_accepting() {
    if (stopped_ || !server_) return;
    // Not stopAll(): that would abort the connection the upgrade request
    // itself is answered on.
    server_->stop();
}

std::string AdminServer::address() const {
    return address_;
}

} // namespace portico::host
