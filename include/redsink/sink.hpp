#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/change.hpp>
#include <redsink/detail/acknowledger.hpp>
#include <redsink/detail/applier.hpp>
#include <redsink/detail/batcher.hpp>
#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/failure_latch.hpp>
#include <redsink/detail/policy_pack.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/task.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>
#include <redsink/retry.hpp>
#include <redsink/schema.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/session.hpp>
#include <redsink/stats.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace redsink {

// Streams change events of one record type into one table. write() encodes each event into the
// batch of the task (a background writer: one thread and connection) its key routes it to; a
// task's batch is handed over when it reaches batch_rows or batch_bytes, when flush_interval has
// passed since its first event (checked by write and poll), or on flush(), and the caller goes
// on filling the next one while the task writes it. on_commit is called from write, poll and flush, on the caller's
// thread. See docs/architecture.md, docs/policies.md, docs/delivery.md and docs/tasks.md.
template <Record R, class... Policies>
class Sink {
    using pack = detail::policy_pack<R, Policies...>;
    using order = typename pack::order;
    // One row per key (upsert, newest_wins).
    static constexpr bool one_row_per_key = pack::insert_mode::reduction != Reduction::inserts_after_last_delete;

public:
    using record_type = R;
    using key_policy = typename pack::key;
    using insert_mode = typename pack::insert_mode;
    using delete_mode = typename pack::delete_mode;
    using schema_policy = typename pack::schema;
    using delivery_policy = typename pack::delivery;
    using error_policy = typename pack::on_error;
    static constexpr Dialect dialect = pack::dialect_value;

    // Connects (once per task), makes the table ready as the schema policy allows (errors name
    // the table and column), and starts the tasks. Transient failures (the server not up yet) are
    // retried within retry_budget.
    Sink(ConnectionConfig config, SinkOptions options)
        : options_(checked(std::move(options))),
          target_(sql::TableRef::make(options_.schema, options_.table)),
          batcher_(options_.tasks, {options_.batch_rows, options_.batch_bytes, options_.flush_interval}, dialect,
                   delivery_policy::writes_positions, order::index, one_row_per_key) {
        sql::check_target_name(target_);
        retrying(
            "starting the sink for " + target_.display(), [&] { start(config); }, [&] { tasks_.clear(); });
    }

    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    // Stops the tasks: each finishes the batch it is writing; what was not committed is not
    // acknowledged (call flush() first to write it).
    ~Sink() {
        for (auto& task : tasks_) task->stop();
    }

    // Takes one event: encodes it into its task's batch, and hands the batch over when it is
    // full. All or nothing: when it throws, the event was not taken, and calling it again with the
    // same event is right. It throws a failure a task had since the last call (before taking the
    // event), or a value that cannot be written (BadValue, naming the table, column and position),
    // which stops the sink once what was handed over before it is written; with dead_letter, such
    // an event is taken as a dead letter instead, and nothing is thrown.
    //
    // With exactly_once, an event at or below the offset its partition reached (committed before
    // the sink started, or taken since) is skipped: acknowledged, counted in events_skipped, never
    // written again. With Fencing::partition, an event of a partition the sink did not claim is
    // refused, and not taken.
    void write(const Change<R>& change) {
        enter();
        std::int64_t* reached = nullptr;
        if constexpr (delivery_policy::writes_positions) {
            reached = reached_offset(change.position);
            if (reached != nullptr && change.position.offset <= *reached) {
                const auto ticket = acks_.add(change.position);
                acks_.complete({&ticket, 1});
                events_skipped_.fetch_add(1);
                events_in_.fetch_add(1);
                return;
            }
        }
        if (is_delete(change.op) && !delete_mode::applies_deletes) {
            const auto ticket = acks_.add(change.position);
            acks_.complete({&ticket, 1});
            ++events_ignored_;
        } else {
            std::size_t task = 0;
            try {
                task = batcher_.add(change);
            } catch (const BadValue& bad) {
                if constexpr (error_policy::dead_letters)
                    task = batcher_.add_refused(change, bad);
                else
                    refuse(bad.at(target_.display(), change.position));
            }
            batcher_.batch(task).tickets.push_back(acks_.add(change.position));
            pending_.fetch_add(1);
        }
        if constexpr (delivery_policy::writes_positions) {
            if (reached == nullptr)
                reached_.emplace(change.position.partition, change.position.offset);
            else
                *reached = change.position.offset;
        }
        events_in_.fetch_add(1);
        // The event is taken: a task's failure found while handing over waits for the next call.
        if (batcher_.due() || batcher_.any_full()) (void)hand_over(false);
    }

