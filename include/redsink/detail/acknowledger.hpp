#pragma once

#include <redsink/detail/acks.hpp>
#include <redsink/position.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <utility>

namespace redsink::detail {

// Acknowledgements: events are registered in the order they are written (on the caller's
// thread) and completed when their transaction commits (on a task's thread, or at once for an
// event that needs no write). Each completion that moves the acknowledged positions leaves a
// snapshot, and deliver() hands the snapshots to on_commit in order, on the caller's thread:
// one call per commit that moved them.
class Acknowledger {
public:
    using Callback = std::function<void(const Positions&)>;

    AckTracker::Ticket add(const Position& position) {
        const std::lock_guard lock(mutex_);
        return tracker_.add(position);
    }

    void complete(std::span<const AckTracker::Ticket> tickets) {
        const std::lock_guard lock(mutex_);
        for (const auto& ticket : tickets) tracker_.complete(ticket);
        if (!tracker_.advance()) return;
        moved_.push_back(tracker_.acknowledged());
        waiting_.store(true, std::memory_order_release);
    }

    void set_callback(Callback callback) { callback_ = std::move(callback); }

    // Calls on_commit once for each commit that moved the acknowledged positions since the last call.
    void deliver() {
        if (!waiting_.load(std::memory_order_acquire)) return;
        std::deque<Positions> moved;
        {
            const std::lock_guard lock(mutex_);
            moved.swap(moved_);
            waiting_.store(false, std::memory_order_relaxed);
        }
        for (auto& positions : moved) {
            delivered_ = std::move(positions);
            if (callback_) callback_(delivered_);
        }
    }

    // The positions last given to on_commit.
    [[nodiscard]] const Positions& delivered() const noexcept { return delivered_; }

    // Events written and not yet acknowledged.
    [[nodiscard]] std::size_t outstanding() const {
        const std::lock_guard lock(mutex_);
        return tracker_.outstanding();
    }

private:
    mutable std::mutex mutex_;
    AckTracker tracker_;
    std::deque<Positions> moved_;  // snapshots not delivered yet
    std::atomic<bool> waiting_{false};
    Positions delivered_;  // the caller's thread only
    Callback callback_;
};

}  // namespace redsink::detail
