// Test plugin "flip", build A: handler "reply" answers each line with
// "A <line>". flip_b.cpp is the same plugin answering "B <line>"; the hot
// reload tests swap one file for the other under load and check that every
// reply, and every connection, comes from exactly one of them.
#include "portico/portico.hpp"

#include <string>

namespace {
class Reply : public portico::StreamHandler {
    void handle() override {
        std::string out;
        while (auto line = stream().read_line()) {
            out.assign("A ");
            out.append(*line);
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("flip", "A", reg) { reg.stream<Reply>("reply"); }
