#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace redsink::pq {

// When the trace hook is called: before a statement is sent, and after it completed or failed.
enum class TracePoint { sending, done, failed };

// Receives the SQL text of every statement (never its bound values). Tests use it to check the
// Redshift grammar, to count commits and to inject faults at a chosen statement.
using TraceHook = std::function<void(TracePoint, std::string_view sql)>;

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
