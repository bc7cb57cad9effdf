#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

// Plain libpq, as the hand-written loaders use it: no redsink here.
namespace redsink_bench::pg {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The database of the run: scripts/with-postgres exports REDSINK_TEST_CONNINFO.
inline std::string conninfo() {
    const char* value = std::getenv("REDSINK_TEST_CONNINFO");
    if (value == nullptr || *value == '\0')
        throw std::runtime_error(
            "REDSINK_TEST_CONNINFO is not set: run the database benchmarks through scripts/with-postgres "
            "(scripts/bench does), e.g. scripts/with-postgres build-bench/benchmarks/redsink_bench_loaders");
    return value;
}

inline Conn connect(const std::string& info) {
    Conn conn(PQconnectdb(info.c_str()), &PQfinish);
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("could not connect: " + std::string(conn ? PQerrorMessage(conn.get()) : "no memory"));
    // Notices ("table does not exist, skipping") would interleave with the benchmark's output.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
}

// Takes the result and throws with the server's message unless it has the expected status.
inline Result check(PGconn* conn, PGresult* raw, ExecStatusType expected, const char* what) {
    Result result(raw, &PQclear);
    if (!result || PQresultStatus(result.get()) != expected)
        throw std::runtime_error(std::string(what) + ": " +
                                 (result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn)));
    return result;
}

inline void exec(PGconn* conn, const std::string& sql) {
    check(conn, PQexec(conn, sql.c_str()), PGRES_COMMAND_OK, sql.substr(0, 80).c_str());
}

inline std::string query_value(PGconn* conn, const std::string& sql) {
    auto result = check(conn, PQexec(conn, sql.c_str()), PGRES_TUPLES_OK, sql.substr(0, 80).c_str());
    if (PQntuples(result.get()) != 1) throw std::runtime_error("expected one row from: " + sql);
    return PQgetvalue(result.get(), 0, 0);
}

}  // namespace redsink_bench::pg
