// TimerHeap.cpp — an indexed binary min-heap of TimerNodes.
#include "event/TimerHeap.h"

namespace portico::host {

void TimerHeap::place(std::size_t slot, TimerNode *node) {
    nodes_[slot] = node;
    node->slot_ = slot;
}

void TimerHeap::sift_up(std::size_t slot) {
    TimerNode *node = nodes_[slot];
    while (slot > 0) {
        const std::size_t parent = (slot - 1) / 2;
        if (!(node->at_ < nodes_[parent]->at_)) break;
        place(slot, nodes_[parent]);
        slot = parent;
    }
    place(slot, node);
}

void TimerHeap::sift_down(std::size_t slot) {
    TimerNode *node = nodes_[slot];
    const std::size_t n = nodes_.size();
    for (;;) {
        std::size_t child = 2 * slot + 1;
        if (child >= n) break;
        if (child + 1 < n && nodes_[child + 1]->at_ < nodes_[child]->at_) ++child;
        if (!(nodes_[child]->at_ < node->at_)) break;
        place(slot, nodes_[child]);
        slot = child;
    }
    place(slot, node);
}

void TimerHeap::schedule(TimerNode &node, Clock::time_point at) {
    if (!node.scheduled()) {
        node.at_ = at;
        nodes_.push_back(&node);
        node.slot_ = nodes_.size() - 1;
        sift_up(node.slot_);
        return;
    }
    const bool earlier = at < node.at_;
    node.at_ = at;
    if (earlier)
        sift_up(node.slot_);
    else
        sift_down(node.slot_);
}

void TimerHeap::cancel(TimerNode &node) {
    if (!node.scheduled()) return;
    const std::size_t slot = node.slot_;
    node.slot_ = TimerNode::unscheduled;
    TimerNode *last = nodes_.back();
    nodes_.pop_back();
    if (last == &node) return;
    place(slot, last);
    // The moved node may belong above or below its new slot.
    sift_up(slot);
    sift_down(last->slot_);
}

std::optional<TimerHeap::Clock::time_point> TimerHeap::next() const {
    if (nodes_.empty()) return std::nullopt;
    return nodes_.front()->at_;
}

TimerNode *TimerHeap::pop_due(Clock::time_point now) {
    if (nodes_.empty() || now < nodes_.front()->at_) return nullptr;
    TimerNode *due = nodes_.front();
    cancel(*due);
    return due;
}

} // namespace portico::host
