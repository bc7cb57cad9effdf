#pragma once

#include <redsink/dialect.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/types.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace redsink::sql {

// The column the sink reserves in its stage table for each event's operation.
inline constexpr std::string_view op_column = "redsink_op";
// And for which of its columns the row keeps the table's value (Change::keep): one character per
// record column, '1' kept, '0' not; NULL when none is kept.
inline constexpr std::string_view keep_column = "redsink_keep";

struct ColumnSpec {
    std::string name;  // lowercased, unquoted
    ColumnType type;
    bool key = false;
};

// Redshift's physical layout, emitted only when asked for (PostgreSQL rejects it).
struct RedshiftLayout {
    std::string diststyle;             // AUTO, EVEN, KEY or ALL; empty: leave it to Redshift
    std::string distkey;               // a column; implies DISTSTYLE KEY
    std::vector<std::string> sortkey;  // columns, compound
};

// Everything the statement builders need to know about a target table.
struct TableSpec {
    TableRef name;
    std::vector<ColumnSpec> columns;
    Dialect dialect = Dialect::redshift;
    RedshiftLayout layout;
    // Whether a created table declares PRIMARY KEY on the key columns: not when rows append, so
    // that a key has many rows (the key columns are NOT NULL either way).
    bool unique_key = true;

    [[nodiscard]] std::vector<std::size_t> key_indexes() const {
        std::vector<std::size_t> keys;
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i].key) keys.push_back(i);
        return keys;
    }

    [[nodiscard]] const ColumnSpec* find(std::string_view column) const noexcept {
        for (const auto& spec : columns)
            if (spec.name == column) return &spec;
        return nullptr;
    }
};

}  // namespace redsink::sql
