#pragma once

#include <redsink/pq/error.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>

#include <fmt/format.h>
#include <range/v3/view/transform.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::sql {

// Redshift refuses $32768 and statements over 16 MB; the builders and the executor stay below.
inline constexpr std::size_t max_bind_parameters = 32767;
inline constexpr std::size_t max_statement_bytes = std::size_t{16} << 20;

// The session's TEMP table that a batch is staged in before it is applied to the target.
inline constexpr std::string_view stage_table = "redsink_stage";

// The op column's values in the stage: a row to insert, a key to delete, and a row to insert
// that the batch deleted later (kept by a delete mode that keeps rows, such as soft_delete).
inline constexpr char op_insert = 'i';
inline constexpr char op_delete = 'd';
inline constexpr char op_deleted_insert = 'x';

// Which staged rows a statement applies to.
enum class Staged {
    all,
    inserts,  // op 'i' and 'x'
    deletes,  // op 'd'
};

[[nodiscard]] constexpr std::size_t max_rows_per_insert(std::size_t params_per_row) noexcept {
    return params_per_row == 0 ? 0 : max_bind_parameters / params_per_row;
}

namespace detail {

[[nodiscard]] inline std::string column_list(std::span<const ColumnSpec> columns, std::string_view prefix = {}) {
    return fmt::format("{}", fmt::join(columns | ranges::views::transform([&](const ColumnSpec& column) {
                                           return std::string(prefix) + quote_identifier(column.name);
                                       }),
                                       ", "));
}

// "t"."k1" = "s"."k1" AND "t"."k2" = "s"."k2"
[[nodiscard]] inline std::string key_match(const TableSpec& spec, std::string_view target, std::string_view stage) {
    std::string out;
    for (const auto index : spec.key_indexes()) {
        const auto column = quote_identifier(spec.columns[index].name);
        if (!out.empty()) out += " AND ";
        out += fmt::format("{}.{} = {}.{}", target, column, stage, column);
    }
    if (out.empty())
        throw Error(ErrorKind::schema, {}, "table " + spec.name.display() + " has no key columns to match rows on");
    return out;
}

// The condition on the stage's op column for `which` rows (empty for all of them).
[[nodiscard]] inline std::string staged_filter(std::string_view stage, Staged which) {
    if (which == Staged::all) return {};
    return fmt::format("{}.{} {} '{}'", stage, quote_identifier(op_column), which == Staged::inserts ? "<>" : "=",
                       op_delete);
}

}  // namespace detail

// INSERT INTO table (columns) VALUES ($1, ...), ... for `rows` rows, with the stage's op and keep
// columns first when `staged`. On Redshift a JSON column's parameter goes through JSON_PARSE into
// SUPER.
[[nodiscard]] inline std::string insert_values_sql(const std::string& table_quoted, std::span<const ColumnSpec> columns,
                                                   bool staged, std::size_t rows, Dialect dialect) {
    const std::size_t leading = staged ? 2 : 0;
    const std::size_t per_row = columns.size() + leading;
    if (rows == 0 || rows > max_rows_per_insert(per_row))
        throw Error(ErrorKind::other, {},
                    fmt::format("an INSERT of {} rows of {} values is outside 1 to {} rows", rows, per_row,
                                max_rows_per_insert(per_row)));
    std::string out = "INSERT INTO " + table_quoted + " (";
    if (staged)
        out += quote_identifier(op_column) + ", " + quote_identifier(keep_column) + (columns.empty() ? "" : ", ");
    out += detail::column_list(columns) + ") VALUES ";
    out.reserve(out.size() + rows * per_row * 10);
    std::size_t param = 1;
    for (std::size_t row = 0; row < rows; ++row) {
        out += row == 0 ? "(" : ", (";
        for (std::size_t value = 0; value < per_row; ++value) {
            if (value > 0) out += ", ";
            const bool super =
                dialect == Dialect::redshift && value >= leading && columns[value - leading].type.kind == SqlKind::json;
            if (super) out += "JSON_PARSE(";
            out += '$';
            out += std::to_string(param++);
            if (super) out += ')';
        }
        out += ')';
    }
    return out;
}

// The stage: the op, the keep text (one character per record column), and the record's columns,
// all nullable (a delete carries only its key).
[[nodiscard]] inline std::string create_stage_sql(const TableSpec& spec, bool if_not_exists) {
    std::string out =
        fmt::format("CREATE TEMP TABLE {}{} ({} CHAR(1) NOT NULL, {} VARCHAR({})",
                    if_not_exists ? "IF NOT EXISTS " : "", quote_identifier(stage_table), quote_identifier(op_column),
                    quote_identifier(keep_column), std::max<std::size_t>(spec.columns.size(), 1));
    for (const auto& column : spec.columns)
        out += fmt::format(", {} {}", quote_identifier(column.name), sql_type_name(column.type, spec.dialect));
    return out + ")";
}

