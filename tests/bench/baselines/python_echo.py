"""python_echo — the seeds' design: socketserver.ThreadingTCPServer with a
StreamRequestHandler that sends every byte back (one thread per connection).

    python3 python_echo.py PORT      (0 picks a free port; the bound one is printed)
"""
import socket
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        while True:
            data = self.request.recv(16384)
            if not data:
                return
            self.request.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Echo) as server:
        print("listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
        server.serve_forever()
