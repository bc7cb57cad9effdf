#pragma once

// The Error for a failure libpq reports: its fields read from the result or the session,
// classified, scrubbed, and without row values unless asked for.
#include <redsink/pq/error.hpp>

#include <libpq-fe.h>

#include <string>
#include <string_view>
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

// The Error for the last failure on `conn` (result and conn may be null). Errors that may quote
// row values (quotes_values) keep, unless `show_values`, what is safe: the message without its
// values, the table, column, constraint and type the server named, and the context without
// values (a COPY's line and column). `scrub` takes the secrets out of every text.
template <class Scrub>
[[nodiscard]] Error server_error(const PGresult* result, const PGconn* conn, bool show_values, const Scrub& scrub,
                                 std::string context) {
    const auto field = [&](int code) -> std::string {
        const char* value = result != nullptr ? PQresultErrorField(result, code) : nullptr;
        return value != nullptr ? scrub(value) : std::string();
    };
    std::string sqlstate = field(PG_DIAG_SQLSTATE);
    std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
    std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
    const std::string where = field(PG_DIAG_CONTEXT);
    if (message.empty()) message = one_line(scrub(conn != nullptr ? PQerrorMessage(conn) : "no connection"));
    const bool lost = conn == nullptr || PQstatus(conn) == CONNECTION_BAD;
    const auto kind = lost ? ErrorKind::connection_lost : classify(sqlstate, message, detail);
    if (!show_values && quotes_values(sqlstate)) {
        const std::string schema = field(PG_DIAG_SCHEMA_NAME);
        const std::string table = field(PG_DIAG_TABLE_NAME);
        const std::string column = field(PG_DIAG_COLUMN_NAME);
        const std::string constraint = field(PG_DIAG_CONSTRAINT_NAME);
        const std::string type = field(PG_DIAG_DATATYPE_NAME);
        message = without_values(message, {schema, table, column, constraint, type});
        detail.clear();
        const auto add = [&](std::string_view what, const std::string& name) {
            if (!name.empty()) detail.append(detail.empty() ? "" : ", ").append(what).append(" ").append(name);
        };
        add("table", schema.empty() || table.empty() ? table : schema + "." + table);
        add("column", column);
        add("constraint", constraint);
        add("type", type);
        if (const auto safe_context = context_without_values(where); !safe_context.empty())
            detail.append(detail.empty() ? "" : "; ").append("where: ").append(safe_context);
        if (!detail.empty()) detail.append(" (values not shown)");
    } else if (!where.empty()) {
        detail.append(detail.empty() ? "" : "; ").append("where: ").append(where);
    }
    return Error(kind, std::move(sqlstate), std::move(message), std::move(detail), std::move(context));
}

}  // namespace redsink::pq::detail
