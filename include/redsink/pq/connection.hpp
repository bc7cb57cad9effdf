#pragma once

#include <redsink/pq/config.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/params.hpp>
#include <redsink/pq/result.hpp>

#include <libpq-fe.h>

#include <array>
#include <climits>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redsink::pq {

// When the trace hook is called: before a statement is sent, and after it completed or failed.
enum class TracePoint { sending, done, failed };

// Receives the SQL text of every statement (never its bound values). Tests use it to check the
// Redshift grammar, to count commits and to inject faults at a chosen statement.
using TraceHook = std::function<void(TracePoint, std::string_view sql)>;

class CopyIn;

namespace detail {
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
}  // namespace detail

// One session with a PostgreSQL or Redshift server. Owns its PGconn; every statement goes
// through exec/exec_prepared, which turn failures into classified Errors.
class Connection final {
public:
    explicit Connection(ConnectionConfig config) : config_(std::move(config)) { open(); }

    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    [[nodiscard]] const ConnectionConfig& config() const noexcept { return config_; }
    [[nodiscard]] bool is_open() const noexcept { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
    [[nodiscard]] int backend_pid() const noexcept { return conn_ ? PQbackendPID(conn_.get()) : 0; }
    // A transaction is open on the session (possibly failed, waiting for ROLLBACK).
    [[nodiscard]] bool in_transaction() const noexcept {
        if (!is_open()) return false;
        const auto status = PQtransactionStatus(conn_.get());
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
    }
    // Increases on every (re)connect: session state (prepared statements, TEMP tables) belongs
    // to one session.
    [[nodiscard]] std::uint64_t session() const noexcept { return session_; }
    [[nodiscard]] PGconn* native_handle() const noexcept { return conn_.get(); }

    // Drops the session (if any) and opens a new one with the same configuration.
    void reconnect() {
        conn_.reset();
        open();
    }

    void set_trace(TraceHook hook) { trace_ = std::move(hook); }

    // Server notices (NOTICE, WARNING) go here; without a hook they are dropped, not printed.
    void set_notice_hook(std::function<void(std::string_view)> hook) {
        notice_ = std::make_unique<std::function<void(std::string_view)>>(std::move(hook));
        install_notice_processor();
    }
    [[nodiscard]] const TraceHook& trace() const noexcept { return trace_; }

    // Simple query protocol: no parameters, may hold several statements.
    Result exec(const std::string& sql) {
        notify(TracePoint::sending, sql);
        return complete(PQexec(conn_.get(), sql.c_str()), sql);
    }

    // Extended protocol with text-format bind parameters; std::nullopt binds NULL.
    template <class First, class... Rest>
    Result exec(const std::string& sql, const First& first, const Rest&... rest) {
        return with_params([&](std::span<const char* const> values) { return exec_raw(sql, values); }, first, rest...);
    }

    // The choke point for parameterized statements: each value is a NUL-terminated text or
    // nullptr for NULL.
    Result exec_raw(const std::string& sql, std::span<const char* const> values) {
        notify(TracePoint::sending, sql);
        return complete(PQexecParams(conn_.get(), sql.c_str(), param_count(values.size()), nullptr, values.data(),
                                     nullptr, nullptr, 0),
                        sql);
    }

    // Prepares a named statement for this session. Prepared statements are forgotten on
    // reconnect; is_prepared tells whether it must be prepared again.
    void prepare(const std::string& name, const std::string& sql, int param_count = 0) {
        notify(TracePoint::sending, sql);
        complete(PQprepare(conn_.get(), name.c_str(), sql.c_str(), param_count, nullptr), sql);
        prepared_[name] = sql;
    }

    [[nodiscard]] bool is_prepared(const std::string& name) const { return prepared_.contains(name); }
    // The SQL text a prepared statement was prepared with.
    [[nodiscard]] const std::string& prepared_text(const std::string& name) const { return prepared_sql(name); }

    template <class... Params>
    Result exec_prepared(const std::string& name, const Params&... params) {
        return with_params([&](std::span<const char* const> values) { return exec_prepared_raw(name, values); },
                           params...);
    }

    Result exec_prepared_raw(const std::string& name, std::span<const char* const> values) {
        const auto& sql = prepared_sql(name);
        notify(TracePoint::sending, sql);
        return complete(
            PQexecPrepared(conn_.get(), name.c_str(), param_count(values.size()), values.data(), nullptr, nullptr, 0),
            sql);
    }

    // The server's version() text, read once per session.
    [[nodiscard]] const std::string& version() {
        if (!version_) version_ = std::string(exec("SELECT version()").get(0, 0));
        return *version_;
    }
    [[nodiscard]] bool is_redshift() { return version().find("Redshift") != std::string::npos; }

    // Starts COPY ... FROM STDIN (PostgreSQL only; Redshift has no COPY from the client).
    [[nodiscard]] CopyIn copy_in(const std::string& sql);
    // Runs a whole COPY ... FROM STDIN with the given data; returns the rows copied.
    std::size_t copy_from_stdin(const std::string& sql, std::string_view data);

    // Builds the Error for the last failure on this session (result may be null).
    [[nodiscard]] Error error_from(const PGresult* result, std::string_view sql) const {
        const auto field = [&](int code) -> std::string {
            const char* value = result != nullptr ? PQresultErrorField(result, code) : nullptr;
            return value != nullptr ? scrub(value) : std::string();
        };
        std::string sqlstate = field(PG_DIAG_SQLSTATE);
        std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
        std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
        if (const auto where = field(PG_DIAG_CONTEXT); !where.empty())
            detail.append(detail.empty() ? "" : "; ").append("where: ").append(where);
        if (message.empty()) message = detail::one_line(scrub(conn_ ? PQerrorMessage(conn_.get()) : "no connection"));
        const bool lost = !conn_ || PQstatus(conn_.get()) == CONNECTION_BAD;
        const auto kind = lost ? ErrorKind::connection_lost : classify(sqlstate, message, detail);
        return Error(kind, std::move(sqlstate), std::move(message), std::move(detail), statement_context(sql));
    }

    // Removes the password from a text that came from the server or libpq, just in case.
    [[nodiscard]] std::string scrub(std::string_view text) const {
        std::string out(text);
        const auto& secret = config_.password;
        if (secret.size() < 3) return out;
        for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos))
            out.replace(pos, secret.size(), "<redacted>");
        return out;
    }

    void notify(TracePoint point, std::string_view sql) const {
        if (trace_) trace_(point, sql);
    }

