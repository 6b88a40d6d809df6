// Plugin "gnu_unique" built like a plugin outside the SDK's helper: default
// visibility and no -fno-gnu-unique, so the static inside the inline
// function below becomes an STB_GNU_UNIQUE symbol and the library can never
// be unloaded. The host warns at load (refuses with plugins.strict).
#include "portico/portico.hpp"

#include <string>

inline long &lines_served() {
    static long count = 0;
    return count;
}

namespace {

class Count : public portico::StreamHandler {
    void handle() override {
        while (auto line = stream().read_line())
            stream().write_all(std::to_string(++lines_served()) + "\n");
    }
};

} // namespace

PORTICO_PLUGIN("gnu_unique", "1.0", reg) {
    reg.stream<Count>("count");
}
