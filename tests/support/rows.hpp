#pragma once

// The seeded Account stream of support/stream.hpp as Rows: Account's columns as a RowSchema, an
// event as a Row.
#include <redsink/change.hpp>
#include <redsink/row.hpp>
#include <redsink/row_schema.hpp>

#include <support/stream.hpp>

#include <memory>
#include <vector>

namespace redsink_test {

using RowChange = redsink::Change<redsink::Row>;
using redsink::ColumnType;
using redsink::Row;
using redsink::RowColumn;
using redsink::RowSchema;
using redsink::SqlKind;

// Account's columns as a RowSchema: what reflection says of the struct, said at run time.
inline std::shared_ptr<const RowSchema> account_schema(bool keyed = true) {
    return std::make_shared<const RowSchema>(std::vector<RowColumn>{
        {"id", ColumnType{SqlKind::int64}, keyed},
        {"version", ColumnType{SqlKind::int64}},
        {"name", ColumnType{SqlKind::text}},
        {"note", ColumnType{.kind = SqlKind::text, .nullable = true}},
        {"balance", ColumnType{.kind = SqlKind::decimal, .precision = 12, .scale = 2}},
        {"active", ColumnType{SqlKind::boolean}},
    });
}

// The event as a Row: a delete carries its key (and the version, newest_wins's order column) and
// NULL elsewhere.
inline RowChange as_row(const AccountChange& change, const std::shared_ptr<const RowSchema>& schema) {
    Row row(schema);
    row[0] = change.row.id;
    row[1] = change.row.version;
    if (!redsink::is_delete(change.op)) {
        row[2] = change.row.name;
        if (change.row.note) row[3] = *change.row.note;
        row[4] = redsink::decimal_value::from(change.row.balance);
        row[5] = change.row.active;
    }
    return {change.op, std::move(row), change.position};
}

}  // namespace redsink_test
