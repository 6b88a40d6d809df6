// Test plugin "stack_keeper": handlers "keeper" (declares stack_private) and
// "shared" (the same code without it). Each touches a deep stack first (a
// first request that needed one), keeps the line it is sent in stack locals
// and answers "held", waits for a second line as long as the client
// likes, then answers "<first line> intact" if its locals are unchanged:
// in mode events a parked "keeper" has its stack compacted meanwhile.
#include "portico/portico.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

// 16KiB of stack touched, then returned from: the pages stay resident until
// the host gives them back.
[[gnu::noinline]] int touch_deep() {
    volatile char deep[16 * 1024];
    for (std::size_t i = 0; i < sizeof deep; i += 512)
        deep[i] = static_cast<char>(i);
    return deep[512];
}

std::array<uint32_t, 128> mix(const char *token, std::size_t n) {
    std::array<uint32_t, 128> out{};
    uint32_t h = 2166136261u;
    for (uint32_t &word : out) {
        for (std::size_t i = 0; i < n; ++i)
            h = (h ^ static_cast<unsigned char>(token[i])) * 16777619u;
        word = h;
    }
    return out;
}

template <bool Private> class Keeper : public portico::StreamHandler {
public:
    static constexpr bool stack_private = Private;

private:
    void handle() override {
        touch_deep();
        const auto first = stream().read_line();
        if (!first) return;
        char token[128] = {};
        const std::size_t n = std::min(first->size() - (first->empty() ? 0 : 1), sizeof token - 1);
        std::memcpy(token, first->data(), n);
        const std::array<uint32_t, 128> kept = mix(token, n); // 512 bytes of locals to keep
        stream().write_all("held\n");
        if (!stream().read_line()) return; // the long wait
        const bool intact = kept == mix(token, n) && std::strlen(token) == n;
        stream().write_all(std::string(token, n) + (intact ? " intact\n" : " changed\n"));
    }
};

} // namespace

PORTICO_PLUGIN("stack_keeper", "1.0.0", reg) {
    reg.stream<Keeper<true>>("keeper");
    reg.stream<Keeper<false>>("shared");
}
