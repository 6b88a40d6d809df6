// upper — line-oriented: answers each line with the same line in upper case,
// newline kept, until EOF. socketserver's one-recv example is socketserver.upper_once.
#include "portico/portico.hpp"

#include <cctype>
#include <string>

namespace {
class Upper : public portico::StreamHandler {
public:
    // Nothing else touches this connection's stack (docs/sdk.md).
    static constexpr bool stack_private = true;

private:
    void handle() override {
        std::string out;
        while (auto line = stream().read_line()) {
            out.assign(*line);
            for (char &c : out)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            stream().write_all(out);
        }
    }
};
} // namespace

PORTICO_PLUGIN("upper", "1.0.0", reg) {
    reg.stream<Upper>("upper");
}
