// BoundedFileTest.cpp — files the config names are read only when they are
// regular files under the cap: a FIFO, a device or a huge file is an error at
// once, naming the file, what it is for and the limit.
#include "config/BoundedFile.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using portico::host::BoundedFileError;
using portico::host::read_config_named_file;

namespace {

class BoundedFileTest : public ::testing::Test {
protected:
    BoundedFileTest() { fs::create_directories(dir_); }
    ~BoundedFileTest() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    const fs::path dir_ = fs::temp_directory_path() / ("portico-bounded-" + std::to_string(::getpid()));
};

std::string error_of(const fs::path &path, std::size_t cap) {
    try {
        read_config_named_file(path, cap, "services[0].tls.key file");
    } catch (const BoundedFileError &e) {
        return e.what();
    }
    return "(read without error)";
}

TEST_F(BoundedFileTest, ReadsARegularFileUpToTheCap) {
    std::ofstream(dir_ / "a.pem") << "0123456789";
    EXPECT_EQ(read_config_named_file(dir_ / "a.pem", 10, "cert"), "0123456789");
    EXPECT_EQ(read_config_named_file(dir_ / "a.pem", 1 << 20, "cert"), "0123456789");
    std::ofstream(dir_ / "empty.pem").flush();
    EXPECT_EQ(read_config_named_file(dir_ / "empty.pem", 10, "cert"), "");
}

TEST_F(BoundedFileTest, AFileOverTheCapIsNamedWithTheCap) {
    std::ofstream(dir_ / "a.pem") << "0123456789A";
    EXPECT_EQ(error_of(dir_ / "a.pem", 10),
              "services[0].tls.key file " + (dir_ / "a.pem").string() +
                  ": cannot read it: it is larger than the limit of 10 bytes; is this the right file?");
    std::ofstream(dir_ / "huge.pem").flush();
    fs::resize_file(dir_ / "huge.pem", std::uintmax_t{1} << 32); // sparse
    EXPECT_EQ(error_of(dir_ / "huge.pem", 1 << 20),
              "services[0].tls.key file " + (dir_ / "huge.pem").string() +
                  ": cannot read it: it is larger than the limit of 1 MiB; is this the right "
                  "file?");
}

TEST_F(BoundedFileTest, AFifoNobodyWritesIsAnErrorNotAHang) {
    const fs::path fifo = dir_ / "key.pem";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(error_of(fifo, 1 << 20),
              "services[0].tls.key file " + fifo.string() +
                  ": cannot read it: it is a FIFO (named pipe), not a regular file; name a file");
}

TEST_F(BoundedFileTest, DevicesAndFoldersAreRefused) {
    EXPECT_EQ(error_of("/dev/zero", 1 << 20), "services[0].tls.key file /dev/zero: cannot read it: it is a character "
                                              "device, not a regular file; name a file");
    EXPECT_EQ(error_of(dir_, 1 << 20), "services[0].tls.key file " + dir_.string() +
                                           ": cannot read it: it is a directory, not a regular file; name a file");
}

TEST_F(BoundedFileTest, AMissingFileSaysWhy) {
    EXPECT_EQ(error_of(dir_ / "nope.pem", 10), "services[0].tls.key file " + (dir_ / "nope.pem").string() +
                                                   ": cannot read it: No such file or directory");
}

} // namespace
