// StreamSession.h — one accepted TCP connection from admission to the
// plugin's handle(): pins the current handler binding, wraps the socket in
// a Connection, runs the TLS handshake and the handler, and records what
// happened. Mode threads runs it on a worker of the service's pool (the
// Poco connection below); mode events on a fiber (EventSession.h).
#pragma once

#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

namespace portico::host {

class IoWait;
class StreamService;

// Serves one admitted connection on the calling thread or fiber; `wait` as
// for Connection (nullptr: wait on this thread). Frees the connection's
// admission slot however it ends.
void run_stream_session(StreamService &service, const Poco::Net::StreamSocket &socket, IoWait *wait);

class StreamSession : public Poco::Net::TCPServerConnection {
public:
    StreamSession(const Poco::Net::StreamSocket &socket, StreamService &service);
    void run() override;

private:
    StreamService &service_;
};

class StreamSessionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit StreamSessionFactory(StreamService &service) : service_(service) {}
    Poco::Net::TCPServerConnection *createConnection(const Poco::Net::StreamSocket &socket) override;

private:
    StreamService &service_;
};

} // namespace portico::host
