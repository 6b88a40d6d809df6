// Tests of host/plugin/PluginLoader and Registrar: one real plugin file per
// refusal, each checked for its exact sentence and for leaving nothing behind.
#include "plugin/PluginLoader.h"

#include "plugin/MappingCheck.h"
#include "plugin/Registrar.h"

#include "PluginTestSupport.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

namespace portico::host {
namespace {

using namespace plugin_test;

class PluginLoader : public ::testing::Test {
protected:
    // Loads `file` and expects a refusal; checks that no shadow copy is left
    // and nothing of the shadow dir is mapped.
    std::string refusal(const fs::path &file) {
        auto result = load_plugin_version(file, shadow.path(), ++generation, test_host_api());
        EXPECT_EQ(result.version, nullptr);
        EXPECT_TRUE(files_in(shadow.path()).empty());
        for (const auto &mapped : mapped_files())
            EXPECT_NE(mapped.rfind(shadow.path().string(), 0), 0u) << mapped << " is still mapped";
        return result.error;
    }
    fs::path copy_in(const std::string &test_plugin_name, const std::string &as) {
        const auto to = plugins / as;
        copy_plugin(test_plugin(test_plugin_name), to);
        return to;
    }

    TempDir plugins;
    TempDir shadow;
    uint64_t generation = 0;
};

TEST_F(PluginLoader, LoadsAGoodPluginFromAFreshShadowCopy) {
    const auto file = copy_in("throwing", "throwing.so");
    auto result = load_plugin_version(file, shadow.path(), 7, test_host_api());
    ASSERT_NE(result.version, nullptr) << result.error;
    const auto &v = *result.version;
    EXPECT_EQ(v.plugin_name(), "throwing");
    EXPECT_EQ(v.plugin_version(), "1.0");
    EXPECT_EQ(v.generation(), 7u);
    EXPECT_EQ(v.source_file(), file);
    EXPECT_EQ(v.shadow_file(), shadow.path() / "throwing.7.so");
    const std::string bytes = read_file(file);
    EXPECT_EQ(v.sha256(), sha256_hex(bytes.data(), bytes.size()));
    EXPECT_EQ(v.sha256().size(), 64u);
    EXPECT_TRUE(fs::exists(v.shadow_file()));
    EXPECT_TRUE(is_mapped(v.shadow_file()));
    EXPECT_FALSE(is_mapped(file)) << "the plugin file itself must never be dlopen'ed";

    ASSERT_EQ(v.handlers().size(), 1u);
    const HandlerEntry *boom = v.find_handler("boom");
    ASSERT_NE(boom, nullptr);
    EXPECT_EQ(boom->kind, PORTICO_HANDLER_STREAM);
    EXPECT_STREQ(boom->desc.name, "boom");
    EXPECT_EQ(boom->desc.size, sizeof(portico_handler_desc));
    EXPECT_EQ(v.find_handler("nope"), nullptr);
    EXPECT_EQ(run_stream(v, "boom", "hello\nworld\n"), "HELLO\nWORLD\n");

    const auto shadow_file = v.shadow_file();
    result.version.reset();
    EXPECT_FALSE(fs::exists(shadow_file));
    EXPECT_FALSE(is_mapped(shadow_file));
}

TEST(Sha256, KnownVector) {
    EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(PluginLoader, RefusesATextFile) {
    const auto file = plugins / "x.so";
    write_file(file, "this is not a library\n");
    const auto error = refusal(file);
    EXPECT_EQ(error.rfind(file.string() + ": is not an ELF shared object (", 0), 0u) << error;
}

TEST_F(PluginLoader, RefusesATruncatedFile) {
    const auto file = plugins / "half.so";
    const std::string whole = read_file(test_plugin("throwing"));
    write_file(file, whole.substr(0, whole.size() / 2));
    const auto error = refusal(file);
    EXPECT_EQ(error.rfind(file.string() + ": truncated ELF file (", 0), 0u) << error;
}

TEST_F(PluginLoader, RefusesBadMagicBeforeInit) {
    const auto file = copy_in("bad_magic", "bad_magic.so");
    EXPECT_EQ(refusal(file), file.string() + ": bad magic 0xdeadbeef (expected 0x50525443: not a Portico plugin)");
}

TEST_F(PluginLoader, RefusesAFutureAbiNamingBothVersions) {
    const auto file = copy_in("bad_abi", "bad_abi.so");
    EXPECT_EQ(refusal(file), file.string() +
                                 ": plugin ABI version 99 is not supported: this host supports ABI version 1; "
                                 "rebuild the plugin against this Portico SDK");
}

TEST_F(PluginLoader, RefusesALibraryWithoutEntryPoint) {
    const auto file = copy_in("no_entry", "no_entry.so");
    const auto error = refusal(file);
    EXPECT_EQ(error.rfind(file.string() + ": does not export portico_plugin_v1 (", 0), 0u) << error;
}

TEST_F(PluginLoader, ReportsTheReasonInitGave) {
    const auto file = copy_in("init_fails", "init_fails.so");
    EXPECT_EQ(refusal(file), file.string() + ": init failed: database connection string missing");
}

TEST_F(PluginLoader, RefusesDuplicateHandlerNames) {
    const auto file = copy_in("dup_handler", "dup_handler.so");
    EXPECT_EQ(refusal(file), file.string() + ": duplicate handler name 'same'");
}

TEST_F(PluginLoader, ReportsDlopenFailures) {
    // EI_VERSION 0 passes our checks but not the dynamic loader's.
    std::string bytes = read_file(test_plugin("throwing"));
    bytes[EI_VERSION] = 0;
    const auto file = plugins / "odd.so";
    write_file(file, bytes);
    const auto error = refusal(file);
    EXPECT_EQ(error.rfind(file.string() + ": cannot load: ", 0), 0u) << error;
}

TEST_F(PluginLoader, RefusesMissingFilesAndDirectories) {
    const auto missing = plugins / "missing.so";
    EXPECT_EQ(refusal(missing), missing.string() + ": cannot read: No such file or directory");
    fs::create_directory(plugins / "dir.so");
    EXPECT_EQ(refusal(plugins / "dir.so"), (plugins / "dir.so").string() + ": is not a regular file");
}

TEST_F(PluginLoader, ShippedPluginsLoad) {
    size_t found = 0;
    for (const char *name : {"echo", "upper", "threadname"}) {
        if (!fs::exists(shipped_plugin(name))) continue;
        ++found;
        auto result = load_plugin_version(shipped_plugin(name), shadow.path(), ++generation, test_host_api());
        EXPECT_NE(result.version, nullptr) << result.error;
        if (result.version) {
            EXPECT_FALSE(result.version->handlers().empty());
        }
    }
    if (found == 0) GTEST_SKIP() << "no shipped plugins built in " << PORTICO_PLUGIN_DIR;
}

// ---- the registrar, called directly as a plugin's init would -------------

int nop_stream(void *, void *, portico_conn *) {
    return PORTICO_OK;
}
int nop_datagram(void *, void *, portico_datagram *) {
    return PORTICO_OK;
}

portico_handler_desc stream_desc(const char *name) {
    portico_handler_desc d{};
    d.size = sizeof d;
    d.kind = PORTICO_HANDLER_STREAM;
    d.name = name;
    d.handle_stream = &nop_stream;
    return d;
}

TEST(Registrar, AcceptsAndCopiesHandlers) {
    portico_registrar reg;
    auto a = stream_desc("a-1_B");
    portico_handler_desc b{};
    b.size = sizeof b;
    b.kind = PORTICO_HANDLER_DATAGRAM;
    b.name = "b";
    b.handle_datagram = &nop_datagram;
    EXPECT_EQ(registrar_add(&reg, &a), PORTICO_OK);
    EXPECT_EQ(registrar_add(&reg, &b), PORTICO_OK);
    EXPECT_TRUE(reg.failure.empty());
    ASSERT_EQ(reg.handlers.size(), 2u);
    EXPECT_EQ(reg.handlers[0].name, "a-1_B");
    EXPECT_EQ(reg.handlers[1].kind, PORTICO_HANDLER_DATAGRAM);
}

TEST(Registrar, ZeroFillsFieldsAnOlderPluginDidNotKnow) {
    // An "older" plugin whose descriptor ends after handle_datagram: whatever
    // follows in its memory must not be read.
    portico_handler_desc desc;
    std::memset(&desc, 0xAB, sizeof desc);
    desc.size = offsetof(portico_handler_desc, state_export);
    desc.kind = PORTICO_HANDLER_STREAM;
    desc.name = "old";
    desc.user = nullptr;
    desc.service_open = nullptr;
    desc.service_close = nullptr;
    desc.handle_stream = &nop_stream;
    desc.handle_datagram = nullptr;
    portico_registrar reg;
    ASSERT_EQ(registrar_add(&reg, &desc), PORTICO_OK) << reg.failure;
    EXPECT_EQ(reg.handlers[0].desc.state_export, nullptr);
    EXPECT_EQ(reg.handlers[0].desc.state_import, nullptr);
    EXPECT_EQ(reg.handlers[0].desc.size, sizeof(portico_handler_desc));
}

TEST(Registrar, RefusesMalformedDescriptorsAndKeepsTheFirstFailure) {
    struct Case {
        portico_handler_desc desc;
        std::string failure;
    };
    auto no_name = stream_desc(nullptr);
    auto bad_name = stream_desc("a b");
    auto no_fn = stream_desc("s");
    no_fn.handle_stream = nullptr;
    auto dgram_no_fn = stream_desc("d");
    dgram_no_fn.kind = PORTICO_HANDLER_DATAGRAM;
    auto bad_kind = stream_desc("k");
    bad_kind.kind = 7;
    auto tiny = stream_desc("t");
    tiny.size = 8;
    const std::vector<Case> cases = {
        {no_name, "a handler was registered without a name"},
        {bad_name, "invalid handler name 'a b' (use 1 to 64 letters, digits, '_' or '-')"},
        {no_fn, "stream handler 's' has no handle_stream function"},
        {dgram_no_fn, "datagram handler 'd' has no handle_datagram function"},
        {bad_kind, "handler 'k' has unknown kind 7"},
        {tiny, "handler descriptor is too small (8 bytes, need at least 16)"},
    };
    for (const auto &c : cases) {
        portico_registrar reg;
        EXPECT_EQ(registrar_add(&reg, &c.desc), PORTICO_ERR_INVALID);
        EXPECT_EQ(reg.failure, c.failure);
        EXPECT_TRUE(reg.handlers.empty());
    }

    portico_registrar reg;
    auto same = stream_desc("same");
    EXPECT_EQ(registrar_add(&reg, &same), PORTICO_OK);
    EXPECT_EQ(registrar_add(&reg, &same), PORTICO_ERR_INVALID);
    registrar_fail(&reg, "cannot register handler 'same'");
    EXPECT_EQ(reg.failure, "duplicate handler name 'same'");
    EXPECT_EQ(reg.handlers.size(), 1u);

    portico_registrar failing;
    registrar_fail(&failing, "no config");
    EXPECT_EQ(failing.failure, "init failed: no config");
    EXPECT_EQ(registrar_add(nullptr, &same), PORTICO_ERR_INVALID);
}

TEST(Registrar, NameSyntax) {
    EXPECT_TRUE(is_valid_name("echo"));
    EXPECT_TRUE(is_valid_name("a-b_C9"));
    EXPECT_FALSE(is_valid_name(""));
    EXPECT_FALSE(is_valid_name("a.b"));
    EXPECT_FALSE(is_valid_name("a/b"));
    EXPECT_FALSE(is_valid_name(std::string(65, 'a')));
    EXPECT_TRUE(is_valid_name(std::string(64, 'a')));
}

} // namespace
} // namespace portico::host
