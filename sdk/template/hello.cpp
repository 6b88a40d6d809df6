// hello — the smallest useful Portico plugin: greets every line it gets.
// Bind it in portico.yaml with `handler: hello.hello`.
#include <portico/portico.hpp>

#include <string>

namespace {
class Hello : public portico::StreamHandler {
    void handle() override {
        const std::string greeting = context().config("greeting", "Hello");
        while (auto line = stream().read_line()) stream().write_all(greeting + ", " + std::string(*line));
    }
};
} // namespace

PORTICO_PLUGIN("hello", "1.0.0", reg) { reg.stream<Hello>("hello"); }
