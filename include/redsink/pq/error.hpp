#pragma once

#include <redsink/error.hpp>

#include <initializer_list>
#include <string>
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

// Server errors of these SQLSTATE classes may quote row values in their message, detail and
// context: data exceptions (22), integrity violations (23), internal errors (XX, where Redshift
// reports much) and PL/pgSQL's (P0).
[[nodiscard]] constexpr bool quotes_values(std::string_view sqlstate) noexcept {
    const auto cls = sqlstate.substr(0, 2);
    return cls == "22" || cls == "23" || cls == "XX" || cls == "P0";
}

// A server message without the values it may quote: cut at the first ": " (after which PostgreSQL
// and Redshift print the value: 'invalid input syntax for type integer: "twelve"'), and every
// double-quoted word replaced by "<value>" unless it is one of `identifiers` (the table, column,
// constraint and type the server named in the error's own fields).
[[nodiscard]] inline std::string without_values(std::string_view message,
                                                std::initializer_list<std::string_view> identifiers) {
    if (const auto colon = message.find(": "); colon != std::string_view::npos) message = message.substr(0, colon);
    std::string out;
    std::size_t pos = 0;
    while (pos < message.size()) {
        // Values in double quotes (PostgreSQL) or single quotes (Redshift's "Value 'x'").
        const auto open = message.find_first_of("\"'", pos);
        const auto close = open == message.npos ? message.npos : message.find(message[open], open + 1);
        if (close == message.npos) {
            out.append(message.substr(pos));
            break;
        }
        const auto quoted = message.substr(open + 1, close - open - 1);
        bool known = false;
        for (const auto identifier : identifiers) known = known || (!identifier.empty() && identifier == quoted);
        out.append(message.substr(pos, open - pos)).push_back(message[open]);
        out.append(known ? quoted : std::string_view("<value>")).push_back(message[open]);
        pos = close + 1;
    }
    return out;
}

// A server's CONTEXT without values: each line cut at its first ": " or " = '" ('COPY t, line 2,
// column body: "{...}"' keeps 'COPY t, line 2, column body'; 'unnamed portal parameter $1 =
// '...'' keeps 'unnamed portal parameter $1').
[[nodiscard]] inline std::string context_without_values(std::string_view context) {
    std::string out;
    while (!context.empty()) {
        const auto end = context.find('\n');
        auto line = context.substr(0, end);
        for (const std::string_view value_follows : {": ", " = '"})
            if (const auto at = line.find(value_follows); at != std::string_view::npos) line = line.substr(0, at);
        if (!line.empty()) out.append(out.empty() ? "" : "\n").append(line);
        if (end == std::string_view::npos) break;
        context.remove_prefix(end + 1);
    }
    return out;
}

}  // namespace redsink::pq
