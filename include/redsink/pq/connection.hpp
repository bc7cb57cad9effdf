#pragma once

#include <redsink/pq/config.hpp>
#include <redsink/pq/connect.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/notices.hpp>
#include <redsink/pq/params.hpp>
#include <redsink/pq/prepared.hpp>
#include <redsink/pq/request.hpp>
#include <redsink/pq/result.hpp>
#include <redsink/pq/secrets.hpp>
#include <redsink/pq/server_error.hpp>

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::pq {

class CopyIn;

// One session with a PostgreSQL or Redshift server. Owns its PGconn. Every statement, in every
// form (plain, with parameters, prepared, pipelined or not, COPY), enters the server through
// dispatch() and leaves through collect() or receive(): the one place that traces, classifies
// failures and scrubs the password.
class Connection final {
public:
    explicit Connection(ConnectionConfig config)
        : config_(std::move(config)), text_(std::make_unique<detail::SessionText>()) {
        text_->password = config_.password;
        open();
    }

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

    // Statements, and the session's notices (TracePoint::notice), go to `hook`.
    void set_trace(TraceHook hook) { text_->trace = std::move(hook); }
    [[nodiscard]] const TraceHook& trace() const noexcept { return text_->trace; }

    // Whether errors and notices show the server's text as it came (for debugging only: it may
    // hold row values, personal data) instead of what server_text.hpp builds from their fields.
    void set_verbatim_server_text(bool verbatim) noexcept { text_->verbatim = verbatim; }

    // ---- One statement, waiting for its result ----------------------------------------------

    // Simple query protocol: no parameters, may hold several statements.
    Result exec(const std::string& sql) { return run({.form = Request::Form::simple, .sql = &sql}); }

    // Extended protocol with text-format bind parameters; std::nullopt binds NULL.
    template <class First, class... Rest>
    Result exec(const std::string& sql, const First& first, const Rest&... rest) {
        return detail::with_params([&](std::span<const char* const> values) { return exec_raw(sql, values); }, first,
                                   rest...);
    }

    // Each value is a NUL-terminated text or nullptr for NULL.
    Result exec_raw(const std::string& sql, std::span<const char* const> values) {
        return run({.form = Request::Form::params, .sql = &sql, .values = values});
    }

    // Prepares a named statement for this session. Prepared statements are forgotten on
    // reconnect; is_prepared tells whether it must be prepared again.
    void prepare(const std::string& name, const std::string& sql, int param_count = 0) {
        const auto& stored = prepared_.remember(name, sql);
        run({.form = Request::Form::prepare, .sql = &stored, .name = &name, .param_count = param_count});
    }

    [[nodiscard]] bool is_prepared(const std::string& name) const { return prepared_.contains(name); }
    // The SQL text a prepared statement was prepared with.
    [[nodiscard]] const std::string& prepared_text(const std::string& name) const { return prepared_.text(name); }
    // Forgets statements prepared on this session (the server may still hold them: DEALLOCATE
    // them to free the server's memory).
    void forget_prepared(const std::string& name) { prepared_.forget(name); }

    template <class... Params>
    Result exec_prepared(const std::string& name, const Params&... params) {
        return detail::with_params([&](std::span<const char* const> values) { return exec_prepared_raw(name, values); },
                                   params...);
    }

    Result exec_prepared_raw(const std::string& name, std::span<const char* const> values) {
        return run({.form = Request::Form::prepared, .sql = &prepared_.text(name), .name = &name, .values = values});
    }

    // The server's version() text, read once per session.
    [[nodiscard]] const std::string& version() {
        if (!version_) version_ = std::string(exec("SELECT version()").get(0, 0));
        return *version_;
    }
    [[nodiscard]] bool is_redshift() { return version().find("Redshift") != std::string::npos; }

    // Starts COPY ... FROM STDIN (PostgreSQL only; Redshift has no COPY from the client).
    [[nodiscard]] CopyIn copy_in(const std::string& sql);  // in copy_in.hpp
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
        const auto& stored = prepared_.remember(name, sql);
        send({.form = Request::Form::prepare,
              .sql = &stored,
              .name = &prepared_.stored_name(name),
              .param_count = param_count});
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
    [[nodiscard]] std::string scrub(std::string_view text) const { return text_->scrub(text); }

    // A secret that statements of this session carry as a literal (Redshift's COPY takes S3
    // credentials so): from now on the trace sees <redacted> in its place, and so do errors.
    void add_secret(std::string secret) { text_->secrets.add(std::move(secret)); }

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

    // scrub() as a callable, for the helpers that build errors.
    [[nodiscard]] auto scrubber() const {
        return [this](std::string_view text) { return scrub(text); };
    }

    // The Error for the last failure on this session (result may be null).
    [[nodiscard]] Error error_from(const PGresult* result, std::string_view sql) const {
        return detail::server_error(result, conn_.get(), text_->verbatim, scrubber(), statement_context(sql));
    }

    void notify(TracePoint point, std::string_view sql) const {
        if (!text_->trace) return;
        if (text_->secrets.empty())
            text_->trace(point, sql);
        else
            text_->trace(point, scrub(sql));
    }

    void open() {
        prepared_.clear();
        version_.reset();
        ++session_;
        conn_ = detail::connect(config_, scrubber());
        detail::route_notices(conn_.get(), text_.get());
    }

    static int param_count(std::size_t count) {
        if (count > 65535) throw Error(ErrorKind::other, {}, "a statement can bind at most 65535 parameters");
        return static_cast<int>(count);
    }

    [[nodiscard]] std::string statement_context(std::string_view sql) const {
        constexpr std::size_t shown = 160;
        std::string out = "while executing \"";
        out.append(scrub(sql.substr(0, shown)));
        if (sql.size() > shown) out.append("...");
        return out.append("\" on ").append(config_.redacted());
    }

    ConnectionConfig config_;
    detail::ConnectionHandle conn_{nullptr, &PQfinish};
    detail::PreparedStatements prepared_;
    std::optional<std::string> version_;
    std::uint64_t session_ = 0;
    std::deque<InFlight> pipeline_;
    // The trace hook, the secrets (add_secret), verbatim server text; on the heap, where libpq
    // finds it for notices.
    std::unique_ptr<detail::SessionText> text_;
};

}  // namespace redsink::pq

// CopyIn needs Connection complete; this header's users get it too.
#include <redsink/pq/copy_in.hpp>
