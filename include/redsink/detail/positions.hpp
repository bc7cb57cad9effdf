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
