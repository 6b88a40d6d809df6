// ElfCheck.h — decides, from a file's bytes alone, whether they are a complete
// ELF shared object this host could dlopen: a plugin file is checked before
// it is copied, so a half-written or foreign file never reaches the loader.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace portico::host {

struct ElfProblem {
    enum class Kind {
        not_shared_object, // not ELF at all, or ELF for another class/byte order/type/machine
        truncated          // an ELF header whose tables point past the end of the file
    };
    Kind kind;
    std::string detail; // what exactly, for the parenthesis of the message
};

// nullopt when `bytes` hold a 64-bit little-endian ET_DYN object for this
// host's machine whose program headers, segments and section headers all lie
// within the bytes.
std::optional<ElfProblem> check_elf_shared_object(std::span<const std::byte> bytes);

// The names of the dynamic symbols bound STB_GNU_UNIQUE (g++ gives them to
// template and inline-function statics unless built with -fno-gnu-unique):
// glibc never unmaps an object that has one, so it cannot be hot-reloaded
// without leaking. Only for bytes check_elf_shared_object accepted; a
// malformed .dynsym yields what could be read. At most `limit` names.
std::vector<std::string> gnu_unique_symbols(std::span<const std::byte> bytes, size_t limit = 5);

// The full sentence for a problem, starting with the file's path:
// "<file>: is not an ELF shared object (...)" / "<file>: truncated ELF file (...)".
std::string describe_elf_problem(const std::string &file, const ElfProblem &problem);

} // namespace portico::host
