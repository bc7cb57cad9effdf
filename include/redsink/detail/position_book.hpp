#pragma once

#include <redsink/detail/claims.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sink_options.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <utility>

namespace redsink::detail {

// exactly_once, on the app's thread: per partition, the highest offset committed (read at start
// or claimed) or taken since, which decides what write() skips; what the source resumes from;
// and, with Fencing::partition, the partitions the sink claimed.
class PositionBook {
public:
    PositionBook(std::string target, Fencing fencing) : target_(std::move(target)), fencing_(fencing) {}

    // The sink took its identity (Fencing::identity): the positions committed so far.
    void started(const Positions& committed) {
        reached_ = committed;
        resume_ = committed;
        last_ = nullptr;
    }

    // A claim (Fencing::partition) took these partitions, with what was committed in them.
    void claimed(const PartitionClaim& claim) {
        for (const auto& [partition, epoch] : claim.epochs) {
            claimed_.insert(partition);
            const auto committed = claim.positions.find(partition);
            if (committed == claim.positions.end()) {
                reached_.erase(partition);
                resume_.erase(partition);
            } else {
                reached_[partition] = committed->second;
                resume_[partition] = committed->second;
            }
        }
        last_ = nullptr;
    }

    // Whether an event at `position` was committed or taken already (write() skips it). Refuses a
    // partition below 0 (its row would be the fence's) and, with Fencing::partition, one the sink
    // did not claim.
    [[nodiscard]] bool reached(const Position& position) {
        const auto* offset = find(position);
        return offset != nullptr && position.offset <= *offset;
    }

    // The event at `position` was taken.
    void took(const Position& position) {
        if (auto* offset = find(position))
            *offset = position.offset;
        else
            reached_.emplace(position.partition, position.offset);
    }

    // Per partition, the offset up to which every event is committed: what the sink started or
    // claimed with, raised by what it acknowledged since (`delivered`); with Fencing::partition,
    // of the partitions it claimed only.
    [[nodiscard]] Positions resume(const Positions& delivered) const {
        Positions out = resume_;
        for (const auto& [partition, offset] : delivered) {
            if (fencing_ == Fencing::partition && !claimed_.contains(partition)) continue;
            auto [it, fresh] = out.try_emplace(partition, offset);
            if (!fresh && offset > it->second) it->second = offset;
        }
        return out;
    }

private:
    // The offset the event's partition reached (nothing for a partition not seen yet), from the
    // last partition's entry when it is the same (map nodes stay put).
    [[nodiscard]] std::int64_t* find(const Position& position) {
        if (position.partition < 0)
            throw Error(ErrorKind::bad_data, {},
                        "event at " + to_string(position) + " for " + target_ +
                            ": exactly_once needs partitions of 0 or more; the event was not taken");
        if (last_ != nullptr && last_partition_ == position.partition) return last_;
        if (fencing_ == Fencing::partition && !claimed_.contains(position.partition))
            throw Error(ErrorKind::other, {},
                        "event at " + to_string(position) + " for " + target_ +
                            ": the sink holds no claim on partition " + std::to_string(position.partition) +
                            " (Fencing::partition: claim_partitions first); the event was not taken");
        const auto found = reached_.find(position.partition);
        if (found == reached_.end()) return nullptr;
        last_ = &found->second;
        last_partition_ = position.partition;
        return last_;
    }

    std::string target_;
    Fencing fencing_;
    Positions resume_;   // committed when the sink started, or when it claimed
    Positions reached_;  // per partition, the highest offset committed or taken
    std::set<std::int32_t> claimed_;
    std::int64_t* last_ = nullptr;  // the last partition's entry
    std::int32_t last_partition_ = 0;
};

}  // namespace redsink::detail
