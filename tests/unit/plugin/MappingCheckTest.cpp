// Tests of host/plugin/MappingCheck against real mappings of this process.
#include "plugin/MappingCheck.h"

#include "PluginTestSupport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace portico::host {
namespace {

TEST(MappingCheck, SeesOwnExecutable) {
    const auto exe = std::filesystem::read_symlink("/proc/self/exe");
    EXPECT_TRUE(is_mapped(exe));
    EXPECT_TRUE(mapped_files().contains(exe.string()));
}

TEST(MappingCheck, FollowsAMappingThroughDeletionUntilUnmapped) {
    plugin_test::TempDir dir;
    const auto file = dir / "mapped.bin";
    plugin_test::write_file(file, std::string(8192, 'x'));
    EXPECT_FALSE(is_mapped(file));

    const int fd = ::open(file.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    void *p = ::mmap(nullptr, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_TRUE(is_mapped(file));

    std::filesystem::remove(file); // listed as "<path> (deleted)" from now on
    EXPECT_TRUE(is_mapped(file));
    EXPECT_TRUE(mapped_files().contains(file.string()));

    ::munmap(p, 8192);
    EXPECT_FALSE(is_mapped(file));
}

} // namespace
} // namespace portico::host
