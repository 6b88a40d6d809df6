// PluginLoader.cpp — the load pipeline, one early return per refusal. The file
// is read into memory exactly once: those bytes are checked, hashed and
// written to the shadow copy, so a file rewritten mid-load can never yield a
// copy that mixes two builds.
#include "plugin/PluginLoader.h"

#include "plugin/ElfCheck.h"
#include "plugin/Registrar.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace portico::host {
namespace {

// dlopen and dlclose already serialise on glibc's own loader lock; taking
// this one too makes the ordering visible to ThreadSanitizer, which otherwise
// reports a new copy mapped at a just-unmapped address as racing with the old.
std::mutex &dl_mutex() {
    static std::mutex mutex;
    return mutex;
}

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// Closes a file descriptor on every return path.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// Reads the whole file through one descriptor (not trusting st_size: the
// file may still be growing). Returns "" or the reason it could not.
std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

// Code the host runs must not be replaceable by any user on the machine: a
// plugin file, or its folder, writable by others is refused. (A folder with
// the sticky bit, like /tmp, only lets owners replace their own files.)
std::string unsafe_permissions(const std::filesystem::path &file, const struct stat &st) {
    if (st.st_mode & S_IWOTH)
        return "is writable by other users (mode " + octal_mode(st.st_mode) +
               "): anyone could replace the code the host runs; chmod o-w " + file.string();
    struct stat dir {};
    const std::filesystem::path folder = file.parent_path();
    if (::stat(folder.c_str(), &dir) == 0 && (dir.st_mode & S_IWOTH) && !(dir.st_mode & S_ISVTX))
        return "is in a folder writable by other users (" + folder.string() + ", mode " + octal_mode(dir.st_mode) +
               "): anyone could swap the plugin; chmod o-w " + folder.string();
    return {};
}

std::string read_whole_file(const std::filesystem::path &file, std::vector<std::byte> &out) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return "cannot read: " + errno_text(errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return "cannot read: " + errno_text(errno);
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
    if (std::string unsafe = unsafe_permissions(file, st); !unsafe.empty()) return unsafe;
    out.clear();
    out.reserve(static_cast<size_t>(st.st_size));
    std::byte chunk[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return "cannot read: " + errno_text(errno);
        if (n == 0) break;
        out.insert(out.end(), chunk, chunk + n);
    }
    return "";
}

// Writes a fresh file (O_EXCL: a fresh inode, never an older copy dlopen
// might have cached). Returns "" or the reason.
std::string write_fresh_file(const std::filesystem::path &path, const std::vector<std::byte> &bytes) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700));
    if (fd.get() < 0) return errno_text(errno);
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
            return errno_text(err);
        }
        done += static_cast<size_t>(n);
    }
    if (::close(fd.release()) != 0) {
        const int err = errno;
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
        return errno_text(err);
    }
    return "";
}

std::string hex32(uint32_t value) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08" PRIx32, value);
    return buf;
}

constexpr size_t field_end(size_t offset, size_t size) {
    return offset + size;
}
constexpr size_t desc_needs = field_end(offsetof(portico_plugin_desc, init), sizeof(portico_plugin_desc::init));
constexpr size_t desc_with_unload =
    field_end(offsetof(portico_plugin_desc, unload), sizeof(portico_plugin_desc::unload));

// Checks the descriptor in the order that keeps an unknown plugin harmless:
// magic and ABI version first (frozen fields), only then anything else.
std::optional<std::string> check_descriptor(const portico_plugin_desc &desc) {
    if (desc.magic != PORTICO_MAGIC)
        return "bad magic " + hex32(desc.magic) + " (expected " + hex32(PORTICO_MAGIC) + ": not a Portico plugin)";
    if (desc.abi_version != PORTICO_ABI_VERSION)
        return "plugin ABI version " + std::to_string(desc.abi_version) +
               " is not supported: this host supports ABI version " + std::to_string(PORTICO_ABI_VERSION) +
               "; rebuild the plugin against this Portico SDK";
    if (desc.size < desc_needs)
        return "plugin descriptor is too small (" + std::to_string(desc.size) + " bytes, need at least " +
               std::to_string(desc_needs) + "): rebuild the plugin against this Portico SDK";
    if (desc.name == nullptr) return "plugin descriptor has no name";
    const std::string name(desc.name, strnlen(desc.name, max_name_length + 1));
    if (!is_valid_name(name))
        return "invalid plugin name '" + name + "' (use 1 to " + std::to_string(max_name_length) +
               " letters, digits, '_' or '-')";
    if (desc.init == nullptr) return "plugin descriptor has no init function";
    return std::nullopt;
}

} // namespace

