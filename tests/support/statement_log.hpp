#pragma once

#include <redsink/pq/connection.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#ifndef REDSINK_STATEMENT_LOG
#error "REDSINK_STATEMENT_LOG must name the file that collects Redshift-dialect statements"
#endif

namespace redsink_test {

// Records a statement the redshift dialect produced, for the offline grammar check that CTest
// runs after the test programs (scripts/check-redshift-sql). Each distinct statement once.
inline void log_redshift_statement(std::string_view sql) {
    static std::mutex mutex;
    static std::set<std::string, std::less<>> seen;
    const std::lock_guard lock(mutex);
    if (seen.contains(sql)) return;
    seen.emplace(sql);
    const std::filesystem::path path(REDSINK_STATEMENT_LOG);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::app);
    out << '"';
    for (const char c : sql) {
        switch (c) {
            case '"': out << "\\\""; break;
            case '\\': out << "\\\\"; break;
            case '\n': out << "\\n"; break;
            case '\t': out << "\\t"; break;
            case '\r': out << "\\r"; break;
            default: out << c;
        }
    }
    out << "\"\n";
}

// Logs a statement about to be sent, marking a TRUNCATE sent inside a transaction (which
// Redshift would commit). A connection's statements come from one thread, so the transaction
// state is kept per thread.
inline void log_redshift_sending(std::string_view sql) {
    thread_local bool in_transaction = false;
    if (sql == "BEGIN") in_transaction = true;
    if (sql == "COMMIT" || sql == "ROLLBACK") in_transaction = false;
    if (in_transaction && sql.starts_with("TRUNCATE")) {
        log_redshift_statement("/* inside a transaction */ " + std::string(sql));
        return;
    }
    log_redshift_statement(sql);
}

// A trace hook that logs every statement a connection sends.
inline redsink::pq::TraceHook redshift_statement_logger() {
    return [](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::sending) log_redshift_sending(sql);
    };
}

}  // namespace redsink_test
