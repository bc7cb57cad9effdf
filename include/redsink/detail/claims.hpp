#pragma once

#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/dialect.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/transaction.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

// exactly_once's claims: a sink taking its identity at start (the fence), or, with
// Fencing::partition, the partitions it is assigned. What a batch writes is in positions_writer.hpp.
namespace redsink::detail {

// This process, as the positions table's writer column shows it.
[[nodiscard]] inline std::string writer_name(const std::string& application_name) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return truncated_utf8(fmt::format("{} pid {}{}", host[0] ? host : "?", static_cast<long>(getpid()),
                                      application_name.empty() ? "" : " (" + application_name + ")"),
                          255);
}

// What a sink that started holds: its epoch, the positions committed so far (a row that holds
// no_offset has nothing committed: not among them), and the partitions that have a row.
struct Claim {
    std::int64_t epoch = 0;
    Positions positions;
    std::set<std::int32_t> rows{};
};

// Takes the lock a claim holds: the statement the Redshift dialect's batches begin with, or on
// PostgreSQL, whose batches write the positions table before they check it, SHARE ROW EXCLUSIVE
// on the positions table (it waits for the batches writing it and holds off new ones).
inline void lock_for_claim(pq::Connection& conn, const PositionsTarget& target, Dialect dialect,
                           const std::string& lock) {
    if (dialect == Dialect::redshift)
        conn.exec(lock);
    else
        conn.exec("LOCK TABLE " + target.table.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
}

// Raises the fence row's epoch (inserting the row the first time); the new epoch.
inline std::int64_t raise_fence(pq::Connection& conn, const PositionsTarget& target, const std::string& now) {
    const auto fence = conn.exec(read_fence_sql(target.table), target.source);
    if (fence.empty()) {
        conn.exec(insert_position_sql(target.table), target.source, fence_partition, 0, std::int64_t{1}, target.writer,
                  now);
        return 1;
    }
    const auto epoch = fence.as<std::int64_t>(0, 0) + 1;
    conn.exec(update_position_sql(target.table), target.source, fence_partition, 0, epoch, target.writer, now);
    return epoch;
}

// The sink's identity, taken from every older sink: in one transaction that the batches of the
// sinks holding it cannot overlap (`lock`: the statement the Redshift dialect's batches begin
// with; PostgreSQL's batches write the positions table first, and SHARE ROW EXCLUSIVE waits for
// them and holds off their writes), the fence row's epoch is raised, and the committed positions
// are read. An older sink's next transaction finds the epoch changed and commits nothing.
[[nodiscard]] inline Claim claim_identity(pq::Connection& conn, const PositionsTarget& target, Dialect dialect,
                                          const std::string& lock) {
    pq::Transaction transaction(conn);
    lock_for_claim(conn, target, dialect, lock);
    Claim claim;
    claim.epoch = raise_fence(conn, target, utc_timestamp_text());
    const auto rows = conn.exec(read_positions_sql(target.table), target.source);
    for (int row = 0; row < rows.rows(); ++row) {
        const auto partition = rows.as<std::int32_t>(row, 0);
        claim.rows.insert(partition);
        if (const auto offset = rows.as<std::int64_t>(row, 1); offset > no_offset) claim.positions[partition] = offset;
    }
    transaction.commit();
    return claim;
}

// Fencing::partition: what claim_partitions took, per partition its new epoch, and the positions
// committed in them (a partition with nothing committed is not among them).
struct PartitionClaim {
    std::map<std::int32_t, std::int64_t> epochs;
    Positions positions;
};

// Fencing::partition: takes `partitions` from every sink that held them, in one transaction
// under claim_identity's lock (a batch of an older holder either committed before it, and its
// positions are read here, or finds its partition's epoch changed and commits nothing). Each
// partition's row gets its epoch + 1 and this writer (a partition without a row gets one at
// epoch 1 holding no_offset), and the fence row's epoch is raised as well: a sink that holds the
// whole identity (Fencing::identity) is fenced by it.
[[nodiscard]] inline PartitionClaim claim_partitions(pq::Connection& conn, const PositionsTarget& target,
                                                     Dialect dialect, const std::string& lock,
                                                     const std::set<std::int32_t>& partitions) {
    pq::Transaction transaction(conn);
    lock_for_claim(conn, target, dialect, lock);
    const auto now = utc_timestamp_text();
    (void)raise_fence(conn, target, now);
    const auto rows = conn.exec(read_positions_sql(target.table), target.source);
    PartitionClaim claim;
    for (const auto partition : partitions) {
        std::optional<std::pair<std::int64_t, std::int64_t>> row;  // offset, epoch
        for (int i = 0; i < rows.rows() && !row; ++i)
            if (rows.as<std::int32_t>(i, 0) == partition)
                row.emplace(rows.as<std::int64_t>(i, 1), rows.as<std::int64_t>(i, 2));
        if (row) {
            const auto epoch = row->second + 1;
            conn.exec(update_position_sql(target.table), target.source, partition, row->first, epoch, target.writer,
                      now);
            claim.epochs[partition] = epoch;
            if (row->first > no_offset) claim.positions[partition] = row->first;
        } else {
            conn.exec(insert_position_sql(target.table), target.source, partition, no_offset, std::int64_t{1},
                      target.writer, now);
            claim.epochs[partition] = 1;
        }
    }
    transaction.commit();
    return claim;
}

}  // namespace redsink::detail