    // Hands over the batches whose first event is flush_interval old, and delivers
    // acknowledgements. Call it from an idle loop.
    void poll() {
        enter();
        if (batcher_.due() && !hand_over(false)) raise();
    }

    // Hands everything buffered over and waits until every task has committed it (or holds a
    // batch whose retries ran out: then its error is thrown), then delivers acknowledgements.
    void flush() {
        enter();
        (void)hand_over(true);
        for (auto& task : tasks_) task->wait_idle();
        acks_.deliver();
        if (latch_.pending()) raise();
    }

    // Called with, per partition, the highest offset up to which every event written to this sink
    // is committed; on the caller's thread, from write, poll and flush, positions never going back.
    void on_commit(std::function<void(const Positions&)> callback) { acks_.set_callback(std::move(callback)); }

    // exactly_once: per partition, the offset up to which every event is committed, from the
    // positions table when the sink started and from its commits since. The source resumes after
    // them (a Kafka consumer seeks each partition to its offset + 1); an earlier event is skipped.
    // On the caller's thread.
    // With Fencing::partition: of the partitions claimed (committed when claimed, and since).
    [[nodiscard]] Positions resume_positions() const requires delivery_policy::writes_positions {
        Positions out = resume_;
        for (const auto& [partition, offset] : acks_.delivered()) {
            if (options_.fencing == Fencing::partition && !claimed_.contains(partition)) continue;
            auto [it, fresh] = out.try_emplace(partition, offset);
            if (!fresh && offset > it->second) it->second = offset;
        }
        return out;
    }

    // exactly_once with Fencing::partition: takes `partitions` from every other sink of the
    // identity (one that holds one of them is fenced: its next batch reaching it commits nothing and
    // fails with ErrorKind::fenced), and returns the offsets committed in them (a partition with
    // nothing committed yet is not among them). The source resumes each after its offset; events at
    // or below it are skipped. First flushes what the sink holds (a claim of a partition it held
    // already must not fence its own batches). Transient failures are retried within
    // retry_budget. On the caller's thread; the sink writes events only of partitions it claimed.
    Positions claim_partitions(const std::set<std::int32_t>& partitions) requires delivery_policy::writes_positions {
        if (options_.fencing != Fencing::partition)
            throw Error(ErrorKind::other, {},
                        "claim_partitions on the sink for " + target_.display() +
                            ": it holds its whole identity (SinkOptions::fencing is Fencing::identity)");
        for (const auto partition : partitions)
            if (partition < 0)
                throw Error(ErrorKind::bad_data, {},
                            "claim_partitions on the sink for " + target_.display() + ": partition " +
                                std::to_string(partition) + " is below 0");
        flush();
        detail::PartitionClaim claim;
        retrying("claiming partitions of " + target_.display(), [&] {
            if (!claim_conn_->is_open()) {
                claim_conn_->reconnect();
                for (const auto& setting : settings_) claim_conn_->exec(setting);
            }
            claim = detail::claim_partitions(*claim_conn_, *positions_, dialect, lock_sql_, partitions);
        });
        // Nothing is in flight (flushed): the tasks see the new epochs from their next batch.
        for (const auto& [partition, epoch] : claim.epochs) {
            positions_->partitions->set(partition, epoch);
            claimed_.insert(partition);
            const auto committed = claim.positions.find(partition);
            if (committed == claim.positions.end()) {
                reached_.erase(partition);
                resume_.erase(partition);
            } else {
                reached_[partition] = committed->second;
                resume_[partition] = committed->second;
            }
        }
        last_reached_ = nullptr;
        return claim.positions;
    }

    // exactly_once: what the sink holds against other sinks of its identity (SinkOptions::fencing).
    [[nodiscard]] Fencing fencing() const noexcept requires delivery_policy::writes_positions {
        return options_.fencing;
    }

    // The tasks' sums and where the events are: events_in == events + events_ignored +
    // events_skipped + events_pending whenever no commit is under way (after flush(), for one).
    [[nodiscard]] SinkStats stats() const {
        SinkStats total;
        for (const auto& task : tasks_) {
            const auto one = task->stats();
            static_cast<TaskStats&>(total) += one;
            total.tasks.push_back(one);
        }
        total.events_in = events_in_.load();
        total.events_ignored = events_ignored_.load();
        total.events_skipped = events_skipped_.load();
        total.events_pending = pending_.load();
        total.acknowledged = acks_.delivered();
        return total;
    }

