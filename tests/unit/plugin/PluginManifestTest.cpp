// Tests of host/plugin/PluginManifest: what a check process writes is read
// back as the same plugin, and what no honest check process writes (a
// forged line, a handler without a valid kind or name) is not taken.
#include "plugin/PluginManifest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::host {
namespace {

HandlerEntry handler(const std::string &name, portico_handler_kind kind, uint32_t traits) {
    HandlerEntry entry;
    entry.name = name;
    entry.kind = kind;
    entry.desc.kind = kind;
    entry.desc.traits = traits;
    return entry;
}

TEST(PluginManifest, WhatTheCheckProcessWritesIsReadBack) {
    const std::string text = manifest_header_lines("troubled", "1.2.0 beta", 2) + std::string(manifest_init_line) +
                             manifest_handler_lines({handler("echo", PORTICO_HANDLER_STREAM, PORTICO_TRAIT_BLOCKING),
                                                     handler("ping", PORTICO_HANDLER_DATAGRAM, 0)});
    const ManifestReading reading = read_manifest_lines(text);
    ASSERT_TRUE(reading.manifest) << reading.problem;
    EXPECT_FALSE(reading.in_init);
    EXPECT_EQ(reading.manifest->name, "troubled");
    EXPECT_EQ(reading.manifest->version, "1.2.0 beta");
    EXPECT_EQ(reading.manifest->abi_minor, 2u);
    ASSERT_EQ(reading.manifest->handlers.size(), 2u);
    EXPECT_EQ(reading.manifest->handlers[0].name, "echo");
    EXPECT_EQ(reading.manifest->handlers[0].kind, PORTICO_HANDLER_STREAM);
    EXPECT_EQ(reading.manifest->handlers[0].desc.traits, PORTICO_TRAIT_BLOCKING);
    EXPECT_EQ(reading.manifest->handlers[0].desc.handle_stream, nullptr);
    EXPECT_EQ(reading.manifest->handlers[1].kind, PORTICO_HANDLER_DATAGRAM);
}

TEST(PluginManifest, AnInitThatNeverFinishedLeavesNoManifest) {
    const ManifestReading reading =
        read_manifest_lines(manifest_header_lines("troubled", "2.0.0", 2) + std::string(manifest_init_line));
    EXPECT_FALSE(reading.manifest);
    EXPECT_TRUE(reading.in_init);
    EXPECT_EQ(reading.name, "troubled");
    EXPECT_EQ(reading.version, "2.0.0");
}

TEST(PluginManifest, AVersionWithANewlineCannotForgeALine) {
    const std::string text = manifest_header_lines("troubled", "1.0\ndone", 2) + std::string(manifest_init_line) +
                             manifest_handler_lines({handler("echo", PORTICO_HANDLER_STREAM, 0)});
    const ManifestReading reading = read_manifest_lines(text);
    ASSERT_TRUE(reading.manifest) << reading.problem;
    EXPECT_EQ(reading.manifest->version, "1.0?done");
}

TEST(PluginManifest, ARefusalIsReadAsSuch) {
    const ManifestReading reading = read_manifest_lines(manifest_header_lines("troubled", "1.0", 2) +
                                                        manifest_refusal_line("init failed: no config"));
    EXPECT_FALSE(reading.manifest);
    EXPECT_EQ(reading.refusal, "init failed: no config");
}

TEST(PluginManifest, MalformedHandlerLinesAreProblems) {
    for (const std::string bad : {"handler 7 0 echo\n", "handler 1 x echo\n", "handler 1 0 bad/name\n", "what\n"}) {
        const ManifestReading reading = read_manifest_lines("plugin troubled\n" + bad + "done\n");
        EXPECT_FALSE(reading.manifest) << bad;
        EXPECT_FALSE(reading.problem.empty()) << bad;
    }
}

} // namespace
} // namespace portico::host
