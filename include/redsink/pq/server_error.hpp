#pragma once

// The Error for a failure libpq reports: its fields read from the result or the session,
// classified, scrubbed, and its text as server_text.hpp allows.
#include <redsink/pq/error.hpp>
#include <redsink/pq/server_text.hpp>

#include <libpq-fe.h>

#include <string>
#include <utility>

namespace redsink::pq::detail {

// libpq's messages span lines ("...failed: ...\n\tIs the server running...?\n"): one line reads
// better in logs.
[[nodiscard]] inline std::string one_line(std::string text) {
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

// The Error for the last failure on `conn` (result and conn may be null): classified from the
// server's own fields, its text as shown_text shows it (built from the structured fields unless
// `verbatim`), `scrub` taking the secrets out of every text.
template <class Scrub>
[[nodiscard]] Error server_error(const PGresult* result, const PGconn* conn, bool verbatim, const Scrub& scrub,
                                 std::string context) {
    auto fields = server_fields(result, scrub);
    const bool lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
    if (fields.sqlstate.empty() && fields.message.empty()) {
        // No result to read fields from: libpq's own text.
        auto message = one_line(libpq_text(scrub(conn != nullptr ? PQerrorMessage(conn) : "no connection"), verbatim));
        return Error(lost ? ErrorKind::connection_lost : ErrorKind::other, {}, std::move(message), {},
                     std::move(context));
    }
    const auto kind = lost ? ErrorKind::connection_lost : classify(fields.sqlstate, fields.message, fields.detail);
    auto shown = shown_text(fields, verbatim);
    return Error(kind, std::move(fields.sqlstate), std::move(shown.message), std::move(shown.detail),
                 std::move(context));
}

}  // namespace redsink::pq::detail