    [[nodiscard]] const sql::TableSpec& table() const noexcept { return plan_->table(); }
    [[nodiscard]] const TableSetup& setup() const noexcept { return setup_; }
    // The dead-letter table (with dead_letter; nothing with stop_on_error).
    [[nodiscard]] const std::optional<sql::TableSpec>& dead_letter_table() const noexcept { return dead_letters_; }
    // Events written and not yet acknowledged.
    [[nodiscard]] std::size_t pending_events() const { return acks_.outstanding(); }

    // Receives the SQL text of every statement the tasks send (never values). Set it before the
    // first write: the tasks' threads call it.
    void set_trace(pq::TraceHook hook) {
        if (claim_conn_) claim_conn_->set_trace(hook);
        for (auto& task : tasks_) task->connection().set_trace(hook);
    }

private:
    // One attempt at starting: the table made ready, the plan, the tasks and their connections.
    void start(const ConnectionConfig& config) {
        const auto settings = sql::session_settings_sql(dialect, options_.statement_timeout, options_.lock_timeout);
        const auto connect = [&](ConnectionConfig task_config) {
            pq::Connection conn(std::move(task_config));
            conn.set_trace(options_.trace);
            conn.set_error_values(options_.error_values);
            for (const auto& setting : settings) conn.exec(setting);
            return conn;
        };
        pq::Connection first = connect(config);
        auto spec = table_spec<R, key_policy>(target_, dialect, options_.layout);
        spec.unique_key = one_row_per_key;
        const auto state = inspect_table(first, target_);
        const bool enforced = key_enforced(spec, state);
        // The policies plan once, knowing what the table will be.
        auto plan = std::make_unique<ApplyPlan>(std::move(spec), enforced);
        plan->set_delete_mode(delete_mode::applies_deletes, delete_mode::keeps_rows);
        delete_mode::plan(*plan);
        insert_mode::plan(*plan);
        plan_ = std::move(plan);
        if constexpr (error_policy::dead_letters)
            dead_letters_ = detail::dead_letter_table_spec(
                sql::TableRef::make(options_.schema, std::string(error_policy::table)), dialect);
        check_privileges(first, target_, state, privilege_needs(state, enforced));
        setup_ =
            prepare_table(first, plan_->table(), {schema_policy::creates_table, schema_policy::adds_columns}, state);
        if (dead_letters_) prepare_dead_letter_table(first, *dead_letters_, target_);
        for (const auto& [own, role] : plan_->own_tables()) prepare_own_table(first, own, role);
        if (setup_.key_enforced != enforced)
            throw Error(ErrorKind::schema, {},
                        "table " + target_.display() + " changed while the sink started; start it again");
        if (dialect == Dialect::redshift && options_.lock == ApplyLock::sink_table) prepare_lock_table(first, target_);
        std::optional<detail::PositionsTarget> positions;
        const bool by_partition = options_.fencing == Fencing::partition;
        if constexpr (delivery_policy::writes_positions) {
            const auto positions_spec = detail::positions_table_spec(target_, dialect);
            prepare_positions_table(first, positions_spec, target_);
            positions = detail::PositionsTarget{positions_spec.name, target_.display(), options_.source_name, 0,
                                                detail::writer_name(config.application_name)};
            const auto locked = options_.lock == ApplyLock::target ? target_ : sql::lock_table(target_);
            lock_sql_ = sql::lock_table_sql(locked);
            if (by_partition) {
                // Nothing is held until claim_partitions.
                positions->partitions = std::make_shared<detail::PartitionEpochs>();
            } else {
                auto claim = detail::claim_identity(first, *positions, dialect, lock_sql_);
                positions->epoch = claim.epoch;
                positions->known = std::move(claim.rows);
                reached_ = claim.positions;
                resume_ = std::move(claim.positions);
            }
            positions_ = positions;
        }

        if (options_.bulk_load) {
            auto identity = target_.display();
            if (!options_.source_name.empty()) identity += "/" + options_.source_name;
            options_.bulk_load->start(identity);
        }
        const std::size_t count = options_.tasks;
        for (std::size_t i = 0; i < count; ++i) {
            // One task keeps the connection that made the table ready; several are told apart by
            // their application_name.
            auto task_config = config;
            if (count > 1) task_config.application_name += "/" + std::to_string(i + 1);
            // Fencing::partition: the first connection stays the sink's, for its claims.
            pq::Connection conn = count > 1 || by_partition ? connect(std::move(task_config)) : std::move(first);
            detail::Applier applier(
                detail::Executor(std::move(conn), *plan_,
                                 {.stage_recreate_batches = options_.stage_recreate_batches,
                                  .session_settings = settings,
                                  .dead_letter_table = dead_letters_,
                                  .positions = positions,
                                  .session_hook = options_.session_hook,
                                  .bulk = options_.bulk_load ? options_.bulk_load->session(i) : nullptr,
                                  .bulk_min_rows = options_.bulk_load ? options_.bulk_load->min_rows() : 0}),
                *plan_, {.lock = options_.lock}, retry_policy(),
                detail::Reducer{insert_mode::reduction,
                                delete_mode::keeps_rows,
                                key_info<R, key_policy>::indexes,
                                {order::index, order::numeric}},
                {.dead_letters = error_policy::dead_letters ? options_.max_refused_rows : 0}, options_.session_hook);
            tasks_.push_back(std::make_unique<detail::Task>(i, count, std::move(applier), acks_, latch_, pending_));
        }
        if (by_partition) {
            settings_ = settings;
            claim_conn_.emplace(std::move(first));
        }
    }

