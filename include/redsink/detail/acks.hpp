#pragma once

#include <redsink/position.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

namespace redsink::detail {

// Which positions may be acknowledged: per partition, the events in the order they were
// written, each pending until the transaction holding it commits (or until it needs no write,
// as an ignored delete). A partition's acknowledged offset advances over the committed prefix
// of its events only, so it never passes an event that is not committed, whichever task holds
// it. Not thread-safe: the sink locks around it.
class AckTracker {
public:
    struct Ticket {
        std::int32_t partition;
        std::uint64_t sequence;
    };

    Ticket add(const Position& position) {
        // Consecutive events mostly share a partition: its queue is looked up once (map nodes stay put).
        if (last_ == nullptr || last_partition_ != position.partition) {
            last_ = &partitions_[position.partition];
            last_partition_ = position.partition;
        }
        auto& queue = *last_;
        queue.events.push_back({position.offset, false});
        return {position.partition, queue.first + queue.events.size() - 1};
    }

    void complete(const Ticket& ticket) {
        auto& queue = partitions_[ticket.partition];
        queue.events[static_cast<std::size_t>(ticket.sequence - queue.first)].done = true;
    }

    // Moves the acknowledged positions over every committed prefix; true when any moved.
    bool advance() {
        bool moved = false;
        for (auto& [partition, queue] : partitions_) {
            while (!queue.events.empty() && queue.events.front().done) {
                const auto offset = queue.events.front().offset;
                auto [it, fresh] = acknowledged_.try_emplace(partition, offset);
                if (fresh || offset > it->second) {
                    it->second = offset;
                    moved = true;
                }
                queue.events.pop_front();
                ++queue.first;
            }
        }
        return moved;
    }

    [[nodiscard]] const Positions& acknowledged() const noexcept { return acknowledged_; }

    // Events written and not yet acknowledged.
    [[nodiscard]] std::size_t outstanding() const noexcept {
        std::size_t count = 0;
        for (const auto& [partition, queue] : partitions_) count += queue.events.size();
        return count;
    }

private:
    struct Event {
        std::int64_t offset;
        bool done;
    };
    struct Queue {
        std::uint64_t first = 0;  // sequence number of events.front()
        std::deque<Event> events;
    };

    std::map<std::int32_t, Queue> partitions_;
    Positions acknowledged_;
    Queue* last_ = nullptr;
    std::int32_t last_partition_ = 0;
};

}  // namespace redsink::detail
