// proxy_header_fuzz.cpp — fuzz target for the host's PROXY protocol parser:
// whatever the bytes, it must decide within the input, explain every
// rejection, never decide on a strict prefix of a header, and what it accepts
// must re-serialize to a header that parses to the same thing.
#include "net/ProxyHeader.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using portico::host::ProxyHeader;
using portico::host::ProxyParse;

bool same(const ProxyHeader &a, const ProxyHeader &b, bool compare_tlvs) {
    if (a.command != b.command || a.family != b.family || a.source != b.source || a.destination != b.destination ||
        a.source_path != b.source_path || a.destination_path != b.destination_path)
        return false;
    if (!compare_tlvs) return true;
    // CRC32C values depend on the whole header's bytes, which may differ.
    std::size_t i = 0, j = 0;
    for (;; ++i, ++j) {
        while (i < a.tlvs.size() && a.tlvs[i].type == portico::host::proxy_tlv::crc32c)
            ++i;
        while (j < b.tlvs.size() && b.tlvs[j].type == portico::host::proxy_tlv::crc32c)
            ++j;
        if (i == a.tlvs.size() || j == b.tlvs.size()) return i == a.tlvs.size() && j == b.tlvs.size();
        if (!(a.tlvs[i] == b.tlvs[j])) return false;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    namespace ph = portico::host;
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    for (const std::size_t cap : {std::size_t{4096}, std::size_t{16 + 65535}}) {
        ph::ProxyOptions options;
        options.max_v2_bytes = cap;
        const ProxyParse result = ph::parse_proxy_header(input, options);
        switch (result.status) {
        case ProxyParse::Status::need_more:
            if (result.need == 0) std::abort();
            break;
        case ProxyParse::Status::invalid:
            if (result.error.empty()) std::abort();
            break;
        case ProxyParse::Status::complete: {
            if (result.consumed == 0 || result.consumed > size || result.consumed > cap) std::abort();
            // A strict prefix of what was accepted is never decided on.
            const std::size_t step = result.consumed > 256 ? result.consumed / 64 : 1;
            for (std::size_t n = 0; n < result.consumed; n += step)
                if (ph::parse_proxy_header(input.substr(0, n), options).status != ProxyParse::Status::need_more)
                    std::abort();
            const ProxyHeader &header = result.header;
            const std::string v2 = ph::serialize_proxy_v2(header);
            ph::ProxyOptions roomy;
            roomy.max_v2_bytes = 16 + 65535;
            const ProxyParse again = ph::parse_proxy_header(v2, roomy);
            if (again.status != ProxyParse::Status::complete || again.consumed != v2.size() ||
                !same(header, again.header,
                      header.command == ph::ProxyCommand::proxy && header.family != ph::ProxyFamily::unknown))
                std::abort();
            if (header.family == ph::ProxyFamily::tcp4 || header.family == ph::ProxyFamily::tcp6) {
                const std::string v1 = ph::serialize_proxy_v1(header);
                const ProxyParse text = ph::parse_proxy_header(v1);
                if (text.status != ProxyParse::Status::complete || !same(header, text.header, false)) std::abort();
            }
            break;
        }
        }
    }
    return 0;
}
