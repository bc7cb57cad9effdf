#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/detail/acknowledger.hpp>
#include <redsink/detail/applier.hpp>
#include <redsink/detail/claims.hpp>
#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/failure_latch.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/detail/task.hpp>
#include <redsink/detail/task_group.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>
#include <redsink/retry.hpp>
#include <redsink/schema.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/session.hpp>
#include <redsink/sql/table.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// What the tasks report to, owned by the Sink.
struct TaskWiring {
    Acknowledger& acks;
    FailureLatch& latch;
    std::atomic<std::size_t>& pending;
};

// What the policies planned for the table as it is: the plan, what preparing the table did, and
// the dead-letter table. Everything a batch's statements depend on.
struct TablePlan {
    std::unique_ptr<const ApplyPlan> plan;
    TableSetup setup;
    std::optional<sql::TableSpec> dead_letters;
};

// What a started sink holds. Its tasks last: stopped before what they use goes.
struct StartedSink {
    TablePlan table;
    std::optional<PositionsTarget> positions;  // exactly_once
    Positions committed;                       // exactly_once, Fencing::identity: committed before the start
    std::string lock_sql;                      // exactly_once: the lock a claim takes
    std::vector<std::string> settings;         // every session's settings
    std::optional<pq::Connection> claim_conn;  // Fencing::partition: the claims' own connection
    TaskGroup tasks;
};

// The database's retries for what a sink does on the app's thread (its start, its claims): runs
// `attempt` until it succeeds, retrying transient failures within the options' budget (the retry
// engine, redsink/retry.hpp), calling `after_failure` after each failed attempt. The last error
// is thrown, a retryable one with `what` and the attempts made added to its context.
inline void retrying(const SinkOptions& options, const std::string& what, const std::function<void()>& attempt,
                     const std::function<void()>& after_failure = {}) {
    with_retries<Error>(
        RetryPolicy{options.max_attempts, options.retry_budget, options.retry_backoff, options.retry_backoff_max},
        options.stop,
        [&] {
            try {
                attempt();
            } catch (const Error&) {
                if (after_failure) after_failure();
                throw;
            }
        },
        [](const Error& error) { return error.retryable(); }, NoRetryHook{},
        [&](const Error& error, const RetryStep& step) {
            if (!error.retryable()) return;
            throw Error(error.kind(), error.sqlstate(), error.message(), error.detail(),
                        what + ", after " + step.describe() + (step.stopped ? " (stopped: SinkOptions::stop)" : "") +
                            "; " + error.context());
        });
}

// What claim_partitions refuses before the sink flushes: a sink that holds its whole identity, a
// partition below 0.
inline void check_claim(const SinkOptions& options, const std::set<std::int32_t>& partitions) {
    const auto target = sql::TableRef::make(options.schema, options.table).display();
    if (options.fencing != Fencing::partition)
        throw Error(ErrorKind::other, {},
                    "claim_partitions on the sink for " + target +
                        ": it holds its whole identity (SinkOptions::fencing is Fencing::identity)");
    for (const auto partition : partitions)
        if (partition < 0)
            throw Error(ErrorKind::bad_data, {},
                        "claim_partitions on the sink for " + target + ": partition " + std::to_string(partition) +
                            " is below 0");
}

// Fencing::partition: takes `partitions` on the sink's own connection (opened again when it was
// lost), with retries, and hands the tasks their new epochs (nothing may be in flight: the sink
// flushed). What was committed in them, as the claim read it.
[[nodiscard]] inline PartitionClaim claim_partitions(StartedSink& sink, const SinkOptions& options, Dialect dialect,
                                                     const std::set<std::int32_t>& partitions) {
    const auto target = sql::TableRef::make(options.schema, options.table).display();
    PartitionClaim claim;
    auto& conn = *sink.claim_conn;
    retrying(options, "claiming partitions of " + target, [&] {
        if (!conn.is_open()) {
            conn.reconnect();
            for (const auto& setting : sink.settings) conn.exec(setting);
        }
        claim = claim_partitions(conn, *sink.positions, dialect, sink.lock_sql, partitions);
    });
    for (const auto& [partition, epoch] : claim.epochs) sink.positions->partitions->set(partition, epoch);
    return claim;
}