    // What the policies' statements will ask of the server (the built-in ones; a custom policy's
    // own statements are checked by the server when they run).
    [[nodiscard]] PrivilegeNeeds privilege_needs(const TableState& state, bool key_enforced) const {
        const bool upserts = one_row_per_key;
        const bool on_conflict = upserts && dialect == Dialect::postgres && key_enforced;
        const bool lock_own = dialect == Dialect::redshift && options_.lock == ApplyLock::sink_table;
        PrivilegeNeeds needs;
        needs.creates_table = state.columns.empty() && schema_policy::creates_table;
        needs.stages = delete_mode::applies_deletes || !plan_->plain_inserts();
        needs.reads = needs.stages;
        needs.deletes = (delete_mode::applies_deletes && !delete_mode::keeps_rows) || (upserts && !on_conflict) ||
                        (dialect == Dialect::redshift && options_.lock == ApplyLock::target);
        needs.updates = delete_mode::keeps_rows || on_conflict;
        needs.lock_table = lock_own;
        if (dead_letters_) needs.dead_letter_table = dead_letters_->name;
        if (delivery_policy::writes_positions) needs.positions_table = detail::positions_table(target_);
        for (const auto& [own, role] : plan_->own_tables()) needs.own_tables.push_back(own.name);
        return needs;
    }

    // Runs `attempt` until it succeeds, retrying transient failures within retry_budget (the
    // retry engine, redsink/retry.hpp), calling `after_failure` after each failed attempt. The last
    // error is thrown, a retryable one with `what` and the attempts made added to its context.
    void retrying(const std::string& what, const std::function<void()>& attempt,
                  const std::function<void()>& after_failure = {}) {
        with_retries<Error>(
            retry_policy(), {},
            [&] {
                try {
                    attempt();
                } catch (const Error&) {
                    if (after_failure) after_failure();
                    throw;
                }
            },
            [](const Error& error) { return error.retryable(); }, detail::NoRetryHook{},
            [&](const Error& error, const RetryStep& step) {
                if (!error.retryable()) return;
                throw Error(error.kind(), error.sqlstate(), error.message(), error.detail(),
                            what + ", after " + step.describe() + "; " + error.context());
            });
    }

    [[nodiscard]] RetryPolicy retry_policy() const {
        return {options_.max_attempts, options_.retry_budget, options_.retry_backoff, options_.retry_backoff_max};
    }

    static SinkOptions checked(SinkOptions options) {
        const auto refuse_option = [](const std::string& why) { throw Error(ErrorKind::other, {}, why); };
        if (options.table.empty()) refuse_option("SinkOptions::table is required");
        if (options.batch_rows == 0) refuse_option("SinkOptions::batch_rows must be at least 1");
        if (options.max_attempts < 0) refuse_option("SinkOptions::max_attempts must be 0 (no limit) or more");
        if (options.retry_budget.count() < 0 || options.statement_timeout.count() < 0 ||
            options.lock_timeout.count() < 0)
            refuse_option("SinkOptions::retry_budget, statement_timeout and lock_timeout cannot be negative");
        if (options.tasks < 1 || options.tasks > 64) refuse_option("SinkOptions::tasks must be between 1 and 64");
        if (options.source_name.size() > 255) refuse_option("SinkOptions::source_name is longer than 255 bytes");
        if (options.fencing == Fencing::partition && !delivery_policy::writes_positions)
            refuse_option("SinkOptions::fencing (Fencing::partition) is for the exactly_once delivery policy");
        // Each sink sweeps its identity's prefix at start: it would delete what another sink of the
        // identity is loading.
        if (options.fencing == Fencing::partition && options.bulk_load)
            refuse_option("SinkOptions::bulk_load cannot be combined with Fencing::partition yet");
        if (error_policy::dead_letters && options.table == error_policy::table)
            refuse_option("table " + options.table + " is the dead_letter policy's table; it cannot be the target too");
        if (dialect != Dialect::redshift && options.bulk_load)
            refuse_option("SinkOptions::bulk_load (COPY from S3) is for the redshift dialect");
        const auto& layout = options.layout;
        if (dialect != Dialect::redshift &&
            (!layout.diststyle.empty() || !layout.distkey.empty() || !layout.sortkey.empty()))
            refuse_option("SinkOptions::layout (DISTSTYLE, DISTKEY, SORTKEY) is for the redshift dialect");
        return options;
    }

