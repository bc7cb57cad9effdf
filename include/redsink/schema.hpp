#pragma once

#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/ddl.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/table.hpp>

#include <algorithm>
#include <optional>
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
        // Two sinks starting at once may both create the schema and the table (IF NOT EXISTS can
        // still collide on the catalog's unique indexes): the loser finds them made.
        const auto schema_exists = [&] { return !conn.exec(sql::schema_exists_query_sql(), spec.name.schema).empty(); };
        if (!schema_exists()) {
            try {
                conn.exec(sql::create_schema_sql(spec.name));
            } catch (const Error&) {
                if (!schema_exists()) throw;
            }
        }
        try {
            conn.exec(sql::create_table_sql(spec));
            setup.created = true;
        } catch (const Error&) {
            if (read_table_columns(conn, spec.name).empty()) throw;
        }
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
        // Two sinks adding a column at once (tasks of several processes, a running Sink<Row> and
        // another): the loser finds it added, and checks it as any column it found.
        try {
            conn.exec(sql::add_column_sql(spec, expected));
        } catch (const Error&) {
            const auto now = read_table_columns(conn, spec.name);
            const auto added = std::find_if(
                now.begin(), now.end(), [&](const sql::CatalogColumn& column) { return column.name == expected.name; });
            if (added == now.end()) throw;
            if (auto problem = sql::incompatibility(expected, *added, spec.dialect))
                fail("column \"" + expected.name + "\", added meanwhile, cannot be written: " + *problem +
                     "; the sink never changes a column's type");
            continue;
        }
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
    // A table missing at inspection was created here, or by another sink meanwhile: read its key.
    const auto actual_key = state.columns.empty() ? read_primary_key(conn, spec.name) : state.primary_key;
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

// Creates a table of the sink's own that holds rows (the dead-letter or positions table) when it
// is missing, or checks that the one there can take the sink's rows; `role` says what it is for in
// errors. Two sinks starting at once may both try: the loser finds it made.
inline void prepare_own_table(pq::Connection& conn, const sql::TableSpec& spec, const std::string& role) {
    try {
        (void)prepare_table(conn, spec, {.creates_table = true});
    } catch (const Error& error) {
        if (error.kind() != ErrorKind::schema && !read_table_columns(conn, spec.name).empty()) {
            (void)prepare_table(conn, spec, {});
            return;
        }
        throw Error(error.kind(), error.sqlstate(), error.message(), error.detail(),
                    "preparing " + spec.name.display() + ", " + role + "; " + error.context());
    }
}

// The dead_letter policy's table.
inline void prepare_dead_letter_table(pq::Connection& conn, const sql::TableSpec& spec, const sql::TableRef& target) {
    prepare_own_table(conn, spec,
                      "the dead-letter table of the sink for " + target.display() + " (docs/dead-letters.md)");
}

// The exactly_once policy's positions table.
inline void prepare_positions_table(pq::Connection& conn, const sql::TableSpec& spec, const sql::TableRef& target) {
    prepare_own_table(conn, spec,
                      "the positions table of the exactly_once sink for " + target.display() +
                          " (docs/delivery.md#the-positions-table)");
}

// What a sink will ask of the server, from its policies and the table as it found it.
struct PrivilegeNeeds {
    bool creates_table = false;  // the table is missing and the schema policy creates it
    bool stages = false;         // batches go through a TEMP stage
    bool reads = false;          // statements join the target (SELECT)
    bool deletes = false;        // DELETE on the target (hard deletes, upserts replacing rows, LOCK on it)
    bool updates = false;        // UPDATE on the target (soft deletes, ON CONFLICT DO UPDATE)
    bool lock_table = false;     // the Redshift dialect's own lock table (sql::lock_table)
    std::optional<sql::TableRef> dead_letter_table;  // written (INSERT), and created when missing
    std::optional<sql::TableRef> positions_table;    // exactly_once: read and written, and created when missing
    // The plan's own tables (newest_wins's tombstones): read, inserted into and deleted from, and
    // created when missing.
    std::vector<sql::TableRef> own_tables{};
};

