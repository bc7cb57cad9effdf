#pragma once

#include <redsink/detail/utf8.hpp>
#include <redsink/dialect.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/table.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

namespace redsink {

class BulkLoader;  // redsink/bulk_load.hpp

// What a Redshift-dialect transaction locks first (docs/tasks.md).
enum class ApplyLock {
    sink_table,  // "redsink_lock_<table>", a table of the sink's own: writers queue, readers of the target never wait
    target,      // the target itself: readers of the target wait while a batch is applied
};

// When SinkOptions::session_hook is called, on a task's thread with its connection.
enum class SessionPoint {
    before_batch,          // before a batch's first attempt
    after_failed_attempt,  // after an attempt failed and was rolled back, if the session is still open
    commit_sent,           // exactly_once: COMMIT was sent, its answer not read yet
};

using SessionHook = std::function<void(pq::Connection&, SessionPoint)>;

// exactly_once: what a sink holds against other sinks of its identity (the target table and
// SinkOptions::source_name; docs/delivery.md#fencing).
enum class Fencing {
    identity,   // the whole identity, taken at start: a newer sink of the identity fences this one
    partition,  // only the partitions it claims (Sink::claim_partitions): sinks of one identity share
                // its partitions, and a claim fences the partition's previous holder
};

// Numeric knobs and names; the behaviour is in the policies.
struct SinkOptions {
    std::string schema = "public";
    std::string table;  // required
    std::size_t batch_rows = 10'000;
    std::size_t batch_bytes = std::size_t{64} << 20;  // of encoded values
    std::chrono::milliseconds flush_interval{1'000};
    // How long a batch, or the sink's start, keeps trying after transient failures (a lost
    // connection, a server restarting, a serialization conflict, a lock or statement timeout).
    std::chrono::milliseconds retry_budget{300'000};
    int max_attempts = 0;                          // per batch, counting the first; 0: as many as retry_budget allows
    std::chrono::milliseconds retry_backoff{100};  // doubling up to retry_backoff_max, half of it random
    std::chrono::milliseconds retry_backoff_max{10'000};
    // Once requested, nothing waits to be tried again: the start (or a claim) throws its last
    // error, and a batch waiting for its next attempt is given up unacknowledged and stops the
    // sink with an ErrorKind::other error (a program's bounded shutdown, docs/connector.md).
    // Attempts already running finish; a first attempt still runs.
    std::stop_token stop{};
    // Set on every session: a statement taking longer is canceled and its batch tried again (0:
    // none). On Redshift it also bounds waiting for a lock.
    std::chrono::milliseconds statement_timeout{900'000};
    // postgres dialect: a lock not granted in this time fails the attempt, which is tried again (0:
    // none). Redshift has no lock_timeout: there, statement_timeout bounds the wait.
    std::chrono::milliseconds lock_timeout{60'000};
    std::size_t tasks = 1;         // background writers, each with its own connection and thread (docs/tasks.md)
    sql::RedshiftLayout layout{};  // only for tables the sink creates, only in the redshift dialect
    ApplyLock lock = ApplyLock::sink_table;  // redshift dialect
    // Redshift dialect: the stage is emptied with DELETE inside each transaction, and dropped and
    // created again after this many batches (1: every batch), so that the deleted rows it keeps
    // (temporary tables are never vacuumed) stay few.
    std::size_t stage_recreate_batches = 8;
    // dead_letter: rows of one batch the server may refuse, each then dead-lettered and the batch
    // written without it, before the sink stops as stop_on_error does. Each is found by the
    // server's COPY line or by trial transactions that roll back, about one per halving of the
    // batch (docs/dead-letters.md says what that costs). 0: the
    // server's refusals stop the sink (the client's are still dead-lettered).
    std::size_t max_refused_rows = 20;
    // dead_letter: the dead letters' table (in `schema`) when it is known only at run time, over
    // the policy's name; empty: the policy's (dead_letter<"name">, redsink_dead_letters).
    std::string dead_letter_table{};
    // exactly_once: names the source when several sources write into one table. The table and
    // this name are the sink's identity: its positions, and the sinks it fences.
    std::string source_name{};
    // The Redshift dialect: the longest string (a value or a member's name, in bytes) a SUPER
    // (redsink::json) document may hold. Redshift's JSON_PARSE refuses longer ones (docs/types.md);
    // a cluster that accepts more can raise it; 0 turns the check off.
    std::size_t super_string_limit = 65535;
    // exactly_once: Fencing::identity, or Fencing::partition for several sinks of one identity,
    // each writing the partitions it claimed (a Kafka consumer group's members: the connector
    // claims what the group assigns). With partition, the sink writes no partition before
    // claim_partitions, and keeps one more connection for its claims.
    Fencing fencing = Fencing::identity;
    // redshift dialect: a bulk load path (S3 and COPY: redsink::s3::copy_loader in
    // redsink/s3/copy.hpp, target redsink::s3) for batches of at least its min_rows() rows to
    // stage; smaller batches, and every batch without one, go by INSERT (docs/s3-copy.md).
    std::shared_ptr<BulkLoader> bulk_load{};
    // The upsert insert mode's statements: DELETE ... USING the stage then INSERT ... SELECT (on
    // PostgreSQL, INSERT ... ON CONFLICT where the key is enforced), or one MERGE of the stage,
    // in both dialects (docs/policies.md#upsert; measured in docs/benchmarks.md).
    UpsertStatement upsert_statement = UpsertStatement::delete_insert;
    // For debugging only: errors, dead letters' reasons and notices show the server's text as it
    // came (message, detail, hint, context), which may hold row values (a trigger's RAISE, a
    // duplicate key, a refused value): personal data in logs and in the dead-letter table. Off,
    // their text is built from the error's fields (docs/connection.md#errors).
    bool verbatim_server_text = false;
    pq::TraceHook trace{};       // every statement's SQL text (never values), from the first, and every notice
    SessionHook session_hook{};  // for tests and diagnostics: runs on a task's session (SessionPoint)
};

// What a sink's policies make of its options, for check_options.
struct SinkTraits {
    Dialect dialect = Dialect::redshift;
    bool writes_positions = false;         // exactly_once
    std::string_view dead_letter_table{};  // with dead_letter: its table; empty without
    bool upserts = false;                  // the insert mode is upsert
};

// The dead_letter policy's table: SinkOptions::dead_letter_table, else the policy's name
// (`policy_table`; empty without the policy).
[[nodiscard]] inline std::string_view dead_letter_table_of(const SinkOptions& options, std::string_view policy_table) {
    return options.dead_letter_table.empty() ? policy_table : std::string_view(options.dead_letter_table);
}

// Refuses options that cannot work, or cannot work with the sink's policies, with an error that
// names the option.
inline void check_options(const SinkOptions& options, const SinkTraits& traits) {
    const auto refuse = [](const std::string& why) { throw Error(ErrorKind::other, {}, why); };
    if (options.table.empty()) refuse("SinkOptions::table is required");
    if (options.batch_rows == 0) refuse("SinkOptions::batch_rows must be at least 1");
    if (options.max_attempts < 0) refuse("SinkOptions::max_attempts must be 0 (no limit) or more");
    if (options.retry_budget.count() < 0 || options.statement_timeout.count() < 0 || options.lock_timeout.count() < 0)
        refuse("SinkOptions::retry_budget, statement_timeout and lock_timeout cannot be negative");
    if (options.tasks < 1 || options.tasks > 64) refuse("SinkOptions::tasks must be between 1 and 64");
    if (options.source_name.size() > 255) refuse("SinkOptions::source_name is longer than 255 bytes");
    if (redsink::detail::check_utf8(options.source_name).fault != redsink::detail::Utf8Fault::none)
        refuse("SinkOptions::source_name is not valid UTF-8, or holds a NUL byte");
    if (options.fencing == Fencing::partition && !traits.writes_positions)
        refuse("SinkOptions::fencing (Fencing::partition) is for the exactly_once delivery policy");
    // Each sink sweeps its identity's prefix at start: it would delete what another sink of the
    // identity is loading.
    if (options.fencing == Fencing::partition && options.bulk_load)
        refuse("SinkOptions::bulk_load cannot be combined with Fencing::partition yet");
    if (!options.dead_letter_table.empty() && traits.dead_letter_table.empty())
        refuse("SinkOptions::dead_letter_table is for the dead_letter error policy");
    if (const auto letters = dead_letter_table_of(options, traits.dead_letter_table);
        !letters.empty() && options.table == letters)
        refuse("table " + options.table + " is the dead_letter policy's table; it cannot be the target too");
    if (options.upsert_statement == UpsertStatement::merge && !traits.upserts)
        refuse("SinkOptions::upsert_statement (UpsertStatement::merge) is for the upsert insert mode");
    if (traits.dialect != Dialect::redshift && options.bulk_load)
        refuse("SinkOptions::bulk_load (COPY from S3) is for the redshift dialect");
    const auto& layout = options.layout;
    if (traits.dialect != Dialect::redshift &&
        (!layout.diststyle.empty() || !layout.distkey.empty() || !layout.sortkey.empty()))
        refuse("SinkOptions::layout (DISTSTYLE, DISTKEY, SORTKEY) is for the redshift dialect");
}

}  // namespace redsink