private:
    friend class CopyIn;

    void open() {
        auto keywords = config_.keywords();
        bool has_encoding = false;
        for (const auto& option : keywords) has_encoding = has_encoding || option.first == "client_encoding";
        if (!has_encoding) keywords.emplace_back("client_encoding", "UTF8");
        std::vector<const char*> keys;
        std::vector<const char*> values;
        for (const auto& [key, value] : keywords) {
            keys.push_back(key.c_str());
            values.push_back(value.c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
        conn_.reset(PQconnectdbParams(keys.data(), values.data(), 0));
        prepared_.clear();
        version_.reset();
        ++session_;
        install_notice_processor();
        if (!conn_) throw Error(ErrorKind::connection_lost, {}, "out of memory", {}, "could not connect");
        if (PQstatus(conn_.get()) == CONNECTION_OK) return;
        std::string message = detail::one_line(scrub(PQerrorMessage(conn_.get())));
        const auto text = [](const char* value) { return std::string(value != nullptr ? value : ""); };
        const std::string where = "could not connect to host=" + text(PQhost(conn_.get())) +
                                  " port=" + text(PQport(conn_.get())) + " dbname=" + text(PQdb(conn_.get())) +
                                  " user=" + text(PQuser(conn_.get()));
        // Refused credentials or a missing database will not heal by retrying.
        const bool refused = message.find("authentication failed") != std::string::npos ||
                             message.find("does not exist") != std::string::npos ||
                             message.find("no password supplied") != std::string::npos ||
                             message.find("no pg_hba.conf entry") != std::string::npos;
        conn_.reset();
        throw Error(refused ? ErrorKind::other : ErrorKind::connection_lost, {}, std::move(message), {}, scrub(where));
    }

    void install_notice_processor() noexcept {
        if (!conn_) return;
        PQsetNoticeProcessor(
            conn_.get(),
            [](void* hook, const char* message) {
                auto* receiver = static_cast<std::function<void(std::string_view)>*>(hook);
                if (receiver != nullptr && *receiver) (*receiver)(message);
            },
            notice_.get());
    }

    static int param_count(std::size_t count) {
        if (count > 65535) throw Error(ErrorKind::other, {}, "a statement can bind at most 65535 parameters");
        return static_cast<int>(count);
    }

    [[nodiscard]] const std::string& prepared_sql(const std::string& name) const {
        const auto found = prepared_.find(name);
        if (found == prepared_.end())
            throw Error(ErrorKind::other, {}, "statement '" + name + "' was not prepared in this session");
        return found->second;
    }

    [[nodiscard]] std::string statement_context(std::string_view sql) const {
        constexpr std::size_t shown = 160;
        std::string out = "while executing \"";
        out.append(scrub(sql.substr(0, shown)));
        if (sql.size() > shown) out.append("...");
        return out.append("\" on ").append(config_.redacted());
    }

    Result complete(PGresult* raw, std::string_view sql) {
        Result result(raw);
        const auto status = raw != nullptr ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY ||
            status == PGRES_COPY_IN) {
            notify(TracePoint::done, sql);
            return result;
        }
        auto error = error_from(raw, sql);
        notify(TracePoint::failed, sql);
        throw error;
    }

    template <class Run, class... Params>
    Result with_params(Run&& run, const Params&... params) {
        std::string arena;
        std::array<std::ptrdiff_t, sizeof...(Params)> offsets{};
        std::size_t index = 0;
        ((offsets[index] = detail::put_param(arena, index, params), ++index), ...);
        std::array<const char*, sizeof...(Params)> values{};
        for (std::size_t i = 0; i < offsets.size(); ++i)
            values[i] = offsets[i] == detail::null_param ? nullptr : arena.data() + offsets[i];
        return run(std::span<const char* const>(values));
    }

    ConnectionConfig config_;
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
    std::unordered_map<std::string, std::string> prepared_;
    std::optional<std::string> version_;
    std::uint64_t session_ = 0;
    TraceHook trace_;
    // Heap-allocated so that its address, handed to libpq, survives moves of the Connection.
    std::unique_ptr<std::function<void(std::string_view)>> notice_;
};

