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
inline constexpr std::int32_t fence_partition = -1;

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

// Where a sink's batches write their positions, and the epoch it holds its identity with.
struct PositionsTarget {
    sql::TableRef table;
    std::string target;  // the target's name, for errors
    std::string source;
    std::int64_t epoch = 0;
    std::string writer;              // this process: host, pid and application_name
    std::set<std::int32_t> known{};  // partitions that have a row (updated, not inserted)

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

// What a sink that started holds: its epoch, the positions committed so far, and the partitions
// that have a row.
struct Claim {
    std::int64_t epoch = 0;
    Positions positions;
};

// The sink's identity, taken from every older sink: in one transaction that the batches of the
// sinks holding it cannot overlap (`lock`: the statement the Redshift dialect's batches begin
// with; PostgreSQL's batches write the positions table first, and SHARE ROW EXCLUSIVE waits for
// them and holds off their writes), the fence row's epoch is raised, and the committed positions
// are read. An older sink's next transaction finds the epoch changed and commits nothing.
[[nodiscard]] inline Claim claim_identity(pq::Connection& conn, const PositionsTarget& target, Dialect dialect,
                                          const std::string& lock) {
    pq::Transaction transaction(conn);
    if (dialect == Dialect::redshift)
        conn.exec(lock);
    else
        conn.exec("LOCK TABLE " + target.table.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
    Claim claim;
    const auto now = utc_timestamp_text();
    const auto fence = conn.exec(read_fence_sql(target.table), target.source);
    if (fence.empty()) {
        claim.epoch = 1;
        conn.exec(insert_position_sql(target.table), target.source, fence_partition, 0, claim.epoch, target.writer,
                  now);
    } else {
        claim.epoch = fence.as<std::int64_t>(0, 0) + 1;
        conn.exec(update_position_sql(target.table), target.source, fence_partition, 0, claim.epoch, target.writer,
                  now);
    }
    const auto rows = conn.exec(read_positions_sql(target.table), target.source);
    for (int row = 0; row < rows.rows(); ++row)
        claim.positions[rows.as<std::int32_t>(row, 0)] = rows.as<std::int64_t>(row, 1);
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

}  // namespace redsink::detail
