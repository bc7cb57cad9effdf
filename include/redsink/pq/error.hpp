#pragma once

#include <redsink/error.hpp>

#include <string_view>

namespace redsink::pq {

// The root error and its kinds live in redsink/error.hpp; these names are kept for the adapter's users.
using redsink::Error;
using redsink::ErrorKind;
using redsink::retryable;
using redsink::to_string;

// Classifies a server error from its SQLSTATE, and for Redshift (which reports serialization
// failures as XX000) from its message and detail.
[[nodiscard]] constexpr ErrorKind classify(std::string_view sqlstate, std::string_view message = {},
                                           std::string_view detail = {}) noexcept {
    const auto starts = [&](std::string_view prefix) { return sqlstate.substr(0, prefix.size()) == prefix; };
    if (starts("08")) return ErrorKind::transient;
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "53300") return ErrorKind::transient;
    if (sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") return ErrorKind::transient;
    // A prepared statement the session no longer holds (Redshift drops them after DDL and
    // ROLLBACK): prepare it again and retry.
    if (sqlstate == "26000") return ErrorKind::transient;
    // A lock not granted within lock_timeout, a statement canceled (statement_timeout, or an
    // operator's pg_cancel_backend): the next attempt may get through.
    if (sqlstate == "55P03" || sqlstate == "57014") return ErrorKind::transient;
    if (sqlstate == "XX000") {
        for (const std::string_view text : {message, detail}) {
            if (text.substr(0, 4) == "1023" || text.find("Serializable isolation violation") != text.npos ||
                text.find("conflict with concurrent transaction") != text.npos)
                return ErrorKind::transient;
        }
        return ErrorKind::other;
    }
    if (starts("22")) return ErrorKind::bad_data;
    if (starts("23")) return ErrorKind::constraint;
    if (starts("42")) return ErrorKind::schema;
    return ErrorKind::other;
}

}  // namespace redsink::pq
