// ElfCheck.cpp — bounds-checked reading of an ELF header, its program
// headers and its section header table, without trusting any offset in it.
#include "plugin/ElfCheck.h"

#include <elf.h>

#include <cstring>
#include <limits>

namespace portico::host {
namespace {

#if defined(__x86_64__)
constexpr uint16_t host_machine = EM_X86_64;
constexpr const char *host_machine_name = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t host_machine = EM_AARCH64;
constexpr const char *host_machine_name = "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr uint16_t host_machine = EM_RISCV;
constexpr const char *host_machine_name = "riscv64";
#else
#error "ElfCheck: add this host's e_machine"
#endif

ElfProblem not_so(std::string detail) {
    return {ElfProblem::Kind::not_shared_object, std::move(detail)};
}
ElfProblem truncated(std::string detail) {
    return {ElfProblem::Kind::truncated, std::move(detail)};
}

// end = offset + count * entry_size, false on overflow.
bool table_end(uint64_t offset, uint64_t count, uint64_t entry_size, uint64_t &end) {
    constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
    if (count != 0 && entry_size > max / count) return false;
    const uint64_t bytes = count * entry_size;
    if (offset > max - bytes) return false;
    end = offset + bytes;
    return true;
}

// 0 stands for an end that overflowed 64 bits.
std::string end_text(uint64_t end) {
    return end ? "at byte " + std::to_string(end) : "past 2^64";
}

template <class T> T read_at(std::span<const std::byte> bytes, uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value); // caller checked the bounds
    return value;
}

const char *type_name(uint16_t type) {
    switch (type) {
    case ET_NONE:
        return "ET_NONE";
    case ET_REL:
        return "ET_REL, a relocatable object file";
    case ET_EXEC:
        return "ET_EXEC, an executable";
    case ET_CORE:
        return "ET_CORE, a core dump";
    default:
        return "unknown";
    }
}

} // namespace

std::optional<ElfProblem> check_elf_shared_object(std::span<const std::byte> bytes) {
    const uint64_t size = bytes.size();
    const auto *ident = reinterpret_cast<const unsigned char *>(bytes.data());
    if (size < SELFMAG || std::memcmp(ident, ELFMAG, SELFMAG) != 0)
        return not_so(size == 0 ? "the file is empty" : "no ELF magic \\x7fELF at its start");
    if (size < EI_NIDENT) return truncated("ELF identification is " + std::to_string(size) + " of 16 bytes");
    if (ident[EI_CLASS] != ELFCLASS64)
        return not_so(ident[EI_CLASS] == ELFCLASS32 ? "32-bit ELF; this host loads 64-bit objects"
                                                    : "unknown ELF class " + std::to_string(ident[EI_CLASS]));
    if (ident[EI_DATA] != ELFDATA2LSB)
        return not_so(ident[EI_DATA] == ELFDATA2MSB ? "big-endian ELF; this host is little-endian"
                                                    : "unknown ELF byte order " + std::to_string(ident[EI_DATA]));
    if (size < sizeof(Elf64_Ehdr))
        return truncated("ELF header is " + std::to_string(size) + " of " + std::to_string(sizeof(Elf64_Ehdr)) +
                         " bytes");

    const auto eh = read_at<Elf64_Ehdr>(bytes, 0);
    if (eh.e_type != ET_DYN)
        return not_so("e_type is " + std::to_string(eh.e_type) + " (" + type_name(eh.e_type) +
                      "), a plugin must be ET_DYN");
    if (eh.e_machine != host_machine)
        return not_so("built for machine " + std::to_string(eh.e_machine) + "; this host is " +
                      std::to_string(host_machine) + " (" + host_machine_name + ")");

    // Section header 0 carries the real counts when they overflow 16 bits.
    uint64_t shnum = eh.e_shnum;
    uint64_t phnum = eh.e_phnum;
    if (eh.e_shoff != 0) {
        if (eh.e_shentsize != sizeof(Elf64_Shdr))
            return not_so("section header entry size " + std::to_string(eh.e_shentsize) + ", expected " +
                          std::to_string(sizeof(Elf64_Shdr)));
        uint64_t first_end = 0;
        if (!table_end(eh.e_shoff, 1, sizeof(Elf64_Shdr), first_end) || first_end > size)
            return truncated("section header table starts at byte " + std::to_string(eh.e_shoff) + ", file has " +
                             std::to_string(size) + " bytes");
        const auto sh0 = read_at<Elf64_Shdr>(bytes, eh.e_shoff);
        if (shnum == 0) shnum = sh0.sh_size;
        if (phnum == PN_XNUM) phnum = sh0.sh_info;
        uint64_t end = 0;
        if (!table_end(eh.e_shoff, shnum, sizeof(Elf64_Shdr), end) || end > size)
            return truncated("section header table ends " + end_text(end) + ", file has " + std::to_string(size) +
                             " bytes");
    }

    if (phnum == 0) return not_so("no program headers: nothing to load");
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return not_so("program header entry size " + std::to_string(eh.e_phentsize) + ", expected " +
                      std::to_string(sizeof(Elf64_Phdr)));
    uint64_t ph_end = 0;
    if (!table_end(eh.e_phoff, phnum, sizeof(Elf64_Phdr), ph_end) || ph_end > size)
        return truncated("program header table ends " + end_text(ph_end) + ", file has " + std::to_string(size) +
                         " bytes");
    for (uint64_t i = 0; i < phnum; ++i) {
        const auto ph = read_at<Elf64_Phdr>(bytes, eh.e_phoff + i * sizeof(Elf64_Phdr));
        uint64_t seg_end = 0;
        if (!table_end(ph.p_offset, 1, ph.p_filesz, seg_end) || seg_end > size)
            return truncated("segment " + std::to_string(i) + " ends " + end_text(seg_end) + ", file has " +
                             std::to_string(size) + " bytes");
    }
    return std::nullopt;
}