LoadedLibrary::LoadedLibrary(std::filesystem::path shadow_file) : shadow_file_(std::move(shadow_file)) {}

LoadedLibrary::~LoadedLibrary() {
    if (handle_ != nullptr) {
        if (unload_hook_ != nullptr) unload_hook_();
        std::lock_guard lock(dl_mutex());
        ::dlclose(handle_);
    }
    std::error_code ignored;
    std::filesystem::remove(shadow_file_, ignored);
}

std::string LoadedLibrary::open() {
    std::lock_guard lock(dl_mutex());
    ::dlerror();
    handle_ = ::dlopen(shadow_file_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ != nullptr) return "";
    const char *err = ::dlerror();
    return err ? err : "dlopen failed";
}

void *LoadedLibrary::own_symbol(const char *name) const {
    if (handle_ == nullptr) return nullptr;
    ::dlerror();
    void *sym = ::dlsym(handle_, name);
    if (sym == nullptr) return nullptr;
    // dlsym on a handle also searches the object's dependencies: insist that
    // the entry point is defined by the plugin file itself.
    struct link_map *map = nullptr;
    Dl_info info{};
    if (::dlinfo(handle_, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) return nullptr;
    if (::dladdr(sym, &info) == 0 || info.dli_fbase == nullptr) return nullptr;
    if (std::strcmp(info.dli_fname, map->l_name) != 0) return nullptr;
    return sym;
}

std::string sha256_hex(const void *data, size_t len) {
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(data, len);
    return Poco::DigestEngine::digestToHex(engine.digest());
}

LoadResult load_plugin_version(const std::filesystem::path &file, const std::filesystem::path &shadow_dir,
                               uint64_t generation, const portico_host_api *api) {
    const std::string where = file.string();
    auto fail = [&](const std::string &reason) { return LoadResult{nullptr, where + ": " + reason}; };

    std::vector<std::byte> bytes;
    if (auto err = read_whole_file(file, bytes); !err.empty()) return fail(err);
    if (auto problem = check_elf_shared_object(bytes))
        return LoadResult{nullptr, describe_elf_problem(where, *problem)};
    std::string sha = sha256_hex(bytes.data(), bytes.size());

    const auto shadow = shadow_dir / (file.stem().string() + "." + std::to_string(generation) + ".so");
    if (auto err = write_fresh_file(shadow, bytes); !err.empty())
        return fail("cannot write shadow copy " + shadow.string() + ": " + err);
    bytes = {};
    auto library = std::make_unique<LoadedLibrary>(shadow); // removes the copy on every failure below
    if (auto err = library->open(); !err.empty()) return fail("cannot load: " + err);

    void *entry_sym = library->own_symbol(PORTICO_ENTRY_SYMBOL);
    if (entry_sym == nullptr)
        return fail(std::string("does not export ") + PORTICO_ENTRY_SYMBOL +
                    " (not a Portico plugin: build it with the SDK's PORTICO_PLUGIN macro)");
    const auto entry = reinterpret_cast<portico_plugin_entry>(entry_sym);
    const portico_plugin_desc *desc = entry();
    if (desc == nullptr) return fail(std::string(PORTICO_ENTRY_SYMBOL) + " returned no descriptor");
    if (auto err = check_descriptor(*desc)) return fail(*err);

    const std::string plugin_name(desc->name, strnlen(desc->name, max_name_length + 1));
    const std::string plugin_version =
        desc->version ? std::string(desc->version, strnlen(desc->version, 256)) : std::string();
    if (desc->size >= desc_with_unload) library->arm_unload_hook(desc->unload);

    portico_registrar registrar;
    registrar.plugin_file = where;
    int rc = PORTICO_ERR_HANDLER;
    try {
        rc = desc->init(api, &registrar);
    } catch (...) {
        // A C++ plugin not built with the SDK let an exception escape init.
        registrar_fail(&registrar, "init threw an exception");
    }
    if (!registrar.failure.empty()) return fail(registrar.failure);
    if (rc != PORTICO_OK) return fail("init failed: init returned status " + std::to_string(rc) + " without a reason");
    if (registrar.handlers.empty()) return fail("plugin '" + plugin_name + "' registered no handlers");

    return LoadResult{std::make_unique<PluginVersion>(std::move(library), plugin_name, plugin_version, file, generation,
                                                      std::move(sha), std::move(registrar.handlers)),
                      ""};
}

} // namespace portico::host
