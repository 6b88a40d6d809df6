// ByteSizeTest.cpp — byte sizes for max_line and thread stacks.
#include "config/ByteSize.h"

#include <gtest/gtest.h>

using portico::host::format_byte_size;
using portico::host::parse_byte_size;

TEST(ByteSize, ParsesPlainAndSuffixedSizes) {
    EXPECT_EQ(parse_byte_size("0", nullptr), 0u);
    EXPECT_EQ(parse_byte_size("65536", nullptr), 65536u);
    EXPECT_EQ(parse_byte_size("16B", nullptr), 16u);
    EXPECT_EQ(parse_byte_size("64KiB", nullptr), 65536u);
    EXPECT_EQ(parse_byte_size("1MiB", nullptr), 1048576u);
    EXPECT_EQ(parse_byte_size("2GiB", nullptr), 2147483648u);
    EXPECT_EQ(parse_byte_size("64KB", nullptr), 64000u);
    EXPECT_EQ(parse_byte_size("3MB", nullptr), 3000000u);
    EXPECT_EQ(parse_byte_size("1GB", nullptr), 1000000000u);
}

TEST(ByteSize, RefusesOtherForms) {
    const std::string forms = "expected a byte size like 65536, 64KiB or 1MiB (units B, KiB, MiB, GiB, KB, MB, GB), got ";
    for (const std::string text : {"", "big", "-5", "1.5MiB", "64kib", "64 KiB", "+3", "KiB"}) {
        std::string error;
        EXPECT_FALSE(parse_byte_size(text, &error)) << text;
        EXPECT_EQ(error, forms + "'" + text + "'");
    }
    std::string error;
    EXPECT_FALSE(parse_byte_size("2000GiB", &error));
    EXPECT_EQ(error, "byte size '2000GiB' is too large (at most 1TiB)");
    EXPECT_FALSE(parse_byte_size("99999999999999999999999", &error));
    EXPECT_EQ(error, "byte size '99999999999999999999999' is too large (at most 1TiB)");
}

TEST(ByteSize, FormatsWithTheLargestExactBinaryUnit) {
    EXPECT_EQ(format_byte_size(0), "0B");
    EXPECT_EQ(format_byte_size(16), "16B");
    EXPECT_EQ(format_byte_size(1536), "1536B");
    EXPECT_EQ(format_byte_size(65536), "64KiB");
    EXPECT_EQ(format_byte_size(64u << 20), "64MiB");
    EXPECT_EQ(format_byte_size(uint64_t{3} << 30), "3GiB");
}
