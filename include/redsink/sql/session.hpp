#pragma once

#include <redsink/dialect.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace redsink::sql {

// The settings a sink gives each session it opens, so that no statement waits without limit:
// statement_timeout on both servers (on Redshift it counts queueing in WLM too, and bounds a
// LOCK's wait: Redshift has no lock_timeout), lock_timeout on PostgreSQL. 0 leaves one unset.
[[nodiscard]] inline std::vector<std::string> session_settings_sql(Dialect dialect,
                                                                   std::chrono::milliseconds statement_timeout,
                                                                   std::chrono::milliseconds lock_timeout) {
    std::vector<std::string> out;
    if (statement_timeout.count() > 0)
        out.push_back("SET statement_timeout = " + std::to_string(statement_timeout.count()));
    if (dialect == Dialect::postgres && lock_timeout.count() > 0)
        out.push_back("SET lock_timeout = " + std::to_string(lock_timeout.count()));
    return out;
}

}  // namespace redsink::sql
