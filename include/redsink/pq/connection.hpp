#pragma once

#include <redsink/pq/config.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/params.hpp>
#include <redsink/pq/result.hpp>

#include <libpq-fe.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
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

// One session with a PostgreSQL or Redshift server. Owns its PGconn. Every statement, in every
// form (plain, with parameters, prepared, pipelined or not, COPY), enters the server through
// dispatch() and leaves through collect() or receive(): the one place that traces, classifies
// failures and scrubs the password.
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
        pipeline_.clear();
        conn_.reset();
        open();
    }

    void set_trace(TraceHook hook) { trace_ = std::move(hook); }

    // Whether errors keep the row values the server quotes in them (off: only for debugging, they
    // may be personal data).
    void set_error_values(bool shown) noexcept { error_values_ = shown; }
    [[nodiscard]] const TraceHook& trace() const noexcept { return trace_; }

    // Server notices (NOTICE, WARNING) go here; without a hook they are dropped, not printed.
    void set_notice_hook(std::function<void(std::string_view)> hook) {
        notice_ = std::make_unique<std::function<void(std::string_view)>>(std::move(hook));
        install_notice_processor();
    }

    // ---- One statement, waiting for its result ----------------------------------------------

    // Simple query protocol: no parameters, may hold several statements.
    Result exec(const std::string& sql) { return run({.form = Request::Form::simple, .sql = &sql}); }

    // Extended protocol with text-format bind parameters; std::nullopt binds NULL.
    template <class First, class... Rest>
    Result exec(const std::string& sql, const First& first, const Rest&... rest) {
        return with_params([&](std::span<const char* const> values) { return exec_raw(sql, values); }, first, rest...);
    }

    // Each value is a NUL-terminated text or nullptr for NULL.
    Result exec_raw(const std::string& sql, std::span<const char* const> values) {
        return run({.form = Request::Form::params, .sql = &sql, .values = values});
    }

    // Prepares a named statement for this session. Prepared statements are forgotten on
    // reconnect; is_prepared tells whether it must be prepared again.
    void prepare(const std::string& name, const std::string& sql, int param_count = 0) {
        const auto& stored = remember_prepared(name, sql);
        run({.form = Request::Form::prepare, .sql = &stored, .name = &name, .param_count = param_count});
    }

    [[nodiscard]] bool is_prepared(const std::string& name) const { return prepared_.contains(name); }
    // The SQL text a prepared statement was prepared with.
    [[nodiscard]] const std::string& prepared_text(const std::string& name) const { return prepared_sql(name); }
    // Forgets statements prepared on this session (the server may still hold them: DEALLOCATE
    // them to free the server's memory).
    void forget_prepared(const std::string& name) { prepared_.erase(name); }

    template <class... Params>
    Result exec_prepared(const std::string& name, const Params&... params) {
        return with_params([&](std::span<const char* const> values) { return exec_prepared_raw(name, values); },
                           params...);
    }

    Result exec_prepared_raw(const std::string& name, std::span<const char* const> values) {
        return run({.form = Request::Form::prepared, .sql = &prepared_sql(name), .name = &name, .values = values});
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

    // ---- Pipeline mode: statements in flight, results in order (see Pipeline) -------------

    [[nodiscard]] bool pipelined() const noexcept { return conn_ && PQpipelineStatus(conn_.get()) != PQ_PIPELINE_OFF; }
    [[nodiscard]] std::size_t in_flight() const noexcept { return pipeline_.size(); }

    void enter_pipeline() {
        if (pipelined()) return;
        if (!conn_ || PQenterPipelineMode(conn_.get()) != 1) throw error_from(nullptr, "pipeline mode");
    }

    // Sends a statement without waiting for it. `tag` comes back with its Completion; an error of
    // a statement sent with `tolerate_error` is dropped (the statements after it up to the next
    // sync() are then skipped by the server, and theirs too).
    void send(const Request& request, std::uint32_t tag = 0, bool tolerate_error = false) {
        if (!pipelined()) throw Error(ErrorKind::other, {}, "Connection::send needs pipeline mode");
        dispatch(request);
        if (PQsendFlushRequest(conn_.get()) != 1 || PQflush(conn_.get()) < 0) fail_dispatch(*request.sql);
        pipeline_.push_back({request.sql, tag, tolerate_error, false});
    }

    // Prepares a named statement in the pipeline (after the statements sent before it, without
    // waiting); it is prepared once its completion is received.
    void send_prepare(const std::string& name, const std::string& sql, int param_count) {
        const auto& stored = remember_prepared(name, sql);
        send({.form = Request::Form::prepare, .sql = &stored, .name = &stored_name(name), .param_count = param_count});
    }

    // Ends the pipeline's implicit transaction here: an error before it skips nothing after it.
    void sync() {
        if (!pipelined() || PQpipelineSync(conn_.get()) != 1) throw error_from(nullptr, "pipeline sync");
        pipeline_.push_back({nullptr, 0, true, true});
    }

    // Waits for the oldest statement in flight. On an error (not tolerated) the pipeline is
    // drained and left, and the error thrown: the connection can be used again.
    Completion receive() {
        if (pipeline_.empty()) throw Error(ErrorKind::other, {}, "Connection::receive: nothing in flight");
        const auto entry = pipeline_.front();
        pipeline_.pop_front();
        PGconn* native = conn_.get();
        if (entry.sync) {
            while (PGresult* raw = PQgetResult(native)) {
                const Result result(raw);
                if (PQresultStatus(raw) == PGRES_PIPELINE_SYNC) break;
            }
            return {};
        }
        const std::string_view sql = *entry.sql;
        Completion done{entry.tag, 0};
        Result failed;
        std::optional<Error> error;
        bool skipped = false;
        while (PGresult* raw = PQgetResult(native)) {
            Result result(raw);
            const auto status = PQresultStatus(raw);
            if (status == PGRES_PIPELINE_ABORTED)
                skipped = true;
            else if (!succeeded(status)) {
                if (failed.native_handle() == nullptr) failed = std::move(result);
            } else if (auto refused = refused_commit(result, sql))
                error = std::move(refused);
            else
                done.rows += result.affected_rows();
        }
        // Built once the results are read: a lost session shows only then (CONNECTION_BAD).
        if (failed.native_handle() != nullptr)
            error = error_from(failed.native_handle(), sql);
        else if (!error && !skipped && PQstatus(native) == CONNECTION_BAD)
            error = error_from(nullptr, sql);
        if (entry.tolerate) {
            notify(error || skipped ? TracePoint::failed : TracePoint::done, sql);
            return done;
        }
        if (skipped && !error)
            error = Error(ErrorKind::other, {}, "skipped after an earlier statement of its pipeline failed", {},
                          statement_context(sql));
        if (error) {
            notify(TracePoint::failed, sql);
            leave_pipeline();
            throw std::move(*error);
        }
        notify(TracePoint::done, sql);
        return done;
    }

    // Leaves pipeline mode, after receiving (and dropping) whatever is still in flight.
    void leave_pipeline() noexcept {
        PGconn* native = conn_.get();
        std::size_t syncs = 1;  // the one sent here, and those still in flight
        for (const auto& entry : pipeline_) syncs += entry.sync ? 1 : 0;
        pipeline_.clear();
        if (native == nullptr || PQpipelineStatus(native) == PQ_PIPELINE_OFF) return;
        if (PQstatus(native) != CONNECTION_BAD && PQpipelineSync(native) == 1) {
            // Everything up to and including the last sync point: results of aborted statements too.
            for (int nulls = 0; syncs > 0 && nulls < 2;) {
                PGresult* raw = PQgetResult(native);
                if (raw == nullptr) {
                    ++nulls;
                    if (PQstatus(native) == CONNECTION_BAD) break;
                    continue;
                }
                nulls = 0;
                if (PQresultStatus(raw) == PGRES_PIPELINE_SYNC) --syncs;
                PQclear(raw);
            }
        }
        PQexitPipelineMode(native);
    }

    // Removes the password, and the secrets added with add_secret, from a text that came from the
    // server or libpq, just in case, or from a statement that carries a secret.
    [[nodiscard]] std::string scrub(std::string_view text) const {
        std::string out(text);
        const auto remove = [&](const std::string& secret) {
            if (secret.size() < 3) return;
            for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos))
                out.replace(pos, secret.size(), "<redacted>");
        };
        remove(config_.password);
        for (const auto& secret : secrets_) remove(secret);
        return out;
    }

    // A secret that statements of this session carry as a literal (Redshift's COPY takes S3
    // credentials so): from now on the trace sees <redacted> in its place, and so do errors.
    void add_secret(std::string secret) {
        if (secret.size() < 3) return;
        for (const auto& known : secrets_)
            if (known == secret) return;
        secrets_.push_back(std::move(secret));
    }

