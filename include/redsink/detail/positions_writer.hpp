#pragma once

#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// exactly_once: what a batch writes to the positions table, in the batch's own transaction, and
// how its answers are read. One per task; it owns the task's view of the table (the partitions
// that have a row) and remembers what the last transaction planned, to settle a lost COMMIT.
class PositionsWriter {
public:
    explicit PositionsWriter(PositionsTarget target) : target_(std::move(target)) {}

    [[nodiscard]] const PositionsTarget& target() const noexcept { return target_; }

    // The positions steps of a batch: per partition its events (and dead letters) reached, the
    // highest offset. Fencing::identity: an UPDATE of the partition's row (an INSERT the first
    // time) that must change one row, then the fence check that must find this sink's epoch.
    // Fencing::partition: an UPDATE that must find the row at the epoch the sink claimed it with.
    [[nodiscard]] std::vector<Step> steps(std::span<const Position> events, std::span<const DeadLetter> letters,
                                          const std::string& now) {
        reached_.clear();
        inserting_.clear();
        for (const auto& position : events) reach(position);
        for (const auto& letter : letters) reach(letter.position);
        std::vector<Step> out;
        const auto position = [&](std::string sql, Check check, std::int32_t partition,
                                  std::vector<std::string> params) {
            out.push_back({.kind = Step::Kind::position,
                           .sql = std::move(sql),
                           .check = check,
                           .params = std::move(params),
                           .partition = partition});
        };
        for (const auto& [partition, offset] : reached_) {
            if (target_.partitions) {
                position(update_claimed_position_sql(target_.table), Check::partition_held, partition,
                         values(partition, offset, claimed_epoch(partition), now));
                continue;
            }
            const bool known = target_.known.contains(partition);
            if (!known) inserting_.push_back(partition);
            position(known ? update_position_sql(target_.table) : insert_position_sql(target_.table),
                     known ? Check::row_written : Check::none, partition,
                     values(partition, offset, target_.epoch, now));
        }
        if (!target_.partitions)
            position(check_fence_sql(target_.table), Check::identity_held, fence_partition,
                     {target_.source, std::to_string(target_.epoch)});
        return out;
    }

    // The transaction of the last steps() committed: the rows it inserted exist now.
    void committed() { target_.known.insert(inserting_.begin(), inserting_.end()); }

    // The error that a failed check of `step` means; the transaction is rolled back already.
    [[nodiscard]] Error check_failed(pq::Connection& conn, const Step& step) const {
        if (step.check == Check::partition_held)
            return partition_fenced_error(conn, target_, step.partition, claimed_epoch(step.partition));
        if (step.check == Check::identity_held) return fenced_error(conn, target_);
        return Error(ErrorKind::other, {},
                     "the row of partition " + std::to_string(step.partition) + " in " + target_.table.display() +
                         " that the sink for " + target_.identity() +
                         " wrote is gone: the positions table was changed under the sink; the batch was rolled back");
    }

    // After a lost COMMIT answer, on a session opened again: reads the positions table. True when
    // the last steps() committed (every partition it reached holds its offset, written in this
    // sink's epoch), false when it did not. Throws the fenced error when a newer sink holds the
    // identity (with Fencing::partition: claimed one of the batch's partitions), and the read's
    // own error (the answer stays unknown) when it fails.
    [[nodiscard]] bool verify_commit(pq::Connection& conn) {
        if (!target_.partitions) {
            const auto fence = conn.exec(read_fence_sql(target_.table), target_.source);
            if (fence.empty() || fence.as<std::int64_t>(0, 0) != target_.epoch) throw fenced_error(conn, target_);
        }
        const auto rows = conn.exec(read_positions_sql(target_.table), target_.source);
        bool committed = true;
        for (const auto& [partition, offset] : reached_) {
            const auto epoch = target_.partitions ? claimed_epoch(partition) : target_.epoch;
            bool found = false;
            for (int row = 0; row < rows.rows() && !found; ++row) {
                if (rows.as<std::int32_t>(row, 0) != partition) continue;
                // Claimed by a newer sink: whether this batch committed before the claim no longer
                // matters (the newer sink resumed from the table); this one commits nothing more.
                if (target_.partitions && rows.as<std::int64_t>(row, 2) != epoch)
                    throw partition_fenced_error(conn, target_, partition, epoch);
                found = rows.as<std::int64_t>(row, 1) >= offset && rows.as<std::int64_t>(row, 2) == epoch;
            }
            if (!found) committed = false;
        }
        if (committed) this->committed();
        return committed;
    }

private:
    void reach(const Position& position) {
        for (auto& [partition, offset] : reached_)
            if (partition == position.partition) {
                offset = std::max(offset, position.offset);
                return;
            }
        reached_.emplace_back(position.partition, position.offset);
    }

    [[nodiscard]] std::vector<std::string> values(std::int32_t partition, std::int64_t offset, std::int64_t epoch,
                                                  const std::string& now) const {
        return {target_.source,         std::to_string(partition),
                std::to_string(offset), std::to_string(epoch),
                target_.writer,         now};
    }

    // Fencing::partition: the epoch this sink holds `partition` with (Sink::write takes no event
    // of a partition it did not claim).
    [[nodiscard]] std::int64_t claimed_epoch(std::int32_t partition) const {
        if (const auto epoch = target_.partitions->find(partition)) return *epoch;
        throw Error(ErrorKind::other, {},
                    "the sink for " + target_.identity() + " holds no claim on partition " + std::to_string(partition) +
                        "; the batch was rolled back");
    }

    PositionsTarget target_;
    std::vector<std::pair<std::int32_t, std::int64_t>> reached_;  // by the last steps()
    std::vector<std::int32_t> inserting_;                         // partitions whose row the last steps() insert
};

}  // namespace redsink::detail
