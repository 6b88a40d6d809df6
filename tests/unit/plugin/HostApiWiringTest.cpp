// The real host api table (host/plugin/HostApi.cpp) drives the loader: its
// registration entries must reach the Registrar. The other plugin tests use a
// local table with a fake connection instead, to run handlers without sockets.
#include "net/HostApi.h"
#include "plugin/PluginRegistry.h"

#include "PluginTestSupport.h"

#include <gtest/gtest.h>

namespace portico::host {
namespace {

using namespace plugin_test;

TEST(HostApiWiring, RealTableRegistersAndRefuses) {
    const portico_host_api *api = host_api();
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(api->abi_version, PORTICO_ABI_VERSION);
    EXPECT_GE(api->size, sizeof(portico_host_api));

    TempDir plugins, shadow_parent;
    PluginRegistry registry(api, shadow_parent.path());
    const auto good = plugins / "throwing.so";
    copy_plugin(test_plugin("throwing"), good);
    const auto ok = registry.load(good);
    ASSERT_TRUE(ok.ok) << ok.error;
    EXPECT_NE(ok.version->find_handler("boom"), nullptr);

    const auto dup = plugins / "dup_handler.so";
    copy_plugin(test_plugin("dup_handler"), dup);
    EXPECT_EQ(registry.load(dup).error, dup.string() + ": duplicate handler name 'same'");
    const auto init = plugins / "init_fails.so";
    copy_plugin(test_plugin("init_fails"), init);
    EXPECT_EQ(registry.load(init).error, init.string() + ": init failed: database connection string missing");
}

} // namespace
} // namespace portico::host
