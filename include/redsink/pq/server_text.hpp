#pragma once

// What of a server's error or notice may be shown: built from the error's structured fields,
// with the server's own text only where it never holds row values, or verbatim when asked.
#include <libpq-fe.h>

#include <charconv>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::pq {

// The fields of a server error or notice (PQresultErrorField), each taken as it came.
struct ServerFields {
    std::string severity;  // ERROR, FATAL, WARNING, NOTICE, ... (not translated)
    std::string sqlstate;
    std::string message;  // the primary text
    std::string detail;
    std::string hint;
    std::string context;
    std::string schema;
    std::string table;
    std::string column;
    std::string constraint;
    std::string datatype;
    std::string source_function;  // the server's function that raised it
};

// The fields of `result` (null: none), each passed through `scrub` (the session's secrets).
template <class Scrub>
[[nodiscard]] ServerFields server_fields(const PGresult* result, const Scrub& scrub) {
    const auto field = [&](int code) -> std::string {
        const char* value = result != nullptr ? PQresultErrorField(result, code) : nullptr;
        return value != nullptr ? scrub(value) : std::string();
    };
    return {field(PG_DIAG_SEVERITY_NONLOCALIZED), field(PG_DIAG_SQLSTATE),      field(PG_DIAG_MESSAGE_PRIMARY),
            field(PG_DIAG_MESSAGE_DETAIL),        field(PG_DIAG_MESSAGE_HINT),  field(PG_DIAG_CONTEXT),
            field(PG_DIAG_SCHEMA_NAME),           field(PG_DIAG_TABLE_NAME),    field(PG_DIAG_COLUMN_NAME),
            field(PG_DIAG_CONSTRAINT_NAME),       field(PG_DIAG_DATATYPE_NAME), field(PG_DIAG_SOURCE_FUNCTION)};
}

// SQLSTATEs whose primary text, in PostgreSQL's and Redshift's message catalogues, names only
// the server's own objects and states, never a row's value. Anything else (data exceptions,
// constraint violations, internal errors, whatever a function raises) is described from the
// structured fields alone. Each entry, and why:
[[nodiscard]] constexpr bool text_without_values(std::string_view sqlstate, std::string_view message) noexcept {
    const auto cls = sqlstate.substr(0, 2);
    // 08xxx connection exceptions: "connection to client lost", "could not receive data from
    // client", "no pg_hba.conf entry for host ..." (hosts, users, databases; no rows).
    if (cls == "08") return true;
    // 53xxx insufficient resources: "out of memory", "could not extend file ...: No space left on
    // device", "sorry, too many clients already" (files and counts).
    if (cls == "53") return true;
    for (const std::string_view known : {
             "40001",  // serialization failure: "could not serialize access due to concurrent update"
             "40P01",  // deadlock: "deadlock detected" (the detail, which quotes other sessions' SQL, is dropped)
             "57014",  // canceled: "canceling statement due to statement timeout" (or user request, lock timeout)
             "57P01",  // "terminating connection due to administrator command"
             "57P02",  // "terminating connection because of crash of another server process"
             "57P03",  // "the database system is starting up" (shutting down, in recovery)
             "55P03",  // lock not available: "could not obtain lock on relation \"t\""
             "25P02",  // "current transaction is aborted, commands ignored until end of transaction block"
             "26000",  // "prepared statement \"s\" does not exist" (the sink's own statement names)
             "42P01",  // undefined table: "relation \"t\" does not exist"
             "42703",  // undefined column: "column \"c\" of relation \"t\" does not exist"
             "3F000",  // undefined schema: "schema \"s\" does not exist"
             "42501",  // privilege: "permission denied for table t" (objects and privileges)
             "42601",  // syntax error: quotes the statement's text, which never holds values (they are bound)
         })
        if (sqlstate == known) return true;
    // Redshift reports its serialization failures as XX000 ("1023 ... Serializable isolation
    // violation on table - 12345, transactions forming the cycle are: ..."): table ids and
    // transaction ids. Its other XX000 errors may quote a row's value ("Value 'x'"), and are not
    // shown.
    if (sqlstate == "XX000")
        return message.substr(0, 4) == "1023" || message.find("Serializable isolation violation") != message.npos;
    return false;
}

// Whether a user's function raised it (PL/pgSQL's RAISE, or any error inside a function): its
// SQLSTATE is then the function's choice, and its text may hold anything.
[[nodiscard]] inline bool raised_in_function(const ServerFields& fields) noexcept {
    return fields.source_function == "exec_stmt_raise" || fields.context.find("function") != std::string::npos;
}

// What a SQLSTATE means, in words (PostgreSQL's condition names), for text that is not shown.
[[nodiscard]] constexpr std::string_view condition_of(std::string_view sqlstate) noexcept {
    struct Name {
        std::string_view code;
        std::string_view name;
    };
    constexpr Name names[] = {
        {"23502", "null value violates a not-null constraint"},
        {"23503", "foreign key violation"},
        {"23505", "unique constraint violation"},
        {"23514", "check constraint violation"},
        {"23P01", "exclusion constraint violation"},
        {"22001", "value too long for its type"},
        {"22003", "numeric value out of range"},
        {"22007", "invalid datetime format"},
        {"22008", "datetime field out of range"},
        {"22012", "division by zero"},
        {"22021", "character not in repertoire"},
        {"22P02", "invalid text representation"},
        {"22P05", "untranslatable character"},
        {"P0001", "exception raised by a function (RAISE)"},
        {"P0004", "assertion failed"},
        {"23", "integrity constraint violation"},
        {"22", "data exception"},
        {"P0", "PL/pgSQL error"},
        {"XX", "internal error"},
        {"42", "syntax error or access rule violation"},
        {"0A", "feature not supported"},
        {"25", "invalid transaction state"},
        {"40", "transaction rollback"},
        {"55", "object not in prerequisite state"},
        {"57", "operator intervention"},
        {"58", "system error"},
        {"00", "notice"},
        {"01", "warning"},
    };
    for (const auto& name : names)
        if (sqlstate.substr(0, name.code.size()) == name.code) return name.name;
    return "server error";
}

