// Test handler "crash.crash": answers lines upper-cased; on "abort" it
// calls abort(), on "segv" it writes through a null pointer, on "overflow"
// it recurses until its stack runs out, on "pid" it
// answers the id of the process serving it, on "version" its version. For
// mode: process, where a crash must take down only one worker, and for the
// crash report of modes threads and events.
#include "portico/portico.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

#include <unistd.h>

#ifndef CRASH_VERSION
#define CRASH_VERSION "1.0.0"
#endif

namespace {
// Each frame keeps a live buffer, so the recursion can be neither a loop nor
// a tail call; it ends only at the stack's guard page.
int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    if (depth < 0) return 0; // never: the stack runs out long before an int would
    return recurse(depth + 1) + frame[0];
}

class Crash : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line()) {
            std::string text(*line);
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                text.pop_back();
            if (text == "abort") std::abort();
            if (text == "segv") {
                // volatile: the compiler may not prove the write away or trap it at build time.
                int *volatile nowhere = nullptr;
                *nowhere = 1;
            }
            if (text == "overflow") text = std::to_string(recurse(0));
            if (text == "pid")
                text = std::to_string(::getpid());
            else if (text == "version")
                text = CRASH_VERSION;
            else
                for (char &c : text)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(text + "\n");
        }
    }
};
} // namespace

PORTICO_PLUGIN("crash", CRASH_VERSION, reg) {
    reg.stream<Crash>("crash");
}
