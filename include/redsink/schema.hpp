#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/ddl.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/table.hpp>

#include <string>
#include <vector>

namespace redsink {

// What the schema policy allows at start.
struct SchemaRules {
    bool creates_table = false;
    bool adds_columns = false;
};

// What prepare_table found and did.
struct TableSetup {
    bool created = false;
    std::vector<std::string> added_columns;
    // The table has a primary key on exactly the record's key columns.
    bool key_enforced = false;
};

[[nodiscard]] inline std::vector<sql::CatalogColumn> read_table_columns(pq::Connection& conn,
                                                                        const sql::TableRef& table) {
    const auto result = conn.exec(sql::columns_query_sql(), table.schema, table.table);
    std::vector<sql::CatalogColumn> columns;
    columns.reserve(static_cast<std::size_t>(result.rows()));
    for (int row = 0; row < result.rows(); ++row) {
        const auto number = [&](int column) -> std::optional<int> {
            if (result.is_null(row, column)) return std::nullopt;
            return result.as<int>(row, column);
        };
        columns.push_back({std::string(result.get(row, 0)), std::string(result.get(row, 1)), number(2), number(3),
                           number(4), result.get(row, 5) == "YES", !result.is_null(row, 6),
                           std::string(result.get(row, 7))});
    }
    return columns;
}

[[nodiscard]] inline std::vector<std::string> read_primary_key(pq::Connection& conn, const sql::TableRef& table) {
    const auto result = conn.exec(sql::primary_key_query_sql(), table.schema, table.table);
    std::vector<std::string> key;
    for (int row = 0; row < result.rows(); ++row) key.emplace_back(result.get(row, 0));
    return key;
}

// What the catalog says of a table before the sink touches it.
struct TableState {
    std::vector<sql::CatalogColumn> columns;  // empty: the table does not exist
    std::vector<std::string> primary_key;
};

[[nodiscard]] inline TableState inspect_table(pq::Connection& conn, const sql::TableRef& table) {
    TableState state{read_table_columns(conn, table), {}};
    if (!state.columns.empty()) state.primary_key = read_primary_key(conn, table);
    return state;
}

// Whether the table will have a primary key on exactly the record's key columns once
// prepare_table made it ready: the key it has, or the key create_table_sql gives it.
[[nodiscard]] inline bool key_enforced(const sql::TableSpec& spec, const TableState& state) {
    std::vector<std::string> expected;
    for (const auto index : spec.key_indexes()) expected.push_back(spec.columns[index].name);
    if (expected.empty()) return false;
    return state.columns.empty() ? spec.unique_key : state.primary_key == expected;
}

// Makes the target table ready for the record, within what the rules allow: creates a missing
// schema and table, adds missing columns as nullable, and refuses every other difference with
// an error that names the table, the column and both types. Never changes a type, drops a
// column or changes the key. `state` is what inspect_table found.
inline TableSetup prepare_table(pq::Connection& conn, const sql::TableSpec& spec, SchemaRules rules,
                                const TableState& state) {
    const auto fail = [&](const std::string& why) {
        throw Error(ErrorKind::schema, {}, "table " + spec.name.display() + ": " + why);
    };
    TableSetup setup;
    auto catalog = state.columns;
    if (catalog.empty()) {
        if (!rules.creates_table)
            fail(
                "does not exist, and fixed_schema does not create tables; create it, or use create_table or "
                "evolve_schema");
        if (conn.exec(sql::schema_exists_query_sql(), spec.name.schema).empty())
            conn.exec(sql::create_schema_sql(spec.name));
        conn.exec(sql::create_table_sql(spec));
        setup.created = true;
        catalog = read_table_columns(conn, spec.name);
        if (catalog.empty()) fail("was created but cannot be read from information_schema.columns");
    }

    const auto find = [&](const std::string& name) -> const sql::CatalogColumn* {
        for (const auto& column : catalog)
            if (column.name == name) return &column;
        return nullptr;
    };
    for (const auto& expected : spec.columns) {
        if (const auto* actual = find(expected.name)) {
            if (auto problem = sql::incompatibility(expected, *actual, spec.dialect))
                fail("column \"" + expected.name + "\" cannot be written: " + *problem +
                     "; the sink never changes a column's type");
            continue;
        }
        if (!rules.adds_columns)
            fail("has no column \"" + expected.name + "\" (" + sql_type_name(expected.type, spec.dialect) +
                 ") for the record's member; add it, or use evolve_schema");
        if (expected.key) fail("has no key column \"" + expected.name + "\"; the sink never changes a table's key");
        conn.exec(sql::add_column_sql(spec, expected));
        setup.added_columns.push_back(expected.name);
    }
    for (const auto& actual : catalog) {
        if (spec.find(actual.name) == nullptr && !actual.nullable && !actual.has_default)
            fail("column \"" + actual.name + "\" (" + actual.type_text() +
                 ") is not in the record, and is NOT NULL without a default, so no row could be inserted; make it "
                 "nullable or give it a default");
    }

    std::vector<std::string> expected_key;
    for (const auto index : spec.key_indexes()) expected_key.push_back(spec.columns[index].name);
    const auto actual_key = setup.created ? read_primary_key(conn, spec.name) : state.primary_key;
    if (!actual_key.empty() && !expected_key.empty() && actual_key != expected_key) {
        const auto list = [](const std::vector<std::string>& names) {
            std::string out;
            for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
            return "(" + out + ")";
        };
        fail("its primary key " + list(actual_key) + " differs from the record's key " + list(expected_key) +
             "; the sink never changes a key");
    }
    setup.key_enforced = !expected_key.empty() && actual_key == expected_key;
    return setup;
}

inline TableSetup prepare_table(pq::Connection& conn, const sql::TableSpec& spec, SchemaRules rules) {
    return prepare_table(conn, spec, rules, inspect_table(conn, spec.name));
}

// Creates the table that Redshift-dialect transactions lock first (sql::lock_table), when it is
// missing. Two sinks starting at once may both try: the loser finds it made.
inline void prepare_lock_table(pq::Connection& conn, const sql::TableRef& target) {
    const auto lock = sql::lock_table(target);
    if (!read_table_columns(conn, lock).empty()) return;
    try {
        conn.exec(sql::create_lock_table_sql(lock));
    } catch (const Error& error) {
        if (!read_table_columns(conn, lock).empty()) return;
        throw Error(error.kind(), error.sqlstate(), error.message(), error.detail(),
                    "creating " + lock.display() + ", the table the redshift dialect locks before it writes " +
                        target.display() +
                        " (grant CREATE on the schema, create it as docs/tasks.md shows, or lock the target with "
                        "SinkOptions::lock = ApplyLock::target); " +
                        error.context());
    }
}

}  // namespace redsink