// An open COPY ... FROM STDIN. write() sends data in COPY text format; finish() ends it and
// surfaces the server's verdict. Destroyed unfinished, it aborts the COPY.
class CopyIn final {
public:
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;
    CopyIn(CopyIn&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)), sql_(std::move(other.sql_)) {}
    CopyIn& operator=(CopyIn&&) = delete;
    ~CopyIn() {
        if (conn_ != nullptr) abort("COPY abandoned by the client");
    }

    void write(std::string_view data) {
        PGconn* native = conn_->native_handle();
        while (!data.empty()) {
            const auto part = data.substr(0, static_cast<std::size_t>(INT_MAX / 2));
            if (PQputCopyData(native, part.data(), static_cast<int>(part.size())) != 1) fail();
            data.remove_prefix(part.size());
        }
    }

    std::size_t finish() {
        if (PQputCopyEnd(conn_->native_handle(), nullptr) != 1) fail();
        return drain(true);
    }

private:
    friend class Connection;
    CopyIn(Connection& conn, std::string sql) : conn_(&conn), sql_(std::move(sql)) {}

    [[noreturn]] void fail() {
        auto error = conn_->error_from(nullptr, sql_);
        conn_->notify(TracePoint::failed, sql_);
        abort("COPY failed on the client");
        throw error;
    }

    void abort(const char* reason) noexcept {
        if (conn_ == nullptr) return;
        if (PQputCopyEnd(conn_->native_handle(), reason) == 1) {
            try {
                drain(false);
            } catch (...) {
            }
        }
        conn_ = nullptr;
    }

    std::size_t drain(bool report) {
        PGconn* native = conn_->native_handle();
        std::size_t rows = 0;
        std::optional<Error> error;
        while (PGresult* raw = PQgetResult(native)) {
            Result result(raw);
            if (PQresultStatus(raw) == PGRES_COMMAND_OK)
                rows = result.affected_rows();
            else if (!error)
                error = conn_->error_from(raw, sql_);
        }
        Connection* conn = std::exchange(conn_, nullptr);
        if (report && error) {
            conn->notify(TracePoint::failed, sql_);
            throw *error;
        }
        if (report) conn->notify(TracePoint::done, sql_);
        return rows;
    }

    Connection* conn_;
    std::string sql_;
};

inline CopyIn Connection::copy_in(const std::string& sql) {
    notify(TracePoint::sending, sql);
    PGresult* raw = PQexec(conn_.get(), sql.c_str());
    Result result(raw);
    if (raw == nullptr || PQresultStatus(raw) != PGRES_COPY_IN) {
        auto error = error_from(raw, sql);
        notify(TracePoint::failed, sql);
        throw error;
    }
    return CopyIn(*this, sql);
}

inline std::size_t Connection::copy_from_stdin(const std::string& sql, std::string_view data) {
    auto copy = copy_in(sql);
    copy.write(data);
    return copy.finish();
}

}  // namespace redsink::pq
