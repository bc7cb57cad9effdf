#pragma once

#include <redsink/detail/dead_letters.hpp>
#include <redsink/dialect.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/transaction.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>
#include <redsink/types.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace redsink::detail {

// The exactly_once delivery policy's table, "redsink_positions_<table>" beside the target
// (docs/delivery.md#the-positions-table). Per source (SinkOptions::source_name, "" by default):
// one row per partition with the highest offset committed, written in the transaction of the batch
// that reached it; and one row at partition -1 whose epoch says which sink holds the identity
// (the last one that started: it fenced the others).
//
// With Fencing::partition (SinkOptions::fencing), a sink holds partitions instead: each
// partition's row carries the epoch of the sink that claimed it last (claim_partitions), and a
// batch updates a partition's row only while it still holds that epoch. A row a claim inserted
// holds no_offset: nothing of the partition is committed yet.
inline constexpr std::int32_t fence_partition = -1;
inline constexpr std::int64_t no_offset = -1;

[[nodiscard]] inline sql::TableRef positions_table(const sql::TableRef& target) {
    return sql::own_table(target, "redsink_positions_");
}

[[nodiscard]] inline sql::TableSpec positions_table_spec(const sql::TableRef& target, Dialect dialect) {
    sql::TableSpec spec;
    spec.name = positions_table(target);
    spec.dialect = dialect;
    spec.unique_key = true;
    const auto varchar = [](std::uint32_t length, bool nullable = false) {
        return ColumnType{SqlKind::varchar, length, 0, 0, nullable};
    };
    spec.columns = {
        {"source_name", varchar(255), true},
        {"source_partition", ColumnType{SqlKind::int32}, true},
        {"committed_offset", ColumnType{SqlKind::int64}},
        {"epoch", ColumnType{SqlKind::int64}},
        {"writer", varchar(255, true)},
        {"written_at", ColumnType{SqlKind::timestamp}},
    };
    return spec;
}

// Fencing::partition: the partitions a sink claimed, each with the epoch it holds it with. The
// app's thread claims (Sink::claim_partitions), the tasks' threads read it for every batch.
class PartitionEpochs {
public:
    void set(std::int32_t partition, std::int64_t epoch) {
        const std::lock_guard lock(mutex_);
        epochs_[partition] = epoch;
    }
    [[nodiscard]] std::optional<std::int64_t> find(std::int32_t partition) const {
        const std::lock_guard lock(mutex_);
        const auto found = epochs_.find(partition);
        if (found == epochs_.end()) return std::nullopt;
        return found->second;
    }

private:
    mutable std::mutex mutex_;
    std::map<std::int32_t, std::int64_t> epochs_;
};

// Where a sink's batches write their positions, and the epoch it holds its identity with (or,
// with Fencing::partition, the epochs it holds its partitions with).
struct PositionsTarget {
    sql::TableRef table;
    std::string target;  // the target's name, for errors
    std::string source;
    std::int64_t epoch = 0;
    std::string writer;                             // this process: host, pid and application_name
    std::set<std::int32_t> known{};                 // partitions that have a row (updated, not inserted)
    std::shared_ptr<PartitionEpochs> partitions{};  // Fencing::partition; none: the identity's fence

    [[nodiscard]] std::string identity() const {
        return source.empty() ? target : target + " (source \"" + source + "\")";
    }
};

// ---- Statements (both dialects; bound values) ---------------------------------------------

[[nodiscard]] inline std::string update_position_sql(const sql::TableRef& table) {
    return "UPDATE " + table.quoted() +
           " SET \"committed_offset\" = $3, \"epoch\" = $4, \"writer\" = $5, \"written_at\" = $6"
           " WHERE \"source_name\" = $1 AND \"source_partition\" = $2";
}

