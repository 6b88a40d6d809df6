// poco_echo — the raw Poco baseline: Poco::Net::TCPServer with its own
// ThreadPool and the pool and queue settings Portico's echo service uses
// (threads min 2 / max 64, max_queued 64, TCP_NODELAY), a TCPServerConnection
// that sends every byte back. What Portico would be with no host around it.
//
//   poco_echo PORT [--max-threads N] [--max-queued N]
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace {

class Echo : public Poco::Net::TCPServerConnection {
public:
    using Poco::Net::TCPServerConnection::TCPServerConnection;
    void run() override {
        Poco::Net::StreamSocket &s = socket();
        s.setNoDelay(true);
        char buf[16 * 1024];
        try {
            for (;;) {
                const int n = s.receiveBytes(buf, sizeof buf);
                if (n <= 0) return;
                for (int off = 0; off < n;) off += s.sendBytes(buf + off, n - off);
            }
        } catch (const Poco::Exception &) {
            // The peer went away.
        }
    }
};

} // namespace

int main(int argc, char **argv) {
    int port = argc > 1 ? std::atoi(argv[1]) : 0;
    int max_threads = 64, max_queued = 64;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--max-threads") max_threads = std::atoi(argv[i + 1]);
        else if (arg == "--max-queued") max_queued = std::atoi(argv[i + 1]);
    }
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), 128);
    Poco::ThreadPool pool("poco_echo", 2, max_threads, 60);
    auto params = Poco::Net::TCPServerParams::Ptr(new Poco::Net::TCPServerParams);
    params->setMaxThreads(max_threads);
    params->setMaxQueued(max_queued);
    Poco::Net::TCPServer server(new Poco::Net::TCPServerConnectionFactoryImpl<Echo>, pool, socket, params);
    server.start();
    std::printf("listening on %s\n", socket.address().toString().c_str());
    std::fflush(stdout);
    pause();
}