std::vector<std::string> gnu_unique_symbols(std::span<const std::byte> bytes, size_t limit) {
    std::vector<std::string> names;
    const uint64_t size = bytes.size();
    if (size < sizeof(Elf64_Ehdr)) return names;
    const auto eh = read_at<Elf64_Ehdr>(bytes, 0);
    uint64_t shnum = eh.e_shnum;
    uint64_t table_last = 0;
    if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !table_end(eh.e_shoff, 1, sizeof(Elf64_Shdr), table_last) || table_last > size)
        return names;
    if (shnum == 0) shnum = read_at<Elf64_Shdr>(bytes, eh.e_shoff).sh_size;
    if (!table_end(eh.e_shoff, shnum, sizeof(Elf64_Shdr), table_last) || table_last > size) return names;
    auto section = [&](uint64_t i) { return read_at<Elf64_Shdr>(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr)); };
    for (uint64_t i = 0; i < shnum; ++i) {
        const auto symtab = section(i);
        if (symtab.sh_type != SHT_DYNSYM || symtab.sh_link >= shnum) continue;
        const auto strtab = section(symtab.sh_link);
        uint64_t sym_end = 0;
        uint64_t str_end = 0;
        if (!table_end(symtab.sh_offset, 1, symtab.sh_size, sym_end) || sym_end > size ||
            !table_end(strtab.sh_offset, 1, strtab.sh_size, str_end) || str_end > size)
            continue;
        const uint64_t count = symtab.sh_size / sizeof(Elf64_Sym);
        for (uint64_t k = 1; k < count && names.size() < limit; ++k) {
            const auto sym = read_at<Elf64_Sym>(bytes, symtab.sh_offset + k * sizeof(Elf64_Sym));
            if (ELF64_ST_BIND(sym.st_info) != STB_GNU_UNIQUE || sym.st_shndx == SHN_UNDEF) continue;
            if (sym.st_name >= strtab.sh_size) continue;
            const auto *start = reinterpret_cast<const char *>(bytes.data() + strtab.sh_offset + sym.st_name);
            names.emplace_back(start, strnlen(start, strtab.sh_size - sym.st_name));
        }
    }
    return names;
}

std::string describe_elf_problem(const std::string &file, const ElfProblem &problem) {
    switch (problem.kind) {
    case ElfProblem::Kind::truncated:
        return file + ": truncated ELF file (" + problem.detail + ")";
    case ElfProblem::Kind::not_shared_object:
        break;
    }
    return file + ": is not an ELF shared object (" + problem.detail + ")";
}

} // namespace portico::host
