#pragma once

#include <redsink/detail/utf8.hpp>
#include <redsink/error.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>
#include <redsink/types.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redsink {

// One column of a RowSchema.
struct RowColumn {
    std::string name;  // as the source names it; the table's column is its lowercase form
    ColumnType type;   // type.nullable: the column takes NULL
    bool key = false;  // part of the row's key (a key column is NOT NULL)

    friend bool operator==(const RowColumn&, const RowColumn&) = default;
};

// The columns of records known at run time (docs/rows.md): an ordered list of columns, each with
// its name, SQL type, whether it takes NULL and whether it is part of the key. What a reflected
// struct's members and primary_key<...> say at compile time, a RowSchema says when it is made,
// and the same rules are checked then, with errors naming the column: names PostgreSQL and
// Redshift both keep (at most 63 bytes, UTF-8, not a system column nor one of the sink's own),
// no two names that fold to one column, 1 to 1,600 columns, types that exist (VARCHAR(1) to
// VARCHAR(65535), DECIMAL precision 1 to 38 and scale at most the precision), key columns NOT NULL.
class RowSchema {
public:
    explicit RowSchema(std::vector<RowColumn> columns) : columns_(std::move(columns)) {
        if (columns_.empty()) fail("has no column; a table needs at least one");
        if (columns_.size() > 1600)
            fail("has " + std::to_string(columns_.size()) + " columns; a table holds at most 1,600");
        table_columns_.reserve(columns_.size());
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const auto& column = columns_[i];
            table_columns_.push_back(checked_name(column.name));
            check_type(column);
            if (column.key) keys_.push_back(i);
            if (!by_name_.emplace(column.name, i).second) fail("names the column \"" + column.name + "\" twice");
            for (std::size_t j = 0; j < i; ++j)
                if (table_columns_[j] == table_columns_[i])
                    fail("has the columns \"" + columns_[j].name + "\" and \"" + column.name +
                         "\", which differ only in letter case and so would be one column");
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }
    [[nodiscard]] const std::vector<RowColumn>& columns() const noexcept { return columns_; }
    [[nodiscard]] const RowColumn& column(std::size_t index) const { return columns_.at(index); }
    // The table's name of column `index`: its name lowercased.
    [[nodiscard]] const std::string& table_column(std::size_t index) const { return table_columns_.at(index); }
    // The key columns' indexes, in column order.
    [[nodiscard]] const std::vector<std::size_t>& key_indexes() const noexcept { return keys_; }
    [[nodiscard]] bool is_key(std::size_t index) const noexcept {
        return index < columns_.size() && columns_[index].key;
    }
    // The index of the column named `name` (as the source names it), or none.
    [[nodiscard]] std::optional<std::size_t> find(std::string_view name) const {
        const auto found = by_name_.find(std::string(name));
        if (found == by_name_.end()) return std::nullopt;
        return found->second;
    }

    // The table these rows are written to, in `dialect`.
    [[nodiscard]] sql::TableSpec table_spec(sql::TableRef name, Dialect dialect,
                                            sql::RedshiftLayout layout = {}) const {
        sql::TableSpec spec{std::move(name), {}, dialect, std::move(layout)};
        spec.columns.reserve(columns_.size());
        for (std::size_t i = 0; i < columns_.size(); ++i)
            spec.columns.push_back({table_columns_[i], columns_[i].type, columns_[i].key});
        return spec;
    }

    friend bool operator==(const RowSchema& a, const RowSchema& b) { return a.columns_ == b.columns_; }

private:
    [[noreturn]] static void fail(const std::string& why) {
        throw Error(ErrorKind::schema, {}, "the row schema " + why);
    }
    [[noreturn]] static void fail(const RowColumn& column, const std::string& why) {
        fail("column \"" + column.name + "\" " + why);
    }

    static std::string checked_name(const std::string& name) {
        if (name.empty()) fail("has a column with an empty name");
        if (detail::check_utf8(name).fault != detail::Utf8Fault::none)
            fail("has a column whose name is not valid UTF-8 or holds a NUL byte");
        if (name.size() > sql::max_identifier_bytes)
            fail("has the column \"" + name +
                 "\", whose name is longer than 63 bytes, the longest column name PostgreSQL and Redshift both keep");
        auto column = sql::normalize_identifier(name, "column name");
        for (const std::string_view reserved : {"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid", "oid"})
            if (column == reserved) fail("has the column \"" + name + "\", named like a PostgreSQL system column");
        if (column == sql::op_column || column == sql::keep_column)
            fail("has the column \"" + name + "\", a name reserved for the sink's stage table");
        return column;
    }

    static void check_type(const RowColumn& column) {
        const auto& type = column.type;
        if (type.kind == SqlKind::varchar && (type.length < 1 || type.length > redshift_max_varchar))
            fail(column, "is VARCHAR(" + std::to_string(type.length) + "); a VARCHAR holds 1 to 65535");
        if (type.kind == SqlKind::decimal && (type.precision < 1 || type.precision > 38 || type.scale > type.precision))
            fail(column, "is DECIMAL(" + std::to_string(type.precision) + "," + std::to_string(type.scale) +
                             "); a DECIMAL has a precision of 1 to 38 and a scale of at most its precision");
        if (column.key && type.nullable) fail(column, "is part of the key and nullable: key columns are NOT NULL");
    }

    std::vector<RowColumn> columns_;
    std::vector<std::string> table_columns_;
    std::vector<std::size_t> keys_;
    std::unordered_map<std::string, std::size_t> by_name_;
};

}  // namespace redsink
