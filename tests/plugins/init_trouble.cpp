// Test plugin "troubled", built four times: handler "troubled.echo" answers
// each line as "<version> <line>". Built with INIT_SEGV its init writes
// through a null pointer, with INIT_HANG it never returns: for mode process,
// where such an init must kill only a check process, never the master.
#include "portico/portico.hpp"

#include <cstdint>
#include <string>

#include <unistd.h>

#ifndef TROUBLE_VERSION
#define TROUBLE_VERSION "1.0.0"
#endif

namespace {

class Echo : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line())
            stream().write_all(std::string(TROUBLE_VERSION) + " " + std::string(*line));
    }
};

#ifdef INIT_SEGV
// Read through a volatile: the compiler cannot prove the address is null,
// so it cannot drop the store as undefined behaviour.
volatile std::uintptr_t nowhere = 0;
#endif

} // namespace

PORTICO_PLUGIN("troubled", TROUBLE_VERSION, reg) {
#ifdef INIT_SEGV
    *reinterpret_cast<volatile int *>(nowhere) = 42;
#endif
#ifdef INIT_HANG
    for (;;)
        ::pause();
#endif
    reg.stream<Echo>("echo");
}
