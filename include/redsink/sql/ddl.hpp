#pragma once

#include <redsink/pq/error.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>

#include <fmt/format.h>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <string>

namespace redsink::sql {

[[nodiscard]] inline std::string create_schema_sql(const TableRef& table) {
    return "CREATE SCHEMA IF NOT EXISTS " + quote_identifier(table.schema);
}

namespace detail {

[[nodiscard]] inline std::string column_definition(const ColumnSpec& column, Dialect dialect) {
    std::string out = quote_identifier(column.name) + " " + sql_type_name(column.type, dialect);
    if (!column.type.nullable || column.key) out += " NOT NULL";
    return out;
}

[[nodiscard]] inline std::string redshift_layout(const TableSpec& spec) {
    const auto& layout = spec.layout;
    const auto require_column = [&](const std::string& name, const char* clause) {
        if (spec.find(name) == nullptr)
            throw Error(ErrorKind::schema, {},
                        fmt::format("{} column \"{}\" is not a column of {}", clause, name, spec.name.display()));
    };
    std::string out;
    if (!layout.diststyle.empty()) {
        if (layout.diststyle != "AUTO" && layout.diststyle != "EVEN" && layout.diststyle != "KEY" &&
            layout.diststyle != "ALL")
            throw Error(ErrorKind::schema, {},
                        "DISTSTYLE must be AUTO, EVEN, KEY or ALL, not \"" + layout.diststyle + "\"");
        out += " DISTSTYLE " + layout.diststyle;
    }
    if (!layout.distkey.empty()) {
        require_column(layout.distkey, "DISTKEY");
        if (layout.diststyle.empty()) out += " DISTSTYLE KEY";
        out += " DISTKEY (" + quote_identifier(layout.distkey) + ")";
    }
    if (!layout.sortkey.empty()) {
        for (const auto& column : layout.sortkey) require_column(column, "SORTKEY");
        out += fmt::format(" COMPOUND SORTKEY ({})",
                           fmt::join(layout.sortkey | ranges::views::transform(quote_identifier), ", "));
    }
    return out;
}

}  // namespace detail

// CREATE TABLE IF NOT EXISTS with NOT NULL on every non-optional member and on the key, the
// primary key (informational on Redshift), and Redshift's layout only when it was asked for.
[[nodiscard]] inline std::string create_table_sql(const TableSpec& spec) {
    const auto dialect = spec.dialect;
    std::string out = fmt::format("CREATE TABLE IF NOT EXISTS {} ({}", spec.name.quoted(),
                                  fmt::join(spec.columns | ranges::views::transform([&](const ColumnSpec& column) {
                                                return detail::column_definition(column, dialect);
                                            }),
                                            ", "));
    auto keys = spec.columns | ranges::views::filter([](const ColumnSpec& column) { return column.key; }) |
                ranges::views::transform([](const ColumnSpec& column) { return quote_identifier(column.name); });
    if (spec.unique_key && keys.begin() != keys.end()) out += fmt::format(", PRIMARY KEY ({})", fmt::join(keys, ", "));
    out += ")";
    const bool has_layout =
        !spec.layout.diststyle.empty() || !spec.layout.distkey.empty() || !spec.layout.sortkey.empty();
    if (has_layout) {
        if (dialect != Dialect::redshift)
            throw Error(ErrorKind::schema, {}, "DISTSTYLE, DISTKEY and SORTKEY exist only in the redshift dialect");
        out += detail::redshift_layout(spec);
    }
    return out;
}

// One column per statement (Redshift allows no more), always nullable: existing rows read NULL.
[[nodiscard]] inline std::string add_column_sql(const TableSpec& spec, const ColumnSpec& column) {
    return fmt::format("ALTER TABLE {} ADD COLUMN {} {}", spec.name.quoted(), quote_identifier(column.name),
                       sql_type_name(column.type, spec.dialect));
}

}  // namespace redsink::sql
