// StreamSession.h — one accepted TCP connection, run on a worker of its
// service's pool: pins the current handler binding, wraps the socket in a
// Connection and calls the plugin's handle() through it.
#pragma once

#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

namespace portico::host {

class TcpService;

class StreamSession : public Poco::Net::TCPServerConnection {
public:
    StreamSession(const Poco::Net::StreamSocket &socket, TcpService &service);
    void run() override;

private:
    TcpService &service_;
};

class StreamSessionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit StreamSessionFactory(TcpService &service) : service_(service) {}
    Poco::Net::TCPServerConnection *createConnection(const Poco::Net::StreamSocket &socket) override;

private:
    TcpService &service_;
};

} // namespace portico::host