[[nodiscard]] inline std::string insert_position_sql(const sql::TableRef& table) {
    return "INSERT INTO " + table.quoted() +
           " (\"source_name\", \"source_partition\", \"committed_offset\", \"epoch\", \"writer\", \"written_at\")"
           " VALUES ($1, $2, $3, $4, $5, $6)";
}

// One row while the sink still holds its identity, none once a newer one fenced it.
[[nodiscard]] inline std::string check_fence_sql(const sql::TableRef& table) {
    return "SELECT 1 FROM " + table.quoted() + " WHERE \"source_name\" = $1 AND \"source_partition\" = -1" +
           " AND \"epoch\" = $2";
}

[[nodiscard]] inline std::string read_fence_sql(const sql::TableRef& table) {
    return "SELECT \"epoch\", \"writer\", \"written_at\" FROM " + table.quoted() +
           " WHERE \"source_name\" = $1 AND \"source_partition\" = -1";
}

// Fencing::partition: a batch's update of a partition it holds; no row once a newer sink claimed it.
[[nodiscard]] inline std::string update_claimed_position_sql(const sql::TableRef& table) {
    return "UPDATE " + table.quoted() +
           " SET \"committed_offset\" = $3, \"writer\" = $5, \"written_at\" = $6"
           " WHERE \"source_name\" = $1 AND \"source_partition\" = $2 AND \"epoch\" = $4";
}

[[nodiscard]] inline std::string read_partition_sql(const sql::TableRef& table) {
    return "SELECT \"epoch\", \"writer\", \"written_at\", \"committed_offset\" FROM " + table.quoted() +
           " WHERE \"source_name\" = $1 AND \"source_partition\" = $2";
}

[[nodiscard]] inline std::string read_positions_sql(const sql::TableRef& table) {
    return "SELECT \"source_partition\", \"committed_offset\", \"epoch\" FROM " + table.quoted() +
           " WHERE \"source_name\" = $1 AND \"source_partition\" >= 0";
}

// ---- Fencing ------------------------------------------------------------------------------

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

// The error of a sink that a newer one fenced, naming the newer one (read from the fence row).
[[nodiscard]] inline Error fenced_error(pq::Connection& conn, const PositionsTarget& target) {
    std::string by = "a newer sink";
    try {
        const auto fence = conn.exec(read_fence_sql(target.table), target.source);
        if (!fence.empty())
            by = fmt::format("the sink that started at {} UTC (epoch {}, {})", fence.get(0, 2), fence.get(0, 0),
                             fence.is_null(0, 1) ? "?" : std::string(fence.get(0, 1)));
    } catch (const Error&) {
    }
    return Error(ErrorKind::fenced, {},
                 "the sink for " + target.identity() + " (epoch " + std::to_string(target.epoch) + ") was fenced by " +
                     by + " for the same table and source; it commits nothing more",
                 {}, "positions table " + target.table.display());
}

// Fencing::partition: the error of a sink whose partition a newer sink claimed, naming the
// newer one (read from the partition's row).
[[nodiscard]] inline Error partition_fenced_error(pq::Connection& conn, const PositionsTarget& target,
                                                  std::int32_t partition, std::int64_t epoch) {
    std::string by = "a newer sink";
    try {
        const auto row = conn.exec(read_partition_sql(target.table), target.source, partition);
        if (row.empty())
            by = "nobody: its row is gone (the positions table was changed under the sink)";
        else
            by = fmt::format("the sink that claimed it (epoch {}, {}; its row written at {} UTC)", row.get(0, 0),
                             row.is_null(0, 1) ? "?" : std::string(row.get(0, 1)), row.get(0, 2));
    } catch (const Error&) {
    }
    return Error(ErrorKind::fenced, {},
                 "the sink for " + target.identity() + " (partition " + std::to_string(partition) + ", epoch " +
                     std::to_string(epoch) + ") was fenced by " + by +
                     " for the same table, source and partition; it commits nothing more",
                 {}, "positions table " + target.table.display());
}

}  // namespace redsink::detail
