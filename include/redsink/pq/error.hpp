#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::pq {

// What the caller should do about a failure: the delivery guarantees depend on telling a
// lost connection (reconnect and replay) from a bad row (stop, nothing acknowledged).
enum class ErrorKind {
    connection_lost,  // the session is gone: reconnect, then replay what was not committed
    transient,        // the statement may succeed if retried: serialization, shutdown, load
    bad_data,         // SQLSTATE class 22, or a value refused before it was sent
    constraint,       // SQLSTATE class 23
    schema,           // SQLSTATE class 42, or a table that does not match its record
    other,
};

[[nodiscard]] constexpr std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::connection_lost: return "connection lost";
        case ErrorKind::transient: return "transient";
        case ErrorKind::bad_data: return "bad data";
        case ErrorKind::constraint: return "constraint violation";
        case ErrorKind::schema: return "schema";
        case ErrorKind::other: break;
    }
    return "error";
}

[[nodiscard]] constexpr bool retryable(ErrorKind kind) noexcept {
    return kind == ErrorKind::connection_lost || kind == ErrorKind::transient;
}

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

// Every failure redsink reports. what() holds the context (what was being done), the server's
// message, its SQLSTATE and detail; never a password and never a bound value.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string sqlstate, std::string message, std::string detail = {}, std::string context = {})
        : std::runtime_error(describe(kind, sqlstate, message, detail, context)),
          kind_(kind),
          sqlstate_(std::move(sqlstate)),
          message_(std::move(message)),
          detail_(std::move(detail)),
          context_(std::move(context)) {}

    [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
    [[nodiscard]] bool retryable() const noexcept { return pq::retryable(kind_); }
    [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }
    [[nodiscard]] const std::string& context() const noexcept { return context_; }

private:
    static std::string describe(ErrorKind kind, std::string_view sqlstate, std::string_view message,
                                std::string_view detail, std::string_view context) {
        std::string text;
        if (!context.empty()) text.append(context).append(": ");
        text.append(message.empty() ? to_string(kind) : message);
        if (!sqlstate.empty()) text.append(" (SQLSTATE ").append(sqlstate).append(")");
        if (!detail.empty()) text.append("; detail: ").append(detail);
        return text;
    }

    ErrorKind kind_;
    std::string sqlstate_;
    std::string message_;
    std::string detail_;
    std::string context_;
};

}  // namespace redsink::pq

namespace redsink {
using pq::Error;
using pq::ErrorKind;
}  // namespace redsink
