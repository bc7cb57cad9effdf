#pragma once

// Which offset of each partition the connector may commit to Kafka: what it read, what the sinks
// acknowledged, what it committed already (the promises of docs/kafka.md, "What it promises").
#include <redsink/kafka/options.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::kafka::detail {

// A partition named by a view of its topic's name: a message's, looked up without a copy.
struct PartitionRef {
    std::string_view topic;
    std::int32_t partition = 0;
};

// TopicPartition's order (topic, then partition), for TopicPartition and PartitionRef alike.
struct PartitionOrder {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
        if (const auto order = std::string_view(a.topic).compare(std::string_view(b.topic)); order != 0)
            return order < 0;
        return a.partition < b.partition;
    }
};

// The offsets of the partitions a connector holds. One thread: the connector's.
class OffsetBook {
public:
    using Commit = std::vector<std::pair<TopicPartition, std::int64_t>>;

    using Held = std::map<TopicPartition, PartitionProgress, PartitionOrder>;

    // The partitions held now, with what was read from them and whether they are paused.
    [[nodiscard]] Held& held() noexcept { return partitions_; }
    [[nodiscard]] const Held& held() const noexcept { return partitions_; }

    // A partition assigned; `claimed_start` is where a Fencing::partition claim started it (after
    // what the table held).
    void assign(const TopicPartition& where, std::optional<std::int64_t> claimed_start) {
        claimed_starts_.erase(where);
        if (claimed_start) claimed_starts_[where] = *claimed_start;
        partitions_[where];
        // What the sink had acknowledged before: a partition read again (it was lost, or it went
        // away and came back) may be replayed from below it.
        if (const auto acked = acknowledged_.find(where); acked != acknowledged_.end())
            acknowledged_at_assignment_[where] = acked->second;
        else
            acknowledged_at_assignment_.erase(where);
    }

    // Given up. The acknowledged offset stays: a sink reports a partition's only when it moves,
    // and a partition that comes back is read again from the group's offset, below it.
    void revoke(const TopicPartition& where) {
        partitions_.erase(where);
        first_read_.erase(where);
        acknowledged_at_assignment_.erase(where);
        committed_.erase(where);
        claimed_starts_.erase(where);
    }

    // A message read (once per message: no copy of the topic's name once the partition is known).
    void read(PartitionRef where, std::int64_t offset) {
        auto state = partitions_.find(where);
        if (state == partitions_.end())
            state = partitions_.emplace(TopicPartition{std::string(where.topic), where.partition}, PartitionProgress{})
                        .first;
        state->second.next_offset = offset + 1;
        if (!first_read_.contains(where)) first_read_.emplace(state->first, offset);
    }

    // From a sink's on_commit: the last offset the warehouse committed.
    void acknowledge(const TopicPartition& where, std::int64_t offset) { acknowledged_[where] = offset; }

    // For the partitions held (or only those of `only`), the next offset to read where it moved
    // past what was committed. After a flush (`flushed`), everything read was committed in the
    // warehouse: the offset after the last message read. Otherwise the acknowledged offset + 1,
    // once it passed what the sink had acknowledged when the partition was assigned: a partition
    // read again from below that (after it was lost) replays older events over newer rows, and
    // until the sink acknowledges past its old position it cannot say which of the replayed
    // events are committed, so committing its old position would leave older rows in place for good.
    [[nodiscard]] Commit to_commit(const std::set<TopicPartition>& only, bool flushed) const {
        Commit moved;
        for (const auto& [where, state] : partitions_) {
            if (!only.empty() && !only.contains(where)) continue;
            // Nothing read since the partition was assigned: nothing of this assignment to commit.
            // (A sink reports every partition it ever wrote; an offset from an earlier assignment
            // may be behind what another member committed since, and would move the group back.)
            // But a partition claimed by a Fencing::partition sink starts where the claim read the
            // table: everything before is committed there, whatever the group's offset says.
            const auto first = first_read_.find(where);
            const auto claimed = claimed_starts_.find(where);
            if ((first == first_read_.end() || state.next_offset < 0) && claimed == claimed_starts_.end()) continue;
            std::int64_t next = -1;
            if (first == first_read_.end() || state.next_offset < 0) {
                next = claimed->second;
            } else if (flushed) {
                next = state.next_offset;
            } else if (const auto acked = acknowledged_.find(where); acked != acknowledged_.end()) {
                const auto before = acknowledged_at_assignment_.find(where);
                if (acked->second >= first->second &&
                    (before == acknowledged_at_assignment_.end() || acked->second > before->second))
                    next = std::min(acked->second + 1, state.next_offset);
            }
            if (next < 0) continue;
            if (const auto done = committed_.find(where); done != committed_.end() && done->second >= next) continue;
            moved.emplace_back(where, next);
        }
        return moved;
    }

    // Kafka took `moved`.
    void committed(const Commit& moved) {
        for (const auto& [where, next] : moved) committed_[where] = next;
    }

    // Partitions read again from below what their sink had acknowledged, whose replay is not
    // committed yet: the sink's acknowledgements cannot say it until they pass the old position.
    [[nodiscard]] std::set<TopicPartition> replaying() const {
        std::set<TopicPartition> replayed;
        for (const auto& [where, before] : acknowledged_at_assignment_) {
            const auto state = partitions_.find(where);
            if (state == partitions_.end() || state->second.next_offset < 0) continue;
            const auto acked = acknowledged_.find(where);
            if (acked != acknowledged_.end() && acked->second > before) continue;  // past it: acknowledged as usual
            const auto done = committed_.find(where);
            if (done != committed_.end() && done->second >= state->second.next_offset) continue;  // settled
            replayed.insert(where);
        }
        return replayed;
    }

    // A held partition's progress, with its acknowledged and committed offsets.
    [[nodiscard]] PartitionProgress progress(const TopicPartition& where, const PartitionProgress& state) const {
        PartitionProgress one = state;
        if (const auto acked = acknowledged_.find(where); acked != acknowledged_.end())
            one.acknowledged = acked->second;
        if (const auto done = committed_.find(where); done != committed_.end()) one.committed = done->second;
        return one;
    }

private:
    Held partitions_;                                                    // assigned now
    std::map<TopicPartition, std::int64_t, PartitionOrder> first_read_;  // the first offset read since assigned
    std::map<TopicPartition, std::int64_t> acknowledged_;                // from the sinks' on_commit
    std::map<TopicPartition, std::int64_t> acknowledged_at_assignment_;
    std::map<TopicPartition, std::int64_t> committed_;  // to Kafka: the next offset to read
    // Fencing::partition: where a claimed partition started (after what the table held)
    std::map<TopicPartition, std::int64_t> claimed_starts_;
};

}  // namespace redsink::kafka::detail