// Checks, before the sink changes anything, that the session's user has every privilege the sink
// will need, and refuses with one error that lists all that is missing. Ownership (which
// evolve_schema needs to add a column) is left to ALTER TABLE to check.
inline void check_privileges(pq::Connection& conn, const sql::TableRef& target, const TableState& state,
                             const PrivilegeNeeds& needs) {
    std::vector<std::string> missing;
    const auto flag = [](const pq::Result& result, int column) { return result.as<bool>(0, column); };
    const auto database = conn.exec(sql::database_privileges_query_sql());
    const std::string name(database.get(0, 2));
    const bool schema_exists = !conn.exec(sql::schema_exists_query_sql(), target.schema).empty();
    const auto exists = [&](const sql::TableRef& table) {
        return !conn.exec(sql::table_exists_query_sql(), table.schema, table.table).empty();
    };
    const bool lock_exists = needs.lock_table && exists(sql::lock_table(target));
    const bool letters_exist = needs.dead_letter_table && exists(*needs.dead_letter_table);
    const bool positions_exist = needs.positions_table && exists(*needs.positions_table);
    std::vector<bool> own_exist;
    for (const auto& own : needs.own_tables) own_exist.push_back(exists(own));
    std::vector<std::string> created;
    if (needs.creates_table) created.push_back(target.display());
    for (std::size_t i = 0; i < needs.own_tables.size(); ++i)
        if (!own_exist[i]) created.push_back(needs.own_tables[i].display());
    if (needs.lock_table && !lock_exists) created.push_back(sql::lock_table(target).display());
    if (needs.dead_letter_table && !letters_exist) created.push_back(needs.dead_letter_table->display());
    if (needs.positions_table && !positions_exist) created.push_back(needs.positions_table->display());
    if (schema_exists) {
        const auto schema = conn.exec(sql::schema_privileges_query_sql(), target.schema);
        if (!flag(schema, 0)) missing.push_back("USAGE on schema " + target.schema);
        std::string tables;
        for (const auto& table : created) tables.append(tables.empty() ? "" : " and ").append(table);
        if (!created.empty() && !flag(schema, 1))
            missing.push_back("CREATE on schema " + target.schema + " (to create " + tables + ")");
    } else if (needs.creates_table && !flag(database, 0)) {
        missing.push_back("CREATE on database " + name + " (to create schema " + target.schema +
                          "; or have an admin create it)");
    }
    if (needs.stages && !flag(database, 1)) missing.push_back("TEMP on database " + name + " (the stage of a batch)");
    if (!state.columns.empty() && schema_exists) {
        const auto table = conn.exec(sql::table_privileges_query_sql(), target.quoted());
        std::string lacking;
        const auto need = [&](bool wanted, int column, const char* privilege) {
            if (wanted && !flag(table, column)) lacking.append(lacking.empty() ? "" : ", ").append(privilege);
        };
        need(needs.reads, 0, "SELECT");
        need(true, 1, "INSERT");
        need(needs.updates, 2, "UPDATE");
        need(needs.deletes, 3, "DELETE");
        if (!lacking.empty()) missing.push_back(lacking + " on table " + target.display());
    }
    if (letters_exist) {
        const auto letters = conn.exec(sql::table_privileges_query_sql(), needs.dead_letter_table->quoted());
        if (!flag(letters, 1)) missing.push_back("INSERT on table " + needs.dead_letter_table->display());
    }
    if (positions_exist) {
        const auto positions = conn.exec(sql::table_privileges_query_sql(), needs.positions_table->quoted());
        std::string lacking;
        for (const auto& [column, privilege] : {std::pair{0, "SELECT"}, std::pair{1, "INSERT"}, std::pair{2, "UPDATE"}})
            if (!flag(positions, column)) lacking.append(lacking.empty() ? "" : ", ").append(privilege);
        if (!lacking.empty()) missing.push_back(lacking + " on table " + needs.positions_table->display());
    }
    for (std::size_t i = 0; i < needs.own_tables.size(); ++i) {
        if (!own_exist[i]) continue;
        const auto own = conn.exec(sql::table_privileges_query_sql(), needs.own_tables[i].quoted());
        std::string lacking;
        for (const auto& [column, privilege] : {std::pair{0, "SELECT"}, std::pair{1, "INSERT"}, std::pair{3, "DELETE"}})
            if (!flag(own, column)) lacking.append(lacking.empty() ? "" : ", ").append(privilege);
        if (!lacking.empty()) missing.push_back(lacking + " on table " + needs.own_tables[i].display());
    }
    if (lock_exists) {
        const auto lock = conn.exec(sql::table_privileges_query_sql(), sql::lock_table(target).quoted());
        if (!flag(lock, 3) && !flag(lock, 2))
            missing.push_back("DELETE or UPDATE on table " + sql::lock_table(target).display() + " (to LOCK it)");
    }
    if (missing.empty()) return;
    std::string list;
    for (const auto& item : missing) list.append(list.empty() ? "" : "; ").append(item);
    throw Error(ErrorKind::schema, "42501",
                "user " + std::string(database.get(0, 3)) + " lacks what the sink for " + target.display() +
                    " needs: " + list + " (docs/redshift-setup.md says what each is for)");
}

}  // namespace redsink