[[nodiscard]] inline std::string insert_stage_sql(const TableSpec& spec, std::size_t rows) {
    return insert_values_sql(quote_identifier(stage_table), spec.columns, true, rows, spec.dialect);
}

// Empties the stage inside a batch's transaction, on PostgreSQL only: Redshift's TRUNCATE
// commits the transaction it is in.
[[nodiscard]] inline std::string truncate_stage_sql() {
    return "TRUNCATE " + quote_identifier(stage_table);
}

// Empties the stage inside a batch's transaction, on Redshift (the deleted rows stay until the
// stage is dropped: see detail::StageState).
[[nodiscard]] inline std::string delete_stage_rows_sql() {
    return "DELETE FROM " + quote_identifier(stage_table);
}

[[nodiscard]] inline std::string drop_stage_sql() {
    return "DROP TABLE " + quote_identifier(stage_table);
}

// Frees a prepared statement on the server. `name` is one of the sink's own: lowercase letters,
// digits and underscores, written unquoted as Redshift's documentation shows.
[[nodiscard]] inline std::string deallocate_sql(std::string_view name) {
    const bool plain = !name.empty() && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == name.npos;
    if (!plain) throw Error(ErrorKind::other, {}, "not a prepared statement name of the sink's: " + std::string(name));
    return "DEALLOCATE " + std::string(name);
}

// Deletes the target rows whose key is staged (in `which` staged rows).
[[nodiscard]] inline std::string delete_using_stage_sql(const TableSpec& spec, Staged which = Staged::all) {
    const auto target = spec.name.quoted();
    const auto stage = quote_identifier(stage_table);
    std::string out =
        fmt::format("DELETE FROM {} USING {} WHERE {}", target, stage, detail::key_match(spec, target, stage));
    if (which != Staged::all) out += " AND " + detail::staged_filter(stage, which);
    return out;
}

// Copies the staged inserts into the target; `extra` adds columns set to SQL expressions
// (name, expression), such as a soft-delete flag.
[[nodiscard]] inline std::string insert_from_stage_sql(
    const TableSpec& spec, std::span<const std::pair<std::string, std::string>> extra = {}) {
    const auto stage = quote_identifier(stage_table);
    std::string names = detail::column_list(spec.columns);
    std::string values = detail::column_list(spec.columns);
    for (const auto& [name, constant] : extra) {
        names += ", " + quote_identifier(name);
        values += ", " + constant;
    }
    return fmt::format("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {}", spec.name.quoted(), names, values, stage,
                       detail::staged_filter(stage, Staged::inserts));
}

// Removes the staged deletes from the stage, once the delete statements applied them: a MERGE
// reads every row of its source (Redshift's takes a table, no subquery or condition), and must
// see only the rows to insert.
[[nodiscard]] inline std::string delete_staged_deletes_sql() {
    const auto stage = quote_identifier(stage_table);
    return fmt::format("DELETE FROM {} WHERE {}", stage, detail::staged_filter(stage, Staged::deletes));
}

// One MERGE of the stage into the target, after delete_staged_deletes_sql: the target rows whose
// key is staged get the staged values, the other staged rows are inserted; `extra` adds columns
// set to SQL expressions (name, expression), as in insert_from_stage_sql. Both clauses, as
// Redshift requires them (dg/r_MERGE.html); a record whose every column is in the key sets its
// key to itself. Redshift and PostgreSQL (15) both fail it when two staged rows match one target
// row: the stage holds one row per key (Reduction::last_per_key).
[[nodiscard]] inline std::string merge_from_stage_sql(const TableSpec& spec,
                                                      std::span<const std::pair<std::string, std::string>> extra = {}) {
    const auto target = spec.name.quoted();
    const auto stage = quote_identifier(stage_table);
    std::string sets;
    std::string names;
    std::string values;
    const auto set = [&](const std::string& name, const std::string& value) {
        sets.append(sets.empty() ? "" : ", ").append(name).append(" = ").append(value);
    };
    for (const auto& column : spec.columns) {
        const auto name = quote_identifier(column.name);
        names.append(names.empty() ? "" : ", ").append(name);
        values.append(values.empty() ? "" : ", ").append(stage + "." + name);
        if (!column.key) set(name, stage + "." + name);
    }
    for (const auto& [name, value] : extra) {
        names.append(", ").append(quote_identifier(name));
        values.append(", (").append(value).append(")");
        set(quote_identifier(name), "(" + value + ")");
    }
    if (sets.empty())
        for (const auto& column : spec.columns)
            if (column.key) set(quote_identifier(column.name), stage + "." + quote_identifier(column.name));
    return fmt::format(
        "MERGE INTO {} USING {} ON {} WHEN MATCHED THEN UPDATE SET {} WHEN NOT MATCHED THEN INSERT ({}) VALUES ({})",
        target, stage, detail::key_match(spec, target, stage), sets, names, values);
}