// The place a COPY's CONTEXT names, without the value it quotes: "COPY t, line 18, column c"
// of "COPY t, line 18, column c: \"...\"". Taken only from a line that starts "COPY " and holds
// ", line " and digits; the column (an identifier) ends where the value's ": " starts. Empty when
// there is none.
[[nodiscard]] inline std::string copy_location(std::string_view context) {
    while (!context.empty()) {
        const auto end = context.find('\n');
        const auto line = context.substr(0, end);
        const auto at = line.find(", line ");
        if (line.substr(0, 5) == "COPY " && at != std::string_view::npos) {
            const auto digits = line.substr(at + 7);
            std::size_t number = 0;
            const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), number);
            if (parsed.ec == std::errc{}) {
                std::string out(line.substr(0, at));
                out.append(", line ").append(std::to_string(number));
                std::string_view rest(parsed.ptr, static_cast<std::size_t>(digits.data() + digits.size() - parsed.ptr));
                if (rest.substr(0, 9) == ", column ") {
                    rest.remove_prefix(9);
                    out.append(", column ").append(rest.substr(0, rest.find(": ")));
                }
                return out;
            }
        }
        if (end == std::string_view::npos) break;
        context.remove_prefix(end + 1);
    }
    return {};
}

// An error's or notice's text as it is shown: a message and a detail.
struct ShownText {
    std::string message;
    std::string detail;
};

// `fields` as they may be shown. Verbatim: the server's message, detail, hint and context.
// Otherwise the message is the server's primary text only where text_without_values allows it
// (and no function raised it), else the SQLSTATE's condition; the detail names the schema,
// table, column, constraint and type the server gave and a COPY's line, marked "(server text not
// shown)" when the server's text was left out.
[[nodiscard]] inline ShownText shown_text(const ServerFields& fields, bool verbatim) {
    ShownText out;
    const auto append = [](std::string& text, std::string_view separator, std::string_view part) {
        if (!part.empty()) text.append(text.empty() ? "" : separator).append(part);
    };
    if (verbatim) {
        out.message = fields.message;
        out.detail = fields.detail;
        if (!fields.hint.empty()) append(out.detail, "; ", "hint: " + fields.hint);
        if (!fields.context.empty()) append(out.detail, "; ", "where: " + fields.context);
        return out;
    }
    const bool shown = text_without_values(fields.sqlstate, fields.message) && !raised_in_function(fields);
    out.message = shown ? fields.message : std::string(condition_of(fields.sqlstate));
    const auto name = [&](std::string_view what, const std::string& value) {
        if (!value.empty()) append(out.detail, ", ", std::string(what) + " " + value);
    };
    name("table", fields.schema.empty() || fields.table.empty() ? fields.table : fields.schema + "." + fields.table);
    name("column", fields.column);
    name("constraint", fields.constraint);
    name("type", fields.datatype);
    if (const auto copy = copy_location(fields.context); !copy.empty()) append(out.detail, "; ", "where: " + copy);
    if (!shown) out.detail.append(out.detail.empty() ? "" : " ").append("(server text not shown)");
    return out;
}

// A notice (or an error libpq hands over as one, such as the FATAL of a backend that ends) as one
// line for the trace: "FATAL 57P01: terminating connection due to administrator command".
[[nodiscard]] inline std::string notice_text(const ServerFields& fields, bool verbatim) {
    const auto shown = shown_text(fields, verbatim);
    std::string out = fields.severity.empty() ? "NOTICE" : fields.severity;
    if (!fields.sqlstate.empty()) out.append(" ").append(fields.sqlstate);
    out.append(": ").append(shown.message);
    if (!shown.detail.empty()) out.append(shown.detail.front() == '(' ? " " : "; ").append(shown.detail);
    return out;
}

// libpq's own text of a failure without a result (a lost connection, a send that failed), unless
// it holds a message the server sent ("ERROR:  ...", which may quote values): libpq accumulates
// them in the same text, and there they have no fields to build from.
[[nodiscard]] inline std::string libpq_text(std::string_view text, bool verbatim) {
    if (verbatim) return std::string(text);
    for (const std::string_view severity : {"ERROR:", "FATAL:", "PANIC:", "WARNING:", "NOTICE:", "DETAIL:", "HINT:",
                                            "CONTEXT:", "INFO:", "LOG:", "DEBUG:"}) {
        for (auto at = text.find(severity); at != std::string_view::npos; at = text.find(severity, at + 1))
            if (at == 0 || text[at - 1] == '\n') return "the connection failed (server text not shown)";
    }
    return std::string(text);
}

}  // namespace redsink::pq
