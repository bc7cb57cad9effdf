#pragma once

#include <redsink/pq.hpp>
#include <redsink/sink.hpp>

#include <support/pg.hpp>
#include <support/statement_log.hpp>
#include <support/stream.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <utility>

namespace redsink_test {

inline constexpr const char* sink_schema = "sink_test";

// A connection for the test's own reads (kept out of the grammar check).
inline redsink::pq::Connection reader() {
    redsink::pq::Connection conn(test_config());
    conn.exec("CREATE SCHEMA IF NOT EXISTS sink_test");
    return conn;
}

// A database whose sessions default to SERIALIZABLE, as every Redshift transaction is.
inline redsink::ConnectionConfig serializable_config() {
    static const bool created = [] {
        auto admin = reader();
        if (admin.exec("SELECT 1 FROM pg_database WHERE datname = 'redsink_serializable'").empty())
            admin.exec("CREATE DATABASE redsink_serializable");
        admin.exec("ALTER DATABASE redsink_serializable SET default_transaction_isolation = 'serializable'");
        return true;
    }();
    (void)created;
    auto config = test_config();
    config.database = "redsink_serializable";
    redsink::pq::Connection conn(config);
    conn.exec("CREATE SCHEMA IF NOT EXISTS sink_test");
    return config;
}

// The stand-ins for Redshift's SUPER type and JSON_PARSE, for the redshift dialect's JSON columns
// (tests/pg/schema_test.cpp tests them).
inline void install_super_stand_in(redsink::pq::Connection& conn) {
    conn.exec("DO $$ BEGIN CREATE DOMAIN public.super AS jsonb; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    conn.exec(
        "CREATE OR REPLACE FUNCTION public.json_parse(text) RETURNS public.super "
        "LANGUAGE sql IMMUTABLE AS 'SELECT $1::jsonb'");
}

inline void drop_table(const std::string& table) {
    auto conn = reader();
    conn.exec("DROP TABLE IF EXISTS sink_test." + table);
}

inline std::string qualified(const std::string& table) {
    return std::string(sink_schema) + "." + table;
}

// The table's columns as the catalog has them: name, type, NOT NULL.
inline std::vector<std::string> catalog_columns(redsink::pq::Connection& conn, const std::string& table) {
    const auto result = conn.exec(
        "SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' "
        "END FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        qualified(table));
    std::vector<std::string> out;
    for (int row = 0; row < result.rows(); ++row) out.emplace_back(result.get(row, 0));
    return out;
}

// A trace hook that feeds the grammar check when the sink writes the Redshift dialect, then
// calls `then`.
template <class Sink>
redsink::pq::TraceHook sink_trace(redsink::pq::TraceHook then = {}) {
    return [then = std::move(then)](redsink::pq::TracePoint point, std::string_view sql) {
        if (Sink::dialect == redsink::Dialect::redshift && point == redsink::pq::TracePoint::sending)
            log_redshift_sending(sql);
        if (then) then(point, sql);
    };
}

// Waits until `done()` holds, for at most 20 s: tasks commit in the background. A bound against a
// hang, not a timing expectation.
template <class Done>
bool eventually(Done done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

template <class Sink>
void write_all(Sink& sink, const std::vector<AccountChange>& stream) {
    for (const auto& change : stream) sink.write(change);
    sink.flush();
}

}  // namespace redsink_test
