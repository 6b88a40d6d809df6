// PluginLoader.cpp — the load pipeline, one early return per refusal. The file
// is read into memory exactly once: those bytes are checked, hashed and
// written to the shadow copy, so a file rewritten mid-load can never yield a
// copy that mixes two builds.
#include "plugin/PluginLoader.h"

#include "config/UniqueFd.h"

#include "plugin/ElfCheck.h"
#include "plugin/PluginCheck.h"
#include "plugin/Registrar.h"

#include <Poco/DigestEngine.h>
#include <Poco/Logger.h>
#include <Poco/SHA2Engine.h>

#include <cxxabi.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <link.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
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

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::string user_text(uid_t uid) {
    const passwd *pw = ::getpwuid(uid);
    return (pw ? "user '" + std::string(pw->pw_name) + "'" : std::string("an unnamed user")) + " (uid " +
           std::to_string(uid) + ")";
}

std::string group_text(gid_t gid) {
    const group *gr = ::getgrgid(gid);
    return (gr ? "group '" + std::string(gr->gr_name) + "'" : std::string("an unnamed group")) + " (gid " +
           std::to_string(gid) + ")";
}

// Who may change the code the host runs: root and the user the host runs
// as (and their groups), nobody else.
bool trusted_uid(uid_t uid) {
    return uid == 0 || uid == ::geteuid();
}
bool trusted_gid(gid_t gid) {
    return gid == 0 || gid == ::getegid();
}

// Why another user could replace `file` (its own owner and mode), or "".
std::string unsafe_file(const std::filesystem::path &file, const struct stat &st) {
    const std::string mode = octal_mode(st.st_mode);
    if (!trusted_uid(st.st_uid))
        return "is owned by " + user_text(st.st_uid) + ", mode " + mode +
               ", not by root or the user portico runs as: that user could replace the code the host runs; chown "
               "root " +
               file.string();
    if (st.st_mode & S_IWOTH)
        return "is writable by other users (mode " + mode +
               "): anyone could replace the code the host runs; chmod o-w " + file.string();
    if ((st.st_mode & S_IWGRP) && !trusted_gid(st.st_gid))
        return "is writable by " + group_text(st.st_gid) + " (mode " + mode +
               "), not root's or portico's group: its members could replace the code the host runs; chmod g-w " +
               file.string();
    return {};
}

// Why another user could swap the plugin through one of its folders, or "".
// Like sshd's StrictModes, every folder up to / counts. A sticky folder
// (like /tmp, mode 1777) lets others add files but not rename or remove
// ours, so only its owner matters there.
std::string unsafe_folder_chain(std::filesystem::path folder) {
    for (;;) {
        struct stat st {};
        if (::stat(folder.c_str(), &st) != 0)
            return "cannot check its folder " + folder.string() + ": " + errno_text(errno);
        const std::string where = folder.string() + ", mode " + octal_mode(st.st_mode);
        const bool sticky = (st.st_mode & S_ISVTX) != 0;
        if (!trusted_uid(st.st_uid))
            return "is in a folder owned by " + user_text(st.st_uid) + " (" + where +
                   "), not by root or the user portico runs as: that user could swap the plugin; chown root " +
                   folder.string();
        if ((st.st_mode & S_IWOTH) && !sticky)
            return "is in a folder writable by other users (" + where + "): anyone could swap the plugin; chmod o-w " +
                   folder.string();
        if ((st.st_mode & S_IWGRP) && !sticky && !trusted_gid(st.st_gid))
            return "is in a folder writable by " + group_text(st.st_gid) + " (" + where +
                   "), not root's or portico's group: its members could swap the plugin; chmod g-w " + folder.string();
        if (!folder.has_relative_path()) return {}; // reached /
        folder = folder.parent_path();
    }
}

// Both the folders of the path as named and, through a symlink, those of
// the file it points to: either could let someone swap the code.
std::string unsafe_folders(const std::filesystem::path &file) {
    const std::filesystem::path named = std::filesystem::absolute(file).lexically_normal();
    if (std::string unsafe = unsafe_folder_chain(named.parent_path()); !unsafe.empty()) return unsafe;
    std::error_code ec;
    const std::filesystem::path real = std::filesystem::canonical(named, ec);
    if (ec || real.parent_path() == named.parent_path()) return {};
    return unsafe_folder_chain(real.parent_path());
}

