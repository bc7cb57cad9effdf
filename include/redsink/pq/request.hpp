#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace redsink::pq {

// When the trace hook is called: before a statement is sent, after it completed or failed, and
// for a notice of the session's (the server's NOTICE or WARNING, or the FATAL of a backend that
// ends), whose text then takes the SQL's place.
enum class TracePoint { sending, done, failed, notice };

// Receives the SQL text of every statement (never its bound values), and the session's notices as
// server_text.hpp shows them. Tests use it to check the Redshift grammar, to count commits and to
// inject faults at a chosen statement.
using TraceHook = std::function<void(TracePoint, std::string_view text)>;

// One statement, in one of the forms libpq sends. The strings must outlive the statement's
// completion (in a pipeline, until it is received).
struct Request {
    enum class Form {
        simple,    // no parameters; outside a pipeline it may hold several statements
        params,    // text-format bind parameters
        prepare,   // prepares `sql` as `name`
        prepared,  // runs the prepared statement `name`
    };
    Form form = Form::simple;
    const std::string* sql = nullptr;  // the text; for a prepared statement, the text it was prepared with
    const std::string* name = nullptr;
    std::span<const char* const> values{};  // NUL-terminated texts, nullptr for NULL
    int param_count = 0;                    // prepare: how many parameters `sql` takes
};

// A statement of a pipeline that completed: the tag it was sent with and the rows it affected.
struct Completion {
    std::uint32_t tag = 0;
    std::size_t rows = 0;
};

}  // namespace redsink::pq