private:
    friend class CopyIn;

    struct InFlight {
        const std::string* sql;
        std::uint32_t tag;
        bool tolerate;
        bool sync;
    };

    [[nodiscard]] static bool succeeded(ExecStatusType status) noexcept {
        return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
    }

    // The one way in: traces the statement and hands it to libpq without waiting.
    void dispatch(const Request& request) {
        const std::string& sql = *request.sql;
        notify(TracePoint::sending, sql);
        PGconn* native = conn_.get();
        const int count = param_count(request.values.size());
        int sent = 0;
        switch (request.form) {
            case Request::Form::simple:
                // The simple protocol is not allowed in a pipeline: there it is a statement without parameters.
                sent = pipelined() ? PQsendQueryParams(native, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0)
                                   : PQsendQuery(native, sql.c_str());
                break;
            case Request::Form::params:
                sent =
                    PQsendQueryParams(native, sql.c_str(), count, nullptr, request.values.data(), nullptr, nullptr, 0);
                break;
            case Request::Form::prepare:
                sent = PQsendPrepare(native, request.name->c_str(), sql.c_str(), request.param_count, nullptr);
                break;
            case Request::Form::prepared:
                sent = PQsendQueryPrepared(native, request.name->c_str(), count, request.values.data(), nullptr,
                                           nullptr, 0);
                break;
        }
        if (sent != 1) fail_dispatch(sql);
    }

    [[noreturn]] void fail_dispatch(std::string_view sql) {
        auto error = error_from(nullptr, sql);
        notify(TracePoint::failed, sql);
        throw error;
    }

    // The one way out for a statement outside a pipeline: reads its results, traces the outcome
    // and throws its error. Returns the last result, or the one that starts a COPY.
    Result collect(std::string_view sql) {
        PGconn* native = conn_.get();
        Result last;
        Result failed;
        std::optional<Error> error;
        while (PGresult* raw = PQgetResult(native)) {
            Result result(raw);
            const auto status = PQresultStatus(raw);
            if (status == PGRES_COPY_IN && failed.native_handle() == nullptr)
                return result;  // the caller sends the data, then collects again
            if (!succeeded(status)) {
                if (failed.native_handle() == nullptr) failed = std::move(result);
            } else if (auto refused = refused_commit(result, sql)) {
                error = std::move(refused);
            } else {
                last = std::move(result);
            }
        }
        // Built once the results are read: a lost session shows only then (CONNECTION_BAD).
        if (failed.native_handle() != nullptr)
            error = error_from(failed.native_handle(), sql);
        else if (!error && PQstatus(native) == CONNECTION_BAD)
            error = error_from(nullptr, sql);
        if (error) {
            notify(TracePoint::failed, sql);
            throw std::move(*error);
        }
        notify(TracePoint::done, sql);
        return last;
    }

    Result run(const Request& request) {
        if (pipelined())
            throw Error(ErrorKind::other, {}, "a statement that waits for its result was sent in pipeline mode", {},
                        statement_context(*request.sql));
        if (!conn_) throw error_from(nullptr, *request.sql);
        dispatch(request);
        return collect(*request.sql);
    }

    // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error.
    [[nodiscard]] std::optional<Error> refused_commit(const Result& result, std::string_view sql) const {
        if (sql != "COMMIT" || std::string_view(PQcmdStatus(result.native_handle())) != "ROLLBACK") return std::nullopt;
        return Error(ErrorKind::other, {}, "COMMIT rolled back: an earlier statement of the transaction failed", {},
                     statement_context(sql));
    }

    // Builds the Error for the last failure on this session (result may be null). Errors that may
    // quote row values (quotes_values) keep, unless set_error_values(true), what is safe: the
    // message without its values, the table, column, constraint and type the server named, and
    // the context without values (a COPY's line and column).
    [[nodiscard]] Error error_from(const PGresult* result, std::string_view sql) const {
        const auto field = [&](int code) -> std::string {
            const char* value = result != nullptr ? PQresultErrorField(result, code) : nullptr;
            return value != nullptr ? scrub(value) : std::string();
        };
        std::string sqlstate = field(PG_DIAG_SQLSTATE);
        std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
        std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
        const std::string where = field(PG_DIAG_CONTEXT);
        if (message.empty()) message = detail::one_line(scrub(conn_ ? PQerrorMessage(conn_.get()) : "no connection"));
        const bool lost = !conn_ || PQstatus(conn_.get()) == CONNECTION_BAD;
        const auto kind = lost ? ErrorKind::connection_lost : classify(sqlstate, message, detail);
        if (!error_values_ && quotes_values(sqlstate)) {
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
            if (const auto context = context_without_values(where); !context.empty())
                detail.append(detail.empty() ? "" : "; ").append("where: ").append(context);
            if (!detail.empty()) detail.append(" (values not shown)");
        } else if (!where.empty()) {
            detail.append(detail.empty() ? "" : "; ").append("where: ").append(where);
        }
        return Error(kind, std::move(sqlstate), std::move(message), std::move(detail), statement_context(sql));
    }

    void notify(TracePoint point, std::string_view sql) const {
        if (!trace_) return;
        if (secrets_.empty())
            trace_(point, sql);
        else
            trace_(point, scrub(sql));
    }

    void open() {
        auto keywords = config_.keywords();
        const auto set_default = [&](const char* key, const char* value) {
            for (const auto& option : keywords)
                if (option.first == key) return;
            keywords.emplace_back(key, value);
        };
        set_default("client_encoding", "UTF8");
        // Nothing waits without limit by default: a connect to a host that does not answer, or a
        // peer gone silent (the kernel's own keepalive starts after 2 hours).
        set_default("connect_timeout", "30");
        set_default("keepalives", "1");
        set_default("keepalives_idle", "60");
        set_default("keepalives_interval", "10");
        set_default("keepalives_count", "6");
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
        // Refused credentials, a missing database or a certificate that does not verify will not
        // heal by retrying.
        bool refused = false;
        for (const std::string_view permanent :
             {"authentication failed", "does not exist", "no password supplied", "no pg_hba.conf entry", "certificate",
              "SSL error", "does not support SSL"})
            refused = refused || message.find(permanent) != std::string::npos;
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

    const std::string& remember_prepared(const std::string& name, const std::string& sql) {
        // Node-based: the stored text stays where it is while statements referring to it are in flight.
        auto& stored = prepared_[name];
        stored = std::make_unique<const std::string>(sql);
        return *stored;
    }

    // The map's own copy of a prepared statement's name, which lives as long as the statement.
    [[nodiscard]] const std::string& stored_name(const std::string& name) const { return prepared_.find(name)->first; }

    [[nodiscard]] const std::string& prepared_sql(const std::string& name) const {
        const auto found = prepared_.find(name);
        if (found == prepared_.end())
            throw Error(ErrorKind::other, {}, "statement '" + name + "' was not prepared in this session");
        return *found->second;
    }

    [[nodiscard]] std::string statement_context(std::string_view sql) const {
        constexpr std::size_t shown = 160;
        std::string out = "while executing \"";
        out.append(scrub(sql.substr(0, shown)));
        if (sql.size() > shown) out.append("...");
        return out.append("\" on ").append(config_.redacted());
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
    std::unordered_map<std::string, std::unique_ptr<const std::string>> prepared_;
    std::optional<std::string> version_;
    std::uint64_t session_ = 0;
    std::deque<InFlight> pipeline_;
    bool error_values_ = false;
    std::vector<std::string> secrets_;  // add_secret
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

    // Ends the COPY; returns the rows copied.
    std::size_t finish() {
        if (PQputCopyEnd(conn_->native_handle(), nullptr) != 1) fail();
        Connection* conn = std::exchange(conn_, nullptr);
        return conn->collect(sql_).affected_rows();
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
        Connection* conn = std::exchange(conn_, nullptr);
        if (PQputCopyEnd(conn->native_handle(), reason) == 1) {
            while (PGresult* raw = PQgetResult(conn->native_handle())) PQclear(raw);
        }
    }

    Connection* conn_;
    std::string sql_;
};

inline CopyIn Connection::copy_in(const std::string& sql) {
    const auto started = run({.form = Request::Form::simple, .sql = &sql});
    if (PQresultStatus(started.native_handle()) != PGRES_COPY_IN)
        throw Error(ErrorKind::other, {}, "the statement did not start a COPY FROM STDIN", {}, statement_context(sql));
    return CopyIn(*this, sql);
}

inline std::size_t Connection::copy_from_stdin(const std::string& sql, std::string_view data) {
    auto copy = copy_in(sql);
    copy.write(data);
    return copy.finish();
}

}  // namespace redsink::pq