// Reads the whole file through one descriptor (not trusting st_size: the
// file may still be growing). Returns "" or the reason it could not.
std::string read_whole_file(const std::filesystem::path &file, std::vector<std::byte> &out) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return "cannot read: " + errno_text(errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return "cannot read: " + errno_text(errno);
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
    if (std::string unsafe = unsafe_file(file, st); !unsafe.empty()) return unsafe;
    if (std::string unsafe = unsafe_folders(file); !unsafe.empty()) return unsafe;
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
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700));
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

LoadedLibrary::LoadedLibrary(std::filesystem::path shadow_file, PluginCaller caller)
    : shadow_file_(std::move(shadow_file)), caller_(std::move(caller)) {}

LoadedLibrary::~LoadedLibrary() {
    if (handle_ != nullptr) {
        if (unload_hook_ != nullptr) {
            bool returned = false;
            try {
                returned = caller_.run([hook = unload_hook_] { hook(); });
            } catch (...) {
                // No thread for it: the hook is skipped; the library still goes.
                returned = true;
            }
            if (!returned) {
                Poco::Logger::get("portico.plugins")
                    .error("plugin copy " + shadow_file_.string() +
                           ": its unload function did not return within "
                           "plugins.call_timeout (" +
                           std::to_string(caller_.timeout().count()) +
                           "ms); the library stays loaded (its code is still running) and counts as a stuck plugin "
                           "call");
                return;
            }
        }
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

namespace {

// Opens the copy and checks its entry point and descriptor; on success
// `desc` is set. Returns "" or the reason (a sentence without the file).
std::string open_and_check(LoadedLibrary &library, const portico_plugin_desc *&desc) {
    if (auto err = library.open(); !err.empty()) return "cannot load: " + err;
    void *entry_sym = library.own_symbol(PORTICO_ENTRY_SYMBOL);
    if (entry_sym == nullptr)
        return std::string("does not export ") + PORTICO_ENTRY_SYMBOL +
               " (not a Portico plugin, or its entry point is hidden: define it with PORTICO_PLUGIN from "
               "portico/portico.hpp in C++, or PORTICO_PLUGIN_ENTRY from portico/portico.h in C; both export it)";
    const auto entry = reinterpret_cast<portico_plugin_entry>(entry_sym);
    desc = entry();
    if (desc == nullptr) return std::string(PORTICO_ENTRY_SYMBOL) + " returned no descriptor";
    if (auto err = check_descriptor(*desc)) return *err;
    return "";
}

std::string join_names(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &name : names) {
        if (!out.empty()) out += ", ";
        int status = 0;
        std::unique_ptr<char, decltype(&std::free)> readable(
            abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
        out += status == 0 && readable ? std::string(readable.get()) + " (" + name + ")" : name;
    }
    return out;
}

// What init touches, owned jointly by the loader and the init thread: a
// stuck init keeps its library and registrar alive after the loader gave up.
struct InitCall {
    std::unique_ptr<LoadedLibrary> library;
    const portico_plugin_desc *desc = nullptr;
    const portico_host_api *api = nullptr;
    portico_registrar registrar;
    int rc = PORTICO_ERR_HANDLER;
};

} // namespace

std::string probe_plugin_copy(const std::filesystem::path &copy, const portico_plugin_desc **desc) {
    // Owned by nobody on purpose: the process exits right after, and the
    // copy (which LoadedLibrary would remove) belongs to the host.
    auto *library = new LoadedLibrary(copy, PluginCaller(std::chrono::milliseconds(0)));
    const portico_plugin_desc *found = nullptr;
    std::string problem = open_and_check(*library, found);
    if (desc != nullptr) *desc = found;
    return problem;
}

std::string init_refusal(std::string_view plugin_name, const portico_registrar &registrar, int rc) {
    if (!registrar.failure.empty()) return registrar.failure;
    if (rc != PORTICO_OK) return "init failed: init returned status " + std::to_string(rc) + " without a reason";
    if (registrar.handlers.empty()) return "plugin '" + std::string(plugin_name) + "' registered no handlers";
    return {};
}

LoadResult load_plugin_version(const std::filesystem::path &file, const std::filesystem::path &shadow_dir,
                               uint64_t generation, const portico_host_api *api, const LoadPolicy &policy) {
    const std::string where = file.string();
    auto fail = [&](const std::string &reason) { return LoadResult{nullptr, where + ": " + reason, {}}; };
    std::vector<std::string> warnings;

    std::vector<std::byte> bytes;
    if (auto err = read_whole_file(file, bytes); !err.empty()) return fail(err);
    if (auto problem = check_elf_shared_object(bytes))
        return LoadResult{nullptr, describe_elf_problem(where, *problem), {}};
    if (const auto unique = gnu_unique_symbols(bytes); !unique.empty()) {
        const std::string why = "has STB_GNU_UNIQUE symbols (" + join_names(unique) +
                                "): glibc never unloads such a library, so every hot reload of it leaks the old "
                                "version; build it with -fno-gnu-unique (the SDK's portico_add_plugin does)";
        if (policy.strict) return fail(why + "; refused because plugins.strict is on");
        warnings.push_back(where + ": " + why);
    }
    std::string sha = sha256_hex(bytes.data(), bytes.size());

    const auto shadow = shadow_dir / (file.stem().string() + "." + std::to_string(generation) + ".so");
    if (auto err = write_fresh_file(shadow, bytes); !err.empty())
        return fail("cannot write shadow copy " + shadow.string() + ": " + err);
    bytes = {};
    auto call = std::make_shared<InitCall>();
    call->library = std::make_unique<LoadedLibrary>(shadow, policy.caller); // removes the copy on every failure below
    if (!policy.check_program.empty()) {
        CheckOutcome checked =
            check_plugin_in_child(policy.check_program, shadow, policy.caller.timeout(), policy.described);
        if (checked.problem) return fail(*checked.problem + "; not loaded");
        // Described by the check process, which ran init: never opened here.
        if (checked.manifest)
            return LoadResult{std::make_unique<PluginVersion>(std::move(call->library), checked.manifest->name,
                                                              checked.manifest->version, file, generation,
                                                              std::move(sha), std::move(checked.manifest->handlers)),
                              "", std::move(warnings)};
    }
    if (auto err = open_and_check(*call->library, call->desc); !err.empty()) return fail(err);
    const portico_plugin_desc *desc = call->desc;

    const std::string plugin_name(desc->name, strnlen(desc->name, max_name_length + 1));
    const std::string plugin_version =
        desc->version ? std::string(desc->version, strnlen(desc->version, 256)) : std::string();
    if (desc->size >= desc_with_unload) call->library->arm_unload_hook(desc->unload);

    call->api = api;
    call->registrar.plugin_file = where;
    call->registrar.plugin_minor = desc->abi_minor;
    bool returned = false;
    try {
        returned = policy.caller.run([call] {
            try {
                call->rc = call->desc->init(call->api, &call->registrar);
            } catch (...) {
                // A C++ plugin not built with the SDK let an exception escape init.
                registrar_fail(&call->registrar, "init threw an exception");
            }
        });
    } catch (const std::exception &e) {
        return fail(std::string("cannot start a thread to run init: ") + e.what());
    }
    if (!returned)
        return fail("plugin '" + plugin_name + "': init did not return within plugins.call_timeout (" +
                    std::to_string(policy.caller.timeout().count()) +
                    "ms); refused. Its thread is left running and its copy stays loaded (counted as a stuck "
                    "plugin call); fix the plugin, then restart the host to reclaim them");
    if (std::string refused = init_refusal(plugin_name, call->registrar, call->rc); !refused.empty())
        return fail(refused);

    return LoadResult{std::make_unique<PluginVersion>(std::move(call->library), plugin_name, plugin_version, file,
                                                      generation, std::move(sha), std::move(call->registrar.handlers)),
                      "", std::move(warnings)};
}

} // namespace portico::host
