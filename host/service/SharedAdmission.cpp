// SharedAdmission.cpp — the region's layout and the operations on it, all
// under one process-shared robust mutex. Robust, not a spinlock: a worker
// killed while it holds the lock must not wedge every other worker; the next
// locker is told (EOWNERDEAD) and carries on, and the master then takes the
// dead worker's tallies back. Totals are sums of per-slot tallies, so taking
// one worker's share back is exact.
#include "service/SharedAdmission.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portico::host {
namespace {

constexpr std::uint64_t kMagic = 0x706f727469636164ULL;
constexpr std::size_t kMinSources = 4096;
constexpr std::size_t kMaxSources = 65536;
constexpr std::size_t kKeyBytes = 16; // an IPv6 address; IPv4 uses the first 4

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

std::int64_t ns(SharedAdmission::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct SlotRow {
    std::uint32_t in_use; // the master gave it to a worker it has not reaped yet
    std::uint32_t open;   // connections that worker holds
};

std::uint64_t hash(std::string_view key) {
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (const char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

} // namespace

struct SharedAdmission::Entry {
    std::uint8_t used; // 0: never used (ends a probe); 1: holds a key
    std::uint8_t length;
    std::uint8_t key[kKeyBytes];
    std::uint32_t open; // sum over the slots' counts for this source
    double tokens;      // accept_rate bucket
    std::int64_t updated_ns;
};

struct SharedAdmission::Layout {
    std::uint64_t magic;
    std::uint64_t size;
    std::uint32_t slots;
    std::uint32_t sources; // a power of two
    std::int32_t max_connections;
    std::int32_t per_source_max;
    double rate; // accept_rate tokens per second; 0: off
    double burst;
    std::uint32_t full_reported;
    pthread_mutex_t mutex;
    // Followed by SlotRow[slots], Entry[sources] and uint32 counts[slots][sources],
    // slot-major: a slot's row is only touched once a worker used that slot.
};

namespace {

struct Offsets {
    std::size_t slots_at, entries_at, counts_at, total;
};

Offsets offsets(std::size_t slots, std::size_t sources) {
    Offsets o{};
    o.slots_at = round_up(sizeof(SharedAdmission::Layout), 64);
    o.entries_at = round_up(o.slots_at + slots * sizeof(SlotRow), 64);
    o.counts_at = round_up(o.entries_at + sources * sizeof(SharedAdmission::Entry), 64);
    o.total = round_up(o.counts_at + slots * sources * sizeof(std::uint32_t),
                       static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
    return o;
}

SlotRow *slot_rows(SharedAdmission::Layout *layout) {
    return reinterpret_cast<SlotRow *>(reinterpret_cast<char *>(layout) +
                                       offsets(layout->slots, layout->sources).slots_at);
}

SharedAdmission::Entry *entries(SharedAdmission::Layout *layout) {
    return reinterpret_cast<SharedAdmission::Entry *>(reinterpret_cast<char *>(layout) +
                                                      offsets(layout->slots, layout->sources).entries_at);
}

} // namespace

class SharedAdmission::Lock {
public:
    explicit Lock(Layout *layout) : mutex_(&layout->mutex) {
        // EOWNERDEAD: its holder died mid-update. What it half did belongs
        // to its slot, which the master takes back when it reaps it.
        if (::pthread_mutex_lock(mutex_) == EOWNERDEAD) ::pthread_mutex_consistent(mutex_);
    }
    ~Lock() { ::pthread_mutex_unlock(mutex_); }
    Lock(const Lock &) = delete;
    Lock &operator=(const Lock &) = delete;

private:
    pthread_mutex_t *mutex_;
};

std::unique_ptr<SharedAdmission> SharedAdmission::create(const ServiceConfig &config, int slots) {
    const std::size_t wanted = std::max<std::size_t>(kMinSources, 2 * static_cast<std::size_t>(config.max_connections));
    const std::size_t sources = std::min(kMaxSources, std::bit_ceil(wanted));
    const Offsets o = offsets(static_cast<std::size_t>(slots), sources);
    const int fd = ::memfd_create("portico-admission", MFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create (shared admission)");
    // Sparse: pages nothing has touched cost no memory.
    if (::ftruncate(fd, static_cast<off_t>(o.total)) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "sizing the shared admission region");
    }
    void *base = ::mmap(nullptr, o.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "mapping the shared admission region");
    }
    auto *layout = static_cast<Layout *>(base);
    layout->size = o.total;
    layout->slots = static_cast<std::uint32_t>(slots);
    layout->sources = static_cast<std::uint32_t>(sources);
    layout->max_connections = config.max_connections;
    layout->per_source_max = config.per_source_max;
    layout->rate = config.accept_rate.per_second;
    layout->burst = config.accept_rate.burst > 0 ? config.accept_rate.burst : config.accept_rate.per_second;
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
    ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    ::pthread_mutex_init(&layout->mutex, &attr);
    ::pthread_mutexattr_destroy(&attr);
    layout->magic = kMagic;
    return std::unique_ptr<SharedAdmission>(new SharedAdmission(fd, base, o.total, -1));
}

std::unique_ptr<SharedAdmission> SharedAdmission::attach(int fd, int slot) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof(Layout))
        throw std::runtime_error("descriptor " + std::to_string(fd) + " is not a shared admission region");
    const auto size = static_cast<std::size_t>(st.st_size);
    void *base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mapping the shared admission region");
    const auto *layout = static_cast<const Layout *>(base);
    if (layout->magic != kMagic || layout->size != size || offsets(layout->slots, layout->sources).total != size ||
        slot < 0 || static_cast<std::uint32_t>(slot) >= layout->slots) {
        ::munmap(base, size);
        throw std::runtime_error("descriptor " + std::to_string(fd) + " is not a shared admission region with slot " +
                                 std::to_string(slot));
    }
    return std::unique_ptr<SharedAdmission>(new SharedAdmission(fd, base, size, slot));
}

SharedAdmission::SharedAdmission(int fd, void *base, std::size_t size, int slot)
    : fd_(fd), base_(base), size_(size), slot_(slot), layout_(static_cast<Layout *>(base)) {}

SharedAdmission::~SharedAdmission() {
    ::munmap(base_, size_);
    ::close(fd_);
}

std::uint32_t *SharedAdmission::counts(int slot) {
    const Offsets o = offsets(layout_->slots, layout_->sources);
    return reinterpret_cast<std::uint32_t *>(static_cast<char *>(base_) + o.counts_at) +
           static_cast<std::size_t>(slot) * layout_->sources;
}

std::optional<int> SharedAdmission::claim_slot() {
    Lock lock(layout_);
    SlotRow *rows = slot_rows(layout_);
    for (std::uint32_t i = 0; i < layout_->slots; ++i) {
        if (rows[i].in_use) continue;
        rows[i] = SlotRow{1, 0};
        return static_cast<int>(i);
    }
    return std::nullopt;
}

std::uint32_t SharedAdmission::release_slot(int slot) {
    Lock lock(layout_);
    SlotRow &row = slot_rows(layout_)[slot];
    const std::uint32_t held = row.open;
    row = SlotRow{0, 0};
    std::uint32_t *mine = counts(slot);
    Entry *table = entries(layout_);
    for (std::uint32_t i = 0; i < layout_->sources; ++i) {
        if (mine[i] == 0) continue;
        mine[i] = 0;
        // Recounted from every slot rather than decremented: exact even if
        // the worker died between updating its count and the entry's.
        std::uint32_t open = 0;
        for (std::uint32_t s = 0; s < layout_->slots; ++s)
            open += counts(static_cast<int>(s))[i];
        table[i].open = open;
    }
    return held;
}

bool SharedAdmission::idle(const Entry &entry, Clock::time_point now) const {
    if (entry.open != 0) return false;
    if (layout_->rate <= 0) return true;
    const double elapsed = static_cast<double>(ns(now) - entry.updated_ns) / 1e9;
    return entry.tokens + std::max(0.0, elapsed) * layout_->rate >= layout_->burst;
}

SharedAdmission::Entry *SharedAdmission::find(std::string_view source, bool insert, Clock::time_point now) {
    Entry *table = entries(layout_);
    const std::uint32_t mask = layout_->sources - 1;
    const std::size_t length = std::min(source.size(), kKeyBytes);
    Entry *reusable = nullptr;
    Entry *target = nullptr;
    for (std::uint64_t i = hash(source), probes = 0; probes <= mask; ++i, ++probes) {
        Entry &e = table[i & mask];
        if (!e.used) {
            target = &e;
            break;
        }
        if (e.length == length && std::memcmp(e.key, source.data(), length) == 0) return &e;
        // An entry no connection holds and whose bucket is full again is as
        // good as none: reused, so the table never fills with the past.
        if (!reusable && idle(e, now)) reusable = &e;
    }
    if (!insert) return nullptr;
    if (reusable) target = reusable;
    if (!target) return nullptr;
    target->used = 1;
    target->length = static_cast<std::uint8_t>(length);
    std::memset(target->key, 0, kKeyBytes);
    std::memcpy(target->key, source.data(), length);
    target->open = 0;
    target->tokens = layout_->burst;
    target->updated_ns = ns(now);
    return target;
}

bool SharedAdmission::take_token(std::string_view source, Clock::time_point now) {
    if (layout_->rate <= 0 || source.empty()) return true;
    Lock lock(layout_);
    Entry *e = find(source, true, now);
    // Full of busy sources (a spoofed flood): fail closed, like the
    // in-process limiter, rather than let every new address through.
    if (!e) return false;
    const double elapsed = static_cast<double>(ns(now) - e->updated_ns) / 1e9;
    e->tokens = std::min(layout_->burst, e->tokens + std::max(0.0, elapsed) * layout_->rate);
    e->updated_ns = std::max(e->updated_ns, ns(now));
    if (e->tokens < 1.0) return false;
    e->tokens -= 1.0;
    return true;
}

SharedAdmission::Verdict SharedAdmission::admit(std::string_view source) {
    Lock lock(layout_);
    SlotRow *rows = slot_rows(layout_);
    std::uint64_t total = 0;
    for (std::uint32_t s = 0; s < layout_->slots; ++s)
        total += rows[s].open;
    if (total >= static_cast<std::uint64_t>(layout_->max_connections)) return Verdict::max_connections;
    Entry *e = nullptr;
    if (layout_->per_source_max > 0 && !source.empty()) {
        e = find(source, true, Clock::now());
        if (!e) return Verdict::sources_full;
        if (e->open >= static_cast<std::uint32_t>(layout_->per_source_max)) return Verdict::per_source_max;
        ++counts(slot_)[e - entries(layout_)];
        ++e->open;
    }
    ++rows[slot_].open;
    return Verdict::admitted;
}

void SharedAdmission::release(std::string_view source) {
    Lock lock(layout_);
    SlotRow &row = slot_rows(layout_)[slot_];
    if (row.open > 0) --row.open;
    if (layout_->per_source_max <= 0 || source.empty()) return;
    Entry *e = find(source, false, Clock::now());
    if (!e) return;
    std::uint32_t &mine = counts(slot_)[e - entries(layout_)];
    if (mine == 0) return;
    --mine;
    if (e->open > 0) --e->open;
}

bool SharedAdmission::first_full_report() {
    Lock lock(layout_);
    return std::exchange(layout_->full_reported, 1U) == 0;
}

std::uint32_t SharedAdmission::open() {
    Lock lock(layout_);
    const SlotRow *rows = slot_rows(layout_);
    std::uint32_t total = 0;
    for (std::uint32_t s = 0; s < layout_->slots; ++s)
        total += rows[s].open;
    return total;
}

std::uint32_t SharedAdmission::open_from(std::string_view source) {
    Lock lock(layout_);
    const Entry *e = find(source, false, Clock::now());
    return e ? e->open : 0;
}

} // namespace portico::host
