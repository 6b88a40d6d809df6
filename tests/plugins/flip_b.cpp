// Test plugin "flip", build B: handler "reply" answers each line with
// "B <line>". flip_a.cpp is the same plugin answering "A <line>"; the hot
// reload tests swap one file for the other under load and check that every
// reply, and every connection, comes from exactly one of them.
#include "portico/portico.hpp"

#include <string>

namespace {
class Reply : public portico::StreamHandler {
    void handle() override {
        std::string out;
        while (auto line = stream().read_line()) {
            out.assign("B ");
            out.append(*line);
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("flip", "B", reg) { reg.stream<Reply>("reply"); }
