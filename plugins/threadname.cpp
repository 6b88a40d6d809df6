// threadname — line-oriented: answers each line with "<worker thread name>:
// <line>", showing which worker served it (the tests use it so); the
// ThreadingMixIn example itself is socketserver.threadname_once.
#include "portico/portico.hpp"

#include <pthread.h>

#include <string>

namespace {
class ThreadName : public portico::StreamHandler {
    void handle() override {
        char name[32] = "?";
        pthread_getname_np(pthread_self(), name, sizeof name);
        while (auto line = stream().read_line())
            stream().write_all(std::string(name) + ": " + std::string(*line));
    }
};
} // namespace

PORTICO_PLUGIN("threadname", "1.0.0", reg) {
    reg.stream<ThreadName>("threadname");
}
