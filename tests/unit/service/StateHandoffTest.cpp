// StateHandoffTest.cpp — both ends of the process-mode state hand-off over a
// real socketpair and memfd: the bytes arrive whole and sealed, a failed or
// empty export says so, and a worker that ends or never answers is reported
// instead of waited for.
#include "service/StateHandoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace portico::host {
namespace {

using namespace std::chrono_literals;

// Polls like the supervisor does, for at most 5 s.
std::optional<HandoffReply> answer(StateRequest &request) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < end) {
        if (auto reply = request.poll()) return reply;
        std::this_thread::sleep_for(1ms);
    }
    return std::nullopt;
}

// A request answered by a responder running `exporter` on the worker's end.
std::optional<HandoffReply> round_trip(std::function<ExportOutcome()> exporter) {
    ControlSockets sockets = make_control_sockets();
    const StateResponder responder(sockets.worker->release(), std::move(exporter));
    StateRequest request(std::move(sockets.master), 1234, 0, 5000ms);
    return answer(request);
}

TEST(StateHandoff, ExportedBytesArriveWholeInASealedMemfd) {
    const std::string state("counter 42\0binary\xff", 18);
    auto reply = round_trip([&] { return ExportOutcome{state, {}}; });
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "");
    ASSERT_NE(reply->state, nullptr);
    EXPECT_EQ(reply->bytes, state.size());
    const int fd = reply->state->release();
    EXPECT_NE(::fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE, 0) << "the old worker could still change what it handed over";
    EXPECT_EQ(read_handed_state(fd), state);
    EXPECT_LT(::fcntl(fd, F_GETFD), 0) << "read_handed_state left the descriptor open";
}

TEST(StateHandoff, AFailedExportIsReportedWithItsReasonAndNoState) {
    auto reply = round_trip([] { return ExportOutcome{std::nullopt, "state_export failed (status -5)"}; });
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "state_export failed (status -5)");
    EXPECT_EQ(reply->state, nullptr);
}

TEST(StateHandoff, AnExporterThatThrowsIsAFailureNotACrash) {
    auto reply = round_trip([]() -> ExportOutcome { throw std::runtime_error("out of luck"); });
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "out of luck");
    EXPECT_EQ(reply->state, nullptr);
}

TEST(StateHandoff, NothingToExportIsNeitherStateNorProblem) {
    auto reply = round_trip([] { return ExportOutcome{}; });
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "");
    EXPECT_EQ(reply->state, nullptr);
}

TEST(StateHandoff, AWorkerThatEndsBeforeItAnswersIsReported) {
    ControlSockets sockets = make_control_sockets();
    StateRequest request(std::move(sockets.master), 1234, 0, 5000ms);
    sockets.worker.reset(); // as the worker's exit closes its end
    auto reply = answer(request);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "it ended before it answered");
}

TEST(StateHandoff, AWorkerThatNeverAnswersIsGivenUpAtTheDeadline) {
    ControlSockets sockets = make_control_sockets(); // the worker's end stays open, unread
    StateRequest request(std::move(sockets.master), 1234, 0, 50ms);
    EXPECT_FALSE(request.poll().has_value()) << "answered before anyone could";
    auto reply = answer(request);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->problem, "no answer within 50ms (plugins.call_timeout and a margin)");
}

TEST(StateHandoff, NoInheritedStateMeansStartFresh) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    EXPECT_EQ(read_handed_state(pipe_fds[0]), std::nullopt);
}

TEST(StateHandoff, InheritedStateLargerThanTheLimitIsRefused) {
    const int fd = ::memfd_create("too-big", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxHandoffBytes + 1)), 0); // sparse: costs no memory
    EXPECT_THROW(read_handed_state(fd), std::runtime_error);
    EXPECT_LT(::fcntl(fd, F_GETFD), 0) << "read_handed_state left the descriptor open";
}

} // namespace
} // namespace portico::host
