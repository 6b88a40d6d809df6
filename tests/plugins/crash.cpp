// Test handler "crash.crash": answers lines upper-cased; on "abort" it
// calls abort(), on "segv" it writes through a null pointer, on "pid" it
// answers the id of the process serving it, on "version" its version. For
// mode: process, where a crash must take down only one worker.
#include "portico/portico.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

#include <unistd.h>

#ifndef CRASH_VERSION
#define CRASH_VERSION "1.0.0"
#endif

namespace {
class Crash : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line()) {
            std::string text(*line);
            while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
            if (text == "abort") std::abort();
            if (text == "segv") {
                // volatile: the compiler may not prove the write away or trap it at build time.
                int *volatile nowhere = nullptr;
                *nowhere = 1;
            }
            if (text == "pid") text = std::to_string(::getpid());
            else if (text == "version") text = CRASH_VERSION;
            else
                for (char &c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(text + "\n");
        }
    }
};
} // namespace

PORTICO_PLUGIN("crash", CRASH_VERSION, reg) { reg.stream<Crash>("crash"); }