// A sink's start-up, one attempt: connects, plans for the table as it is (creating or evolving it
// as the schema policy allows), checks privileges, makes its own tables ready, takes its identity
// (exactly_once), has the bulk loader start, and starts the tasks. `Pack` is the Sink's policy
// pack. plan_table is the part that runs again when the table must be planned anew.
template <class R, class Pack>
class SinkStart {
    using key_policy = typename Pack::key;
    using insert_mode = typename Pack::insert_mode;
    using delete_mode = typename Pack::delete_mode;
    using schema_policy = typename Pack::schema;
    using error_policy = typename Pack::on_error;
    using delivery_policy = typename Pack::delivery;
    static constexpr Dialect dialect = Pack::dialect_value;

public:
    using Model = RecordModel<R, key_policy>;
    // One row per key (upsert, newest_wins).
    static constexpr bool one_row_per_key = insert_mode::reduction != Reduction::inserts_after_last_delete;

    // `model`: the record's columns; `order`: newest_wins's order column, or none.
    SinkStart(const SinkOptions& options, const sql::TableRef& target, const Model& model, OrderColumn order)
        : options_(options), target_(target), model_(model), order_(order) {}

    // What the policies need of the record that only a Row's schema says, as errors naming the
    // table (a struct's are compile-time checks): a key for matching rows.
    static void check_model(const Model& model, const sql::TableRef& target) {
        if (!model.key_indexes().empty()) return;
        if (insert_mode::requires_key)
            throw Error(ErrorKind::schema, {},
                        "the sink for " + target.display() +
                            " matches each row to the one it replaces by its key, and the row schema has no key "
                            "column: mark them (RowColumn::key), or append");
        if (delete_mode::applies_deletes)
            throw Error(ErrorKind::schema, {},
                        "the sink for " + target.display() +
                            " deletes rows by their key, and the row schema has no key column: mark them "
                            "(RowColumn::key), or ignore deletes");
    }

    // `epochs`: with Fencing::partition, the partitions the sink holds already (a sink started again).
    [[nodiscard]] StartedSink run(const ConnectionConfig& config, TaskWiring wiring,
                                  std::shared_ptr<PartitionEpochs> epochs = nullptr) const {
        StartedSink out;
        out.settings = sql::session_settings_sql(dialect, options_.statement_timeout, options_.lock_timeout);
        pq::Connection first = connect(config, out.settings);
        out.table = plan_table(first);
        if (dialect == Dialect::redshift && options_.lock == ApplyLock::sink_table) prepare_lock_table(first, target_);
        const bool by_partition = options_.fencing == Fencing::partition;
        if constexpr (delivery_policy::writes_positions) take_identity(first, config, out, std::move(epochs));
        if (options_.bulk_load) {
            auto identity = target_.display();
            if (!options_.source_name.empty()) identity += "/" + options_.source_name;
            options_.bulk_load->start(identity);
        }
        const std::size_t count = options_.tasks;
        for (std::size_t i = 0; i < count; ++i) {
            // One task keeps the connection that made the table ready; several are told apart by
            // their application_name. Fencing::partition: the first connection stays the sink's.
            auto task_config = config;
            if (count > 1) task_config.application_name += "/" + std::to_string(i + 1);
            pq::Connection conn =
                count > 1 || by_partition ? connect(std::move(task_config), out.settings) : std::move(first);
            out.tasks.add(std::make_unique<Task>(i, count, applier(std::move(conn), i, out), wiring.acks, wiring.latch,
                                                 wiring.pending));
        }
        if (by_partition) out.claim_conn.emplace(std::move(first));
        return out;
    }

    // Plans for the table as it is now, making it ready as the schema policy allows (errors name
    // the table and column): the policies plan once, knowing what the table will be.
    [[nodiscard]] TablePlan plan_table(pq::Connection& conn) const {
        TablePlan out;
        auto spec = model_.table_spec(target_, options_.layout);
        spec.unique_key = one_row_per_key;
        const auto state = inspect_table(conn, target_);
        const bool enforced = key_enforced(spec, state);
        auto plan = std::make_unique<ApplyPlan>(std::move(spec), enforced);
        plan->set_delete_mode(delete_mode::applies_deletes, delete_mode::keeps_rows);
        plan->set_upsert_statement(options_.upsert_statement);
        delete_mode::plan(*plan);
        insert_mode::plan(*plan);
        if constexpr (error_policy::dead_letters)
            out.dead_letters = dead_letter_table_spec(
                sql::TableRef::make(options_.schema, std::string(dead_letter_table_of(options_, error_policy::table))),
                dialect);
        check_privileges(conn, target_, state, privilege_needs(*plan, state, enforced, out.dead_letters));
        out.setup =
            prepare_table(conn, plan->table(), {schema_policy::creates_table, schema_policy::adds_columns}, state);
        if (out.dead_letters) prepare_dead_letter_table(conn, *out.dead_letters, target_);
        for (const auto& [own, role] : plan->own_tables()) prepare_own_table(conn, own, role);
        if (out.setup.key_enforced != enforced)
            throw Error(ErrorKind::schema, {},
                        "table " + target_.display() + " changed while the sink started; start it again");
        out.plan = std::move(plan);
        return out;
    }

private:
    [[nodiscard]] pq::Connection connect(ConnectionConfig config, const std::vector<std::string>& settings) const {
        pq::Connection conn(std::move(config));
        conn.set_trace(options_.trace);
        conn.set_verbatim_server_text(options_.verbatim_server_text);
        for (const auto& setting : settings) conn.exec(setting);
        return conn;
    }

