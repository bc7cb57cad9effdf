#pragma once

// exactly_once: what a table's positions hold, read without a sink (docs/delivery.md).
#include <redsink/detail/positions.hpp>
#include <redsink/detail/sink_start.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/identifiers.hpp>

#include <cstdint>
#include <string>

namespace redsink {

// Per partition, the offset up to which the exactly_once sinks of `options`' identity (its target
// table and source_name) committed every event, as their positions table holds it now; nothing
// when that table does not exist. What a source resumes after before the sink exists: a Kafka
// route of Rows makes its sink at its topic's first message (kafka::Connector::route_rows), and
// must know where to start reading before it. Read on a connection of its own, closed at the end;
// transient failures are retried within the options' retry budget. The sink made later reads
// them again when it takes its identity or claims its partitions: the positions only grow, and
// the events at or below them are skipped.
[[nodiscard]] inline Positions committed_positions(const ConnectionConfig& config, const SinkOptions& options) {
    const auto target = sql::TableRef::make(options.schema, options.table);
    const auto table = detail::positions_table(target);
    Positions positions;
    detail::retrying(options, "reading the positions of " + target.display(), [&] {
        positions.clear();
        pq::Connection conn(config);
        if (conn.exec(sql::table_exists_query_sql(), table.schema, table.table).empty()) return;
        const auto rows = conn.exec(detail::read_positions_sql(table), options.source_name);
        for (int row = 0; row < rows.rows(); ++row)
            if (const auto offset = rows.as<std::int64_t>(row, 1); offset > detail::no_offset)
                positions[rows.as<std::int32_t>(row, 0)] = offset;
    });
    return positions;
}

}  // namespace redsink
