// ProxyStage.cpp — from the service's proxy_protocol settings to a read
// header, and from the header to the client's admission.
#include "service/ProxyStage.h"

#include "net/ProxyHeaderRead.h"
#include "service/HandlerBinding.h"
#include "service/StreamService.h"
#include "service/VerifyRequest.h"

namespace portico::host {
namespace {

ProxyVersions versions_of(ProxyProtocol protocol) {
    switch (protocol) {
    case ProxyProtocol::v1:
        return ProxyVersions::v1;
    case ProxyProtocol::v2:
        return ProxyVersions::v2;
    default:
        return ProxyVersions::any;
    }
}

std::string peer_of(const Poco::Net::StreamSocket &socket) {
    try {
        return socket.peerAddress().toString();
    } catch (const Poco::Exception &) {
        return "a peer already gone";
    }
}

} // namespace

std::optional<ProxiedPeer> run_proxy_stage(StreamService &service, const Poco::Net::StreamSocket &socket,
                                           Admission::Ticket &ticket, IoWait &wait) {
    const ServiceConfig &config = service.config();
    ProxyOptions options;
    options.versions = versions_of(config.proxy_protocol);
    const std::string proxy = peer_of(socket);
    const ProxyRead read =
        read_proxy_header(socket.impl()->sockfd(), wait, options, IoWait::Clock::now() + config.proxy_timeout);
    if (read.status != ProxyRead::Status::complete) {
        service.admission().refuse_header(socket, proxy,
                                          read.error + " (proxy_protocol is on: a load balancer must send the "
                                                       "header first)");
        return std::nullopt;
    }
    ProxiedPeer peer;
    const std::optional<Poco::Net::SocketAddress> &source = read.header.source;
    const bool names_client = read.header.command == ProxyCommand::proxy && source.has_value();
    if (names_client) {
        peer.client = source->toString();
        peer.proxy = proxy;
    }
    if (config.listen.kind != ListenAddress::Kind::inet && !names_client) return peer;
    Poco::Net::SocketAddress client;
    try {
        client = names_client ? *source : socket.peerAddress();
    } catch (const Poco::Exception &) {
        return std::nullopt; // the proxy went away: nothing to serve
    }
    if (!service.admission().admit_client(ticket, socket, client, peer.proxy)) return std::nullopt;
    if (const std::shared_ptr<HandlerBinding> binding = service.binding(); binding->verifies_requests()) {
        std::string local;
        try {
            local = socket.address().toString();
        } catch (const Poco::Exception &) {
            return std::nullopt;
        }
        if (!verify_request(service, *binding, socket, client.toString(), local)) return std::nullopt;
    }
    return peer;
}

} // namespace portico::host
