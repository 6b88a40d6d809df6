// RegistrarMinorTest.cpp — the host reads a handler descriptor's minor 2
// fields (traits, verify_request) only when the plugin was built for minor 2
// and the descriptor's size covers them; a datagram handler may not have a
// verify_request.
#include "plugin/Registrar.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

namespace {

int handle(void *, void *, portico_conn *) {
    return PORTICO_OK;
}
int handle_dgram(void *, void *, portico_datagram *) {
    return PORTICO_OK;
}
int verify(void *, void *, const char *, const char *, char *, size_t) {
    return PORTICO_OK;
}

portico_handler_desc stream_desc() {
    portico_handler_desc desc{};
    desc.size = sizeof desc;
    desc.kind = PORTICO_HANDLER_STREAM;
    desc.name = "h";
    desc.handle_stream = &handle;
    desc.traits = PORTICO_TRAIT_BLOCKING;
    desc.verify_request = &verify;
    return desc;
}

TEST(RegistrarMinor, AMinor2PluginKeepsItsTraitsAndVerifyRequest) {
    portico_registrar reg;
    reg.plugin_minor = 2;
    const portico_handler_desc desc = stream_desc();
    ASSERT_EQ(portico::host::registrar_add(&reg, &desc), PORTICO_OK) << reg.failure;
    ASSERT_EQ(reg.handlers.size(), 1u);
    EXPECT_EQ(reg.handlers[0].desc.traits, static_cast<uint32_t>(PORTICO_TRAIT_BLOCKING));
    EXPECT_EQ(reg.handlers[0].desc.verify_request, &verify);
}

TEST(RegistrarMinor, APluginThatSaysMinor1HasNone) {
    portico_registrar reg;
    reg.plugin_minor = 1;
    const portico_handler_desc desc = stream_desc();
    ASSERT_EQ(portico::host::registrar_add(&reg, &desc), PORTICO_OK) << reg.failure;
    EXPECT_EQ(reg.handlers[0].desc.traits, 0u);
    EXPECT_EQ(reg.handlers[0].desc.verify_request, nullptr);
}

TEST(RegistrarMinor, BytesPastAMinor1DescriptorsSizeAreNeverRead) {
    portico_registrar reg;
    reg.plugin_minor = 2;
    // What a minor-1 plugin's memory may hold after its descriptor: garbage.
    portico_handler_desc desc = stream_desc();
    std::memset(&desc.traits, 0xA5, sizeof desc - offsetof(portico_handler_desc, traits));
    desc.size = offsetof(portico_handler_desc, traits);
    ASSERT_EQ(portico::host::registrar_add(&reg, &desc), PORTICO_OK) << reg.failure;
    EXPECT_EQ(reg.handlers[0].desc.traits, 0u);
    EXPECT_EQ(reg.handlers[0].desc.verify_request, nullptr);
}

TEST(RegistrarMinor, ADatagramHandlerWithVerifyRequestIsRefused) {
    portico_registrar reg;
    reg.plugin_minor = 2;
    portico_handler_desc desc = stream_desc();
    desc.kind = PORTICO_HANDLER_DATAGRAM;
    desc.handle_stream = nullptr;
    desc.handle_datagram = &handle_dgram;
    EXPECT_EQ(portico::host::registrar_add(&reg, &desc), PORTICO_ERR_INVALID);
    EXPECT_NE(reg.failure.find("verify_request"), std::string::npos) << reg.failure;
}

} // namespace
