// StateHandoff.h — the wire of a `mode: process` state hand-off across a
// plugin reload: the master asks an old worker over its control socket, the
// worker answers with a sealed memfd of what state_export wrote, and the
// master passes that memfd to the new worker of the same slot.
#pragma once

#include "config/UniqueFd.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <sys/types.h>

namespace portico::host {

// The most a hand-off between workers may carry. The bytes sit in a memfd
// (memory) from the export until the new worker has read them.
inline constexpr std::size_t kMaxHandoffBytes = std::size_t{256} << 20;

// A socketpair for one worker: the master keeps `master`, the worker gets
// `worker` as kWorkerControlFd. Both close on exec.
struct ControlSockets {
    std::unique_ptr<UniqueFd> master;
    std::unique_ptr<UniqueFd> worker;
};
ControlSockets make_control_sockets();

// What a worker's export came to, as the master hears it.
struct HandoffReply {
    std::unique_ptr<UniqueFd> state; // a sealed memfd with the bytes; null when nothing is handed over
    std::size_t bytes = 0;
    std::string problem; // why nothing is handed over, when it should have been; empty otherwise
};

// The master's side of one request: sent at construction, answered once.
// Never blocks: the supervisor polls it between its other duties.
class StateRequest {
public:
    // Takes the master's end of the old worker's control socket; the answer
    // must come within `wait`.
    StateRequest(std::unique_ptr<UniqueFd> control, pid_t from, int slot, std::chrono::milliseconds wait);

    // The answer once it is there (or the worker ended or the deadline
    // passed, with the reason in `problem`); nullopt while still waiting.
    std::optional<HandoffReply> poll();

    pid_t from() const { return from_; }
    int slot() const { return slot_; }

private:
    std::unique_ptr<UniqueFd> control_;
    pid_t from_;
    int slot_;
    std::chrono::milliseconds wait_;
    std::chrono::steady_clock::time_point deadline_;
    std::string send_error_; // the request could not be sent: the answer is this
};

// What a worker's exporter produced: the bytes, or why there are none
// (`problem` empty and no bytes: the handler has nothing to export).
struct ExportOutcome {
    std::optional<std::string> bytes;
    std::string problem;
};

// The worker's side: a thread that answers the master's requests on the
// control socket by running `exporter` and sending its bytes back in a
// sealed memfd. Stops (and joins) when destroyed.
class StateResponder {
public:
    StateResponder(int control_fd, std::function<ExportOutcome()> exporter);
    ~StateResponder();
    StateResponder(const StateResponder &) = delete;
    StateResponder &operator=(const StateResponder &) = delete;

private:
    void run();
    int control_fd_;
    std::function<ExportOutcome()> exporter_;
    std::thread thread_;
};

// The new worker's side: the bytes in the inherited memfd `fd`, or nullopt
// when no such descriptor was passed (nothing to import). Throws
// std::runtime_error when it cannot be read or exceeds kMaxHandoffBytes.
// Closes the descriptor either way.
std::optional<std::string> read_handed_state(int fd);

} // namespace portico::host
