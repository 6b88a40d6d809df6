// FiberStack.cpp — mmap'd fiber stacks above a 64KiB guard, or a pool's.
#include "event/FiberStack.h"

#include "event/StackPool.h"

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PORTICO_VALGRIND_STACKS 1
#endif

namespace portico::host {
namespace {

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

} // namespace

FiberStack::FiberStack(std::size_t usable_bytes) {
    const std::size_t page = page_size();
    const std::size_t guard = round_up(kGuardBytes, page);
    size_ = round_up(usable_bytes < page ? page : usable_bytes, page);
    mapping_bytes_ = size_ + guard; // + the guard at the low end
    void *mapping = ::mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(),
                                "mmap of a " + std::to_string(size_ / 1024) +
                                    "KiB fiber stack (each takes two of the vm.max_map_count memory mappings a "
                                    "process may have)");
    if (::mprotect(mapping, guard, PROT_NONE) != 0) {
        const int error = errno;
        ::munmap(mapping, mapping_bytes_);
        throw std::system_error(error, std::generic_category(), "mprotect of a fiber stack's guard");
    }
    mapping_ = mapping;
    bottom_ = static_cast<char *>(mapping) + guard;
#ifdef PORTICO_VALGRIND_STACKS
    // Lets valgrind (callgrind in tests/bench/profile_echo.sh) tell a stack
    // switch from a wild stack pointer.
    valgrind_id_ = VALGRIND_STACK_REGISTER(bottom_, top());
#endif
}

FiberStack::FiberStack(StackPool &pool, void *bottom, std::size_t usable_bytes)
    : bottom_(bottom), size_(usable_bytes), pool_(&pool) {
#ifdef PORTICO_VALGRIND_STACKS
    valgrind_id_ = VALGRIND_STACK_REGISTER(bottom_, top());
#endif
}

FiberStack::~FiberStack() {
    release();
}

FiberStack::FiberStack(FiberStack &&other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)), mapping_bytes_(std::exchange(other.mapping_bytes_, 0)),
      bottom_(std::exchange(other.bottom_, nullptr)), size_(std::exchange(other.size_, 0)),
      valgrind_id_(std::exchange(other.valgrind_id_, 0)), pool_(std::exchange(other.pool_, nullptr)) {}

FiberStack &FiberStack::operator=(FiberStack &&other) noexcept {
    if (this != &other) {
        release();
        mapping_ = std::exchange(other.mapping_, nullptr);
        mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
        bottom_ = std::exchange(other.bottom_, nullptr);
        size_ = std::exchange(other.size_, 0);
        valgrind_id_ = std::exchange(other.valgrind_id_, 0);
        pool_ = std::exchange(other.pool_, nullptr);
    }
    return *this;
}

void FiberStack::release_below(const void *sp) noexcept {
    auto *bottom = static_cast<char *>(bottom_);
    const auto *at = static_cast<const char *>(sp);
    if (bottom == nullptr || at <= bottom || at > static_cast<const char *>(top())) return;
    const auto dead = static_cast<std::size_t>(at - bottom) / page_size() * page_size();
    // Advice only: a failure leaves the pages resident, nothing worse.
    if (dead > 0) ::madvise(bottom, dead, MADV_DONTNEED);
}

void FiberStack::release_all() noexcept {
    // Advice only, as above.
    if (bottom_ != nullptr) ::madvise(bottom_, size_, MADV_DONTNEED);
}

void FiberStack::release() noexcept {
    if (bottom_ == nullptr) return;
#ifdef PORTICO_VALGRIND_STACKS
    VALGRIND_STACK_DEREGISTER(valgrind_id_);
#endif
    if (pool_ != nullptr)
        pool_->give_back(bottom_);
    else
        ::munmap(mapping_, mapping_bytes_);
    mapping_ = nullptr;
    bottom_ = nullptr;
    pool_ = nullptr;
}

} // namespace portico::host
