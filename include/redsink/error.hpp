#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

// The root of every error redsink reports: the database's (pq::classify gives their kinds), S3's
// (s3::Error), Kafka's (kafka::KafkaError) and the decoder's all derive from redsink::Error.
namespace redsink {

// What the caller should do about a failure: the delivery guarantees depend on telling a
// lost connection (reconnect and replay) from a bad row (stop, nothing acknowledged).
enum class ErrorKind {
    connection_lost,  // the session is gone: reconnect, then replay what was not committed
    transient,        // the operation may succeed if retried: serialization, shutdown, load, throttling
    bad_data,         // SQLSTATE class 22, or a value refused before it was sent
    constraint,       // SQLSTATE class 23
    schema,           // SQLSTATE class 42, or a table that does not match its record
    fenced,           // exactly_once: a newer sink for the same table and source started; this one commits nothing
    other,
};

[[nodiscard]] constexpr std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::connection_lost: return "connection lost";
        case ErrorKind::transient: return "transient";
        case ErrorKind::bad_data: return "bad data";
        case ErrorKind::constraint: return "constraint violation";
        case ErrorKind::schema: return "schema";
        case ErrorKind::fenced: return "fenced";
        case ErrorKind::other: break;
    }
    return "error";
}

[[nodiscard]] constexpr bool retryable(ErrorKind kind) noexcept {
    return kind == ErrorKind::connection_lost || kind == ErrorKind::transient;
}

// Every failure redsink reports. what() holds the context (what was being done), the message,
// the server's SQLSTATE and detail when there are some; never a password, and no row value
// unless the connection was asked to show the server's text verbatim
// (pq::Connection::set_verbatim_server_text).
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
    [[nodiscard]] bool retryable() const noexcept { return redsink::retryable(kind_); }
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

}  // namespace redsink