    // exactly_once: the offset the event's partition reached (nothing for a partition not seen
    // yet); a partition below 0 is refused (its row would be the fence's), and with
    // Fencing::partition one the sink did not claim.
    [[nodiscard]] std::int64_t* reached_offset(const Position& position) {
        if (position.partition < 0)
            throw Error(ErrorKind::bad_data, {},
                        "event at " + to_string(position) + " for " + target_.display() +
                            ": exactly_once needs partitions of 0 or more; the event was not taken");
        if (last_reached_ == nullptr || last_partition_ != position.partition) {
            if (options_.fencing == Fencing::partition && !claimed_.contains(position.partition))
                throw Error(ErrorKind::other, {},
                            "event at " + to_string(position) + " for " + target_.display() +
                                ": the sink holds no claim on partition " + std::to_string(position.partition) +
                                " (Fencing::partition: claim_partitions first); the event was not taken");
            const auto found = reached_.find(position.partition);
            if (found == reached_.end()) return nullptr;
            last_reached_ = &found->second;
            last_partition_ = position.partition;
        }
        return last_reached_;
    }

    // Delivers acknowledgements, and raises a failure that happened since the last call.
    void enter() {
        acks_.deliver();
        if (latch_.pending()) raise();
    }

    [[noreturn]] void raise_now() {
        latch_.raise(target_.display());
        throw Error(ErrorKind::other, {}, "the sink for " + target_.display() + " failed");  // not reached
    }

    void raise() {
        if (latch_.stopped()) {
            // The other tasks stop at their batch boundary: once the error surfaces, no
            // acknowledgement follows it.
            for (auto& task : tasks_) task->wait_idle();
            acks_.deliver();
        }
        latch_.raise(target_.display());
    }

    // A value that cannot be written: what was handed over before it is written, then the sink stops.
    [[noreturn]] void refuse(const BadValue& bad) {
        for (auto& task : tasks_) task->wait_idle();
        latch_.stop(std::make_exception_ptr(bad));
        acks_.deliver();
        raise_now();
    }

    // Hands each task its batch when it is ready (or `all` of them), waiting while the task still
    // has one queued, after having any task that holds a failed batch try it again. False when a
    // task took none because it holds a batch that failed again: its batch stays with the Batcher,
    // and the failure is in the latch.
    [[nodiscard]] bool hand_over(bool all) {
        for (auto& task : tasks_)
            if (task->holding()) task->resume();
        bool taken = true;
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
            auto& batch = batcher_.batch(i);
            if (batch.empty() || !(all || batcher_.ready(i))) continue;
            if (!tasks_[i]->submit(batch)) taken = false;
        }
        batcher_.recount();
        return taken;
    }

    SinkOptions options_;
    sql::TableRef target_;
    std::unique_ptr<const ApplyPlan> plan_;
    TableSetup setup_;
    std::optional<sql::TableSpec> dead_letters_;
    detail::Acknowledger acks_;
    detail::FailureLatch latch_;
    std::atomic<std::size_t> pending_{0};
    std::atomic<std::size_t> events_in_{0};
    std::atomic<std::size_t> events_ignored_{0};
    std::atomic<std::size_t> events_skipped_{0};
    Positions resume_;                      // exactly_once: committed when the sink started
    Positions reached_;                     // exactly_once: per partition, the highest offset committed or taken
    std::int64_t* last_reached_ = nullptr;  // the last partition's entry (map nodes stay put)
    std::int32_t last_partition_ = 0;
    // exactly_once: where the batches write positions (epochs claimed shared with the tasks), and
    // the lock a claim takes. Fencing::partition: the partitions claimed, the claims' connection
    // and its session settings.
    std::optional<detail::PositionsTarget> positions_;
    std::string lock_sql_;
    std::set<std::int32_t> claimed_;
    std::optional<pq::Connection> claim_conn_;
    std::vector<std::string> settings_;
    detail::Batcher<R, key_policy> batcher_;
    std::vector<std::unique_ptr<detail::Task>> tasks_;  // last: stopped before what they use goes
};

}  // namespace redsink