    // exactly_once: the positions table ready, and the identity taken (the fence), or with
    // Fencing::partition nothing held until claim_partitions.
    void take_identity(pq::Connection& conn, const ConnectionConfig& config, StartedSink& out,
                       std::shared_ptr<PartitionEpochs> epochs) const {
        const auto spec = positions_table_spec(target_, dialect);
        prepare_positions_table(conn, spec, target_);
        PositionsTarget positions{spec.name, target_.display(), options_.source_name, 0,
                                  writer_name(config.application_name)};
        out.lock_sql = sql::lock_table_sql(options_.lock == ApplyLock::target ? target_ : sql::lock_table(target_));
        if (options_.fencing == Fencing::partition) {
            positions.partitions = epochs ? std::move(epochs) : std::make_shared<PartitionEpochs>();
        } else {
            auto claim = claim_identity(conn, positions, dialect, out.lock_sql);
            positions.epoch = claim.epoch;
            positions.known = std::move(claim.rows);
            out.committed = std::move(claim.positions);
        }
        out.positions = std::move(positions);
    }

    [[nodiscard]] Applier applier(pq::Connection conn, std::size_t task, const StartedSink& out) const {
        const auto& plan = *out.table.plan;
        Executor executor(std::move(conn), plan,
                          {.stage_recreate_batches = options_.stage_recreate_batches,
                           .session_settings = out.settings,
                           .dead_letter_table = out.table.dead_letters,
                           .positions = out.positions,
                           .session_hook = options_.session_hook,
                           .bulk = options_.bulk_load ? options_.bulk_load->session(task) : nullptr,
                           .bulk_min_rows = options_.bulk_load ? options_.bulk_load->min_rows() : 0});
        Applier made(std::move(executor), plan, {.lock = options_.lock},
                     {options_.max_attempts, options_.retry_budget, options_.retry_backoff, options_.retry_backoff_max},
                     Reducer{insert_mode::reduction, delete_mode::keeps_rows, model_.key_indexes(), order_},
                     {.dead_letters = error_policy::dead_letters ? options_.max_refused_rows : 0},
                     options_.session_hook);
        made.give_up_on(options_.stop);
        if (options_.bulk_load && options_.bulk_load->stages_ahead())
            made.stage_ahead_on(options_.bulk_load->session(task));
        return made;
    }

    // What the policies' statements will ask of the server (the built-in ones; a custom policy's
    // own statements are checked by the server when they run).
    [[nodiscard]] PrivilegeNeeds privilege_needs(const ApplyPlan& plan, const TableState& state, bool enforced,
                                                 const std::optional<sql::TableSpec>& dead_letters) const {
        const bool merges = plan.merges();
        const bool on_conflict = one_row_per_key && dialect == Dialect::postgres && enforced && !merges;
        PrivilegeNeeds needs;
        needs.creates_table = state.columns.empty() && schema_policy::creates_table;
        needs.stages = delete_mode::applies_deletes || !plan.plain_inserts();
        needs.reads = needs.stages;
        needs.deletes = (delete_mode::applies_deletes && !delete_mode::keeps_rows) ||
                        (one_row_per_key && !on_conflict && !merges) ||
                        (dialect == Dialect::redshift && options_.lock == ApplyLock::target);
        needs.updates = delete_mode::keeps_rows || on_conflict || merges;
        needs.lock_table = dialect == Dialect::redshift && options_.lock == ApplyLock::sink_table;
        if (dead_letters) needs.dead_letter_table = dead_letters->name;
        if (delivery_policy::writes_positions) needs.positions_table = positions_table(target_);
        for (const auto& [own, role] : plan.own_tables()) needs.own_tables.push_back(own.name);
        return needs;
    }

    const SinkOptions& options_;
    const sql::TableRef& target_;
    const Model& model_;
    OrderColumn order_;
};

}  // namespace redsink::detail
