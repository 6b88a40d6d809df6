// SharedAdmissionTest.cpp — the service-wide admission counts over real
// shared memory between real processes (fork): limits hold across slots, a
// dead process's share comes back when its slot is released, and the
// source table reuses what nothing holds.
#include "service/SharedAdmission.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace portico::host {
namespace {

using namespace std::chrono_literals;
using Verdict = SharedAdmission::Verdict;

const std::string kA("\x7f\x00\x00\x01", 4);
const std::string kB("\x7f\x00\x00\x02", 4);

std::string ipv4(unsigned n) {
    return std::string{'\x0a', static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

struct SharedAdmissionTest : ::testing::Test {
    ServiceConfig config;

    SharedAdmissionTest() {
        config.name = "unit";
        config.max_connections = 4;
    }

    // Runs `body` in a forked child attached to `master`'s region as `slot`;
    // returns the child's exit status (the body's return value).
    static int in_child(const SharedAdmission &master, int slot, int (*body)(SharedAdmission &)) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            const auto worker = SharedAdmission::attach(::dup(master.fd()), slot);
            ::_exit(body(*worker));
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
};

TEST_F(SharedAdmissionTest, MaxConnectionsCountsEveryProcess) {
    const auto master = SharedAdmission::create(config, 4);
    const int a = *master->claim_slot();
    const int b = *master->claim_slot();
    // Another process takes three of the four.
    EXPECT_EQ(in_child(*master, a,
                       [](SharedAdmission &w) {
                           for (int i = 0; i < 3; ++i)
                               if (w.admit(kA) != Verdict::admitted) return 1;
                           return 0;
                       }),
              0);
    EXPECT_EQ(master->open(), 3U);
    const auto worker = SharedAdmission::attach(::dup(master->fd()), b);
    EXPECT_EQ(worker->admit(kB), Verdict::admitted);
    EXPECT_EQ(worker->admit(kB), Verdict::max_connections);
    worker->release(kB);
    EXPECT_EQ(worker->admit(kB), Verdict::admitted);
}

TEST_F(SharedAdmissionTest, PerSourceMaxCountsEveryProcess) {
    config.max_connections = 100;
    config.per_source_max = 2;
    const auto master = SharedAdmission::create(config, 4);
    const int a = *master->claim_slot();
    const int b = *master->claim_slot();
    EXPECT_EQ(in_child(*master, a, [](SharedAdmission &w) { return w.admit(kA) == Verdict::admitted ? 0 : 1; }), 0);
    const auto worker = SharedAdmission::attach(::dup(master->fd()), b);
    EXPECT_EQ(worker->admit(kA), Verdict::admitted);
    EXPECT_EQ(worker->admit(kA), Verdict::per_source_max);
    EXPECT_EQ(worker->admit(kB), Verdict::admitted);
    EXPECT_EQ(master->open_from(kA), 2U);
    EXPECT_EQ(master->open_from(kB), 1U);
}

TEST_F(SharedAdmissionTest, DeadProcessShareComesBackWithItsSlot) {
    config.max_connections = 3;
    config.per_source_max = 2;
    const auto master = SharedAdmission::create(config, 4);
    const int a = *master->claim_slot();
    const int b = *master->claim_slot();
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
        const auto w = SharedAdmission::attach(::dup(master->fd()), a);
        const bool ok = w->admit(kA) == Verdict::admitted && w->admit(kA) == Verdict::admitted;
        (void)!::write(ready[1], ok ? "y" : "n", 1);
        ::pause(); // holds both until killed
        ::_exit(0);
    }
    char got = 0;
    ASSERT_EQ(::read(ready[0], &got, 1), 1);
    ASSERT_EQ(got, 'y');
    const auto worker = SharedAdmission::attach(::dup(master->fd()), b);
    EXPECT_EQ(worker->admit(kA), Verdict::per_source_max);
    EXPECT_EQ(worker->admit(kB), Verdict::admitted);
    EXPECT_EQ(worker->admit(kB), Verdict::max_connections);

    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(master->release_slot(a), 2U);
    EXPECT_EQ(master->open(), 1U);
    EXPECT_EQ(master->open_from(kA), 0U);
    EXPECT_EQ(worker->admit(kA), Verdict::admitted);
    EXPECT_EQ(worker->admit(kA), Verdict::admitted);
    EXPECT_EQ(master->open_from(kB), 1U);
    ::close(ready[0]);
    ::close(ready[1]);
}

TEST_F(SharedAdmissionTest, AcceptRateBucketIsShared) {
    config.accept_rate.per_second = 1;
    config.accept_rate.burst = 3;
    const auto master = SharedAdmission::create(config, 4);
    const int a = *master->claim_slot();
    const int b = *master->claim_slot();
    EXPECT_EQ(in_child(*master, a,
                       [](SharedAdmission &w) {
                           const auto now = SharedAdmission::Clock::now();
                           return w.take_token(kA, now) && w.take_token(kA, now) ? 0 : 1;
                       }),
              0);
    const auto worker = SharedAdmission::attach(::dup(master->fd()), b);
    const auto now = SharedAdmission::Clock::now();
    EXPECT_TRUE(worker->take_token(kA, now));
    EXPECT_FALSE(worker->take_token(kA, now));
    EXPECT_TRUE(worker->take_token(kB, now)); // another source has its own bucket
    EXPECT_TRUE(worker->take_token(kA, now + 1100ms));
}

TEST_F(SharedAdmissionTest, FullSourceTableFailsClosedAndReusesIdleEntries) {
    config.max_connections = 1'000'000; // the table is sized for max_connections, capped at 65536
    config.per_source_max = 1;
    const auto master = SharedAdmission::create(config, 2);
    const auto worker = SharedAdmission::attach(::dup(master->fd()), *master->claim_slot());
    unsigned n = 0;
    while (worker->admit(ipv4(n)) == Verdict::admitted)
        ++n;
    EXPECT_EQ(n, 65536U);
    EXPECT_EQ(worker->admit(ipv4(n + 1)), Verdict::sources_full);
    EXPECT_TRUE(worker->first_full_report());
    EXPECT_FALSE(worker->first_full_report());
    worker->release(ipv4(7));
    EXPECT_EQ(worker->admit(ipv4(n + 1)), Verdict::admitted); // took the entry source 7 left
    EXPECT_EQ(master->open(), 65536U);
}

TEST_F(SharedAdmissionTest, SlotsRunOutAndComeBack) {
    const auto master = SharedAdmission::create(config, 2);
    const int a = *master->claim_slot();
    EXPECT_TRUE(master->claim_slot());
    EXPECT_FALSE(master->claim_slot());
    master->release_slot(a);
    EXPECT_EQ(master->claim_slot(), a);
}

TEST_F(SharedAdmissionTest, AttachRefusesWhatIsNotARegion) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    EXPECT_THROW(SharedAdmission::attach(fds[0], 0), std::exception);
    ::close(fds[0]);
    ::close(fds[1]);
    const auto master = SharedAdmission::create(config, 2);
    const int copy = ::dup(master->fd());
    EXPECT_THROW(SharedAdmission::attach(copy, 2), std::runtime_error);
    ::close(copy);
}

} // namespace
} // namespace portico::host