// Sets columns of the target rows whose key is staged (in `which` staged rows): assignments
// are (column, SQL expression).
[[nodiscard]] inline std::string update_from_stage_sql(
    const TableSpec& spec, Staged which, std::span<const std::pair<std::string, std::string>> assignments) {
    const auto target = spec.name.quoted();
    const auto stage = quote_identifier(stage_table);
    std::string sets;
    for (const auto& [name, value] : assignments) {
        if (!sets.empty()) sets += ", ";
        sets += quote_identifier(name) + " = " + value;
    }
    auto out =
        fmt::format("UPDATE {} SET {} FROM {} WHERE {}", target, sets, stage, detail::key_match(spec, target, stage));
    if (which != Staged::all) out += " AND " + detail::staged_filter(stage, which);
    return out;
}

// Sets the values that staged rows keep (the keep column) to the target's, for keys the target
// holds: one UPDATE of the stage, before the plan's statements. A kept value of a key the target
// does not hold stays NULL. Nothing when no column can be kept (every column in the key).
[[nodiscard]] inline std::string keep_stored_sql(const TableSpec& spec) {
    const auto target = spec.name.quoted();
    const auto stage = quote_identifier(stage_table);
    const auto keep = stage + "." + quote_identifier(keep_column);
    std::string sets;
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
        if (spec.columns[i].key) continue;
        const auto column = quote_identifier(spec.columns[i].name);
        if (!sets.empty()) sets += ", ";
        sets += fmt::format("{} = CASE WHEN SUBSTRING({}, {}, 1) = '1' THEN {}.{} ELSE {}.{} END", column, keep, i + 1,
                            target, column, stage, column);
    }
    if (sets.empty()) return {};
    return fmt::format("UPDATE {} SET {} FROM {} WHERE {} AND {} IS NOT NULL", stage, sets, target,
                       detail::key_match(spec, target, stage), keep);
}

// Serializes writers of one table on Redshift, which otherwise fails one of them with 1023: the
// first statement of every transaction that writes the target (docs/tasks.md).
[[nodiscard]] inline std::string lock_table_sql(const TableRef& table) {
    return "LOCK TABLE " + table.quoted();
}

// A table of the sink's own beside the target: `prefix` then the target's name, shortened with a
// hash of the name when that would pass 63 bytes.
[[nodiscard]] inline TableRef own_table(const TableRef& target, std::string_view prefix) {
    std::string name = std::string(prefix) + target.table;
    if (name.size() > max_identifier_bytes) {
        std::uint32_t hash = 2166136261u;  // FNV-1a
        for (const char c : target.table) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
        std::size_t keep = max_identifier_bytes - prefix.size() - 9;
        // Never cut a UTF-8 character in two.
        while (keep > 0 && (static_cast<unsigned char>(target.table[keep]) & 0xC0) == 0x80) --keep;
        name = fmt::format("{}{}_{:08x}", prefix, target.table.substr(0, keep), hash);
    }
    return {target.schema, std::move(name)};
}

// The table of the sink's own that its Redshift-dialect transactions lock instead of the target,
// so that readers of the target never wait: "redsink_lock_<table>".
[[nodiscard]] inline TableRef lock_table(const TableRef& target) {
    return own_table(target, "redsink_lock_");
}

[[nodiscard]] inline std::string create_lock_table_sql(const TableRef& lock) {
    return "CREATE TABLE IF NOT EXISTS " + lock.quoted() + " (" + quote_identifier("target") + " VARCHAR(255))";
}

// ---- PostgreSQL's faster forms ------------------------------------------------------------

// COPY ... FROM STDIN, with the stage's op and keep columns first when `staged`.
[[nodiscard]] inline std::string copy_sql(const std::string& table_quoted, std::span<const ColumnSpec> columns,
                                          bool staged) {
    std::string list = staged ? quote_identifier(op_column) + ", " + quote_identifier(keep_column) : std::string();
    if (staged && !columns.empty()) list += ", ";
    list += detail::column_list(columns);
    return fmt::format("COPY {} ({}) FROM STDIN", table_quoted, list);
}

// Inserts the staged inserts, replacing target rows with the same key. Needs a unique index on
// the key (the primary key that create_table makes).
[[nodiscard]] inline std::string upsert_from_stage_sql(
    const TableSpec& spec, std::span<const std::pair<std::string, std::string>> extra = {}) {
    std::string out = insert_from_stage_sql(spec, extra);
    std::string keys;
    std::string sets;
    for (const auto& column : spec.columns) {
        const auto name = quote_identifier(column.name);
        auto& list = column.key ? keys : sets;
        if (!list.empty()) list += ", ";
        list += column.key ? name : name + " = EXCLUDED." + name;
    }
    for (const auto& [name, constant] : extra) {
        if (!sets.empty()) sets += ", ";
        sets += quote_identifier(name) + " = EXCLUDED." + quote_identifier(name);
    }
    out += " ON CONFLICT (" + keys + ")";
    out += sets.empty() ? " DO NOTHING" : " DO UPDATE SET " + sets;
    return out;
}

}  // namespace redsink::sql
