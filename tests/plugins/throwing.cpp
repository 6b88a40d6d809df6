// Test handler "throwing.boom": echoes lines upper-cased, but throws on the
// line "boom" and dereferences nothing — the host must survive the throw.
#include "portico/portico.hpp"

#include <cctype>
#include <stdexcept>
#include <string>

namespace {
class Boom : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line()) {
            if (line->substr(0, 4) == "boom") throw std::runtime_error("boom requested by client");
            std::string out(*line);
            for (char &c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("throwing", "1.0", reg) { reg.stream<Boom>("boom"); }
