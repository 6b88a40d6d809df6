// StackPool.cpp — regions of stacks with guard markers between them.
#include "event/StackPool.h"

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 // <linux/mman.h> of Linux 6.13, newer than some libcs' headers
#endif

namespace portico::host {
namespace {

// Address space only (MAP_NORESERVE: untouched pages cost nothing): at the
// default 256KiB stack a region holds about 3 300 stacks.
constexpr std::size_t kRegionBytes = std::size_t{1} << 30;

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

bool probe_guard_markers() {
    const std::size_t page = page_size();
    void *probe = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (probe == MAP_FAILED) return false;
    const bool supported = ::madvise(probe, page, MADV_GUARD_INSTALL) == 0;
    ::munmap(probe, page);
    return supported;
}

} // namespace

bool StackPool::guard_markers() {
    static const bool supported = probe_guard_markers();
    return supported;
}

StackPool::StackPool(std::size_t stack_bytes)
    : stack_bytes_(round_up(std::max(stack_bytes, page_size()), page_size())),
      slot_bytes_(stack_bytes_ + round_up(FiberStack::kGuardBytes, page_size())),
      slots_per_region_(std::max<std::size_t>(16, kRegionBytes / slot_bytes_)) {}

StackPool::~StackPool() {
    for (const Region &region : regions_)
        ::munmap(region.base, region.bytes);
}

void StackPool::map_region() {
    const std::size_t bytes = slots_per_region_ * slot_bytes_;
    void *mapping =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(),
                                "mmap of a " + std::to_string(bytes >> 20) + "MiB region of fiber stacks");
    auto *base = static_cast<char *>(mapping);
    const std::size_t guard = slot_bytes_ - stack_bytes_;
    for (std::size_t i = 0; i < slots_per_region_; ++i) {
        if (::madvise(base + i * slot_bytes_, guard, MADV_GUARD_INSTALL) != 0) {
            const int error = errno;
            ::munmap(mapping, bytes);
            throw std::system_error(error, std::generic_category(), "guard marker below a fiber stack");
        }
    }
    try {
        resident_.reserve(kResidentSpares);
        released_.reserve((regions_.size() + 1) * slots_per_region_);
        regions_.push_back(Region{base, bytes});
    } catch (...) {
        ::munmap(mapping, bytes);
        throw;
    }
    // Handed out lowest first: the last pushed is taken first.
    for (std::size_t i = slots_per_region_; i-- > 0;)
        released_.push_back(base + i * slot_bytes_ + guard);
}

FiberStack StackPool::take() {
    if (!guard_markers()) return FiberStack(stack_bytes_);
    std::vector<void *> &from = resident_.empty() ? released_ : resident_;
    if (from.empty()) map_region();
    void *bottom = from.back();
    from.pop_back();
    return FiberStack(*this, bottom, stack_bytes_);
}

void StackPool::give_back(void *bottom) noexcept {
    if (resident_.size() < kResidentSpares) {
        resident_.push_back(bottom);
        return;
    }
    // Advice only: on failure the pages stay resident, nothing worse.
    ::madvise(bottom, stack_bytes_, MADV_DONTNEED);
    released_.push_back(bottom);
}

} // namespace portico::host
