// SharedCounters.cpp — the segment is a header (a magic number and the size
// of ServiceCounters, so a worker never counts into something it misreads)
// followed by the counters. Atomics that are always lock-free are plain
// memory operations, so two processes can update them through one mapping.
#include "service/SharedCounters.h"

#include <cerrno>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace portico::host {
namespace {

static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free,
              "counters shared between processes must be lock-free atomics");

constexpr uint64_t kMagic = 0x706f727469636f31; // "portico1"

struct Header {
    uint64_t magic;
    uint64_t counters_size;
};

constexpr std::size_t kCountersOffset =
    (sizeof(Header) + alignof(ServiceCounters) - 1) / alignof(ServiceCounters) * alignof(ServiceCounters);
constexpr std::size_t kSegmentSize = kCountersOffset + sizeof(ServiceCounters);

void *map(int fd) {
    void *mapping = ::mmap(nullptr, kSegmentSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return mapping == MAP_FAILED ? nullptr : mapping;
}

} // namespace

SharedCounters::SharedCounters(int fd, void *mapping)
    : fd_(fd), mapping_(mapping),
      counters_(std::launder(reinterpret_cast<ServiceCounters *>(static_cast<char *>(mapping) + kCountersOffset))) {}

SharedCounters SharedCounters::create() {
    const int fd = ::memfd_create("portico-counters", MFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create for worker counters");
    void *mapping = ::ftruncate(fd, static_cast<off_t>(kSegmentSize)) == 0 ? map(fd) : nullptr;
    if (!mapping) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "mapping worker counters");
    }
    new (mapping) Header{kMagic, sizeof(ServiceCounters)};
    new (static_cast<char *>(mapping) + kCountersOffset) ServiceCounters();
    return SharedCounters(fd, mapping);
}

SharedCounters SharedCounters::attach(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != kSegmentSize) {
        ::close(fd);
        throw std::runtime_error("descriptor " + std::to_string(fd) +
                                 " is not a counters segment of this portico build");
    }
    void *mapping = map(fd);
    if (!mapping) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "mapping the counters segment");
    }
    const auto *header = static_cast<const Header *>(mapping);
    if (header->magic != kMagic || header->counters_size != sizeof(ServiceCounters)) {
        ::munmap(mapping, kSegmentSize);
        ::close(fd);
        throw std::runtime_error("descriptor " + std::to_string(fd) +
                                 " is not a counters segment of this portico build");
    }
    return SharedCounters(fd, mapping);
}

SharedCounters::SharedCounters(SharedCounters &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), mapping_(std::exchange(other.mapping_, nullptr)),
      counters_(std::exchange(other.counters_, nullptr)) {}

SharedCounters::~SharedCounters() {
    if (mapping_) ::munmap(mapping_, kSegmentSize);
    if (fd_ >= 0) ::close(fd_);
}

} // namespace portico::host
