// Tests of host/plugin/ElfCheck: synthetic headers for every refusal, and a
// real plugin file as the accepted case.
#include "plugin/ElfCheck.h"

#include "PluginTestSupport.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace portico::host {
namespace {

using plugin_test::read_file;
using plugin_test::shipped_plugin;
using plugin_test::test_plugin;

std::vector<std::byte> bytes_of(const std::string &s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

// A minimal well-formed ET_DYN image: header, one program header covering
// the whole file, no sections.
std::vector<std::byte> minimal_so() {
    std::vector<std::byte> image(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 64);
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_DYN;
#if defined(__x86_64__)
    eh.e_machine = EM_X86_64;
#elif defined(__aarch64__)
    eh.e_machine = EM_AARCH64;
#else
    eh.e_machine = EM_RISCV;
#endif
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    std::memcpy(image.data(), &eh, sizeof eh);
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_offset = 0;
    ph.p_filesz = image.size();
    std::memcpy(image.data() + eh.e_phoff, &ph, sizeof ph);
    return image;
}

Elf64_Ehdr header_of(const std::vector<std::byte> &image) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, image.data(), sizeof eh);
    return eh;
}
void set_header(std::vector<std::byte> &image, const Elf64_Ehdr &eh) {
    std::memcpy(image.data(), &eh, sizeof eh);
}

ElfProblem::Kind kind_of(const std::vector<std::byte> &image) {
    auto problem = check_elf_shared_object(image);
    EXPECT_TRUE(problem.has_value());
    return problem ? problem->kind : ElfProblem::Kind::not_shared_object;
}

std::string detail_of(const std::vector<std::byte> &image) {
    const auto problem = check_elf_shared_object(image);
    return problem ? problem->detail : "<accepted>";
}

TEST(ElfCheck, AcceptsMinimalSharedObject) {
    EXPECT_FALSE(check_elf_shared_object(minimal_so()).has_value());
}

TEST(ElfCheck, AcceptsRealPlugin) {
    EXPECT_FALSE(check_elf_shared_object(bytes_of(read_file(test_plugin("throwing")))).has_value());
}

TEST(ElfCheck, RefusesTextAndEmptyFiles) {
    EXPECT_EQ(kind_of(bytes_of("hello, I am not a library\n")), ElfProblem::Kind::not_shared_object);
    EXPECT_EQ(kind_of({}), ElfProblem::Kind::not_shared_object);
}

TEST(ElfCheck, RefusesWrongClassByteOrderTypeAndMachine) {
    auto image = minimal_so();
    auto eh = header_of(image);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    set_header(image, eh);
    EXPECT_NE(detail_of(image).find("32-bit"), std::string::npos);

    image = minimal_so();
    eh = header_of(image);
    eh.e_ident[EI_DATA] = ELFDATA2MSB;
    set_header(image, eh);
    EXPECT_NE(detail_of(image).find("big-endian"), std::string::npos);

    image = minimal_so();
    eh = header_of(image);
    eh.e_type = ET_EXEC;
    set_header(image, eh);
    EXPECT_NE(detail_of(image).find("ET_EXEC"), std::string::npos);

    image = minimal_so();
    eh = header_of(image);
    eh.e_machine = EM_S390;
    set_header(image, eh);
    const auto problem = check_elf_shared_object(image);
    ASSERT_TRUE(problem);
    EXPECT_EQ(problem->kind, ElfProblem::Kind::not_shared_object);
    EXPECT_NE(problem->detail.find("machine 22"), std::string::npos);
}

TEST(ElfCheck, RefusesTruncation) {
    auto image = minimal_so();
    image.resize(sizeof(Elf64_Ehdr) - 4);
    EXPECT_EQ(kind_of(image), ElfProblem::Kind::truncated);

    image = minimal_so();
    image.resize(sizeof(Elf64_Ehdr) + 10); // program header cut
    EXPECT_EQ(kind_of(image), ElfProblem::Kind::truncated);

    image = minimal_so();
    image.resize(image.size() - 1); // the segment claims one byte more than is there
    EXPECT_EQ(kind_of(image), ElfProblem::Kind::truncated);

    image = minimal_so();
    auto eh = header_of(image);
    eh.e_shoff = image.size() - 8;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 3;
    set_header(image, eh);
    EXPECT_EQ(kind_of(image), ElfProblem::Kind::truncated);

    image = minimal_so(); // offsets chosen to overflow 64 bits
    eh = header_of(image);
    eh.e_phoff = ~uint64_t{0} - 8;
    set_header(image, eh);
    EXPECT_EQ(kind_of(image), ElfProblem::Kind::truncated);
}

TEST(ElfCheck, RefusesHalfOfARealPlugin) {
    const std::string whole = read_file(test_plugin("throwing"));
    const auto problem = check_elf_shared_object(bytes_of(whole.substr(0, whole.size() / 2)));
    ASSERT_TRUE(problem);
    EXPECT_EQ(problem->kind, ElfProblem::Kind::truncated);
}

TEST(ElfCheck, DescribesWithFileFirst) {
    EXPECT_EQ(describe_elf_problem("/p/x.so", {ElfProblem::Kind::truncated, "why"}),
              "/p/x.so: truncated ELF file (why)");
    EXPECT_EQ(describe_elf_problem("/p/x.so", {ElfProblem::Kind::not_shared_object, "why"}),
              "/p/x.so: is not an ELF shared object (why)");
}

TEST(ElfCheck, FindsTheGnuUniqueSymbolOfAPluginBuiltWithoutTheSdkFlags) {
    const auto names = gnu_unique_symbols(bytes_of(read_file(test_plugin("gnu_unique"))));
    // Its own inline-function static, and any the standard library's templates add.
    EXPECT_NE(std::find(names.begin(), names.end(), "_ZZ12lines_servedvE5count"), names.end()); // lines_served()::count
}

TEST(ElfCheck, AnSdkBuiltPluginHasNoGnuUniqueSymbol) {
    EXPECT_TRUE(gnu_unique_symbols(bytes_of(read_file(shipped_plugin("upper")))).empty());
    EXPECT_TRUE(gnu_unique_symbols(minimal_so()).empty()) << "no section table: nothing to report";
}

} // namespace
} // namespace portico::host
