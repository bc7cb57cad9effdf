#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/acknowledger.hpp>
#include <redsink/detail/batcher.hpp>
#include <redsink/detail/failure_latch.hpp>
#include <redsink/detail/policy_pack.hpp>
#include <redsink/detail/position_book.hpp>
#include <redsink/detail/sink_start.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>
#include <redsink/row.hpp>
#include <redsink/row_schema.hpp>
#include <redsink/schema.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/stats.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink {

// Streams change events of one record type into one table. write() encodes each event into the
// batch of the task (a background writer: one thread and connection) its key routes it to; a
// task's batch is handed over when it reaches batch_rows or batch_bytes, when flush_interval has
// passed since its first event (checked by write and poll), or on flush(), and the caller goes
// on filling the next one while the task writes it. on_commit is called from write, poll and
// flush, on the caller's thread. A facade: the start-up is detail::SinkStart, the tasks a
// detail::TaskGroup, exactly_once's bookkeeping a detail::PositionBook. See
// docs/architecture.md, docs/policies.md, docs/delivery.md and docs/tasks.md.
template <class R, class... Policies>
requires(Record<R> || detail::runtime_record<R>) class Sink {
    using pack = detail::policy_pack<R, Policies...>;
    using order = typename pack::order;
    static constexpr bool one_row_per_key = detail::SinkStart<R, pack>::one_row_per_key;

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
    Sink(ConnectionConfig config, SinkOptions options) requires(!pack::runtime)
        : Sink(Checked{}, std::move(config), checked(std::move(options)), nullptr) {}

    // Sink<Row, ...>: the same, for rows of `schema` (docs/rows.md). A row of another schema fits by
    // column name (a column it lacks is NULL); one that adds columns has them added first with
    // evolve_schema (everything taken before it is committed first, the table altered, the sink
    // started again on the wider schema), and is otherwise a BadValue naming the column, as is a
    // changed type or key.
    Sink(ConnectionConfig config, SinkOptions options, std::shared_ptr<const RowSchema> schema) requires pack::runtime
        : Sink(Checked{}, std::move(config), checked(std::move(options)), std::move(schema)) {}

    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;
    // Stops the tasks: each finishes the batch it is writing; what was not committed is not
    // acknowledged (call flush() first to write it).
    ~Sink() { parts_.tasks.stop(); }

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
        if constexpr (delivery_policy::writes_positions) {
            if (book_.reached(change.position)) {
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
            if constexpr (pack::runtime && schema_policy::adds_columns)
                if (auto added = model_.new_columns(change.row); !added.empty()) evolve(std::move(added));
            std::size_t task = 0;
            try {
                task = batcher_.add(change);
            } catch (const BadValue& bad) {
                if constexpr (error_policy::dead_letters)
                    task = batcher_.add_refused(change, bad);
                else
                    refuse(bad.at(target_.display(), change.position));
            }
            batcher_.ticket(task, acks_.add(change.position));
            pending_.fetch_add(1);
        }
        if constexpr (delivery_policy::writes_positions) book_.took(change.position);
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
        parts_.tasks.wait_idle();
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
        return book_.resume(acks_.delivered());
    }

    // exactly_once with Fencing::partition: takes `partitions` from every other sink of the
    // identity (one that holds one of them is fenced: its next batch reaching it commits nothing and
    // fails with ErrorKind::fenced), and returns the offsets committed in them (a partition with
    // nothing committed yet is not among them). The source resumes each after its offset; events at
    // or below it are skipped. First flushes what the sink holds (a claim of a partition it held
    // already must not fence its own batches). Transient failures are retried within
    // retry_budget. On the caller's thread; the sink writes events only of partitions it claimed.
    Positions claim_partitions(const std::set<std::int32_t>& partitions) requires delivery_policy::writes_positions {
        detail::check_claim(options_, partitions);
        flush();
        const auto claim = detail::claim_partitions(parts_, options_, dialect, partitions);
        // Nothing is in flight (flushed): the tasks see the new epochs from their next batch.
        book_.claimed(claim);
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
        parts_.tasks.add_stats(total);
        // What the tasks of an earlier start did (Sink<Row>: started again to add columns).
        for (std::size_t i = 0; i < retired_.size() && i < total.tasks.size(); ++i) {
            total.tasks[i] += retired_[i];
            static_cast<TaskStats&>(total) += retired_[i];
        }
        total.events_in = events_in_.load();
        total.events_ignored = events_ignored_.load();
        total.events_skipped = events_skipped_.load();
        total.events_pending = pending_.load();
        total.acknowledged = acks_.delivered();
        return total;
    }

    [[nodiscard]] const sql::TableSpec& table() const noexcept { return parts_.table.plan->table(); }
    [[nodiscard]] const TableSetup& setup() const noexcept { return parts_.table.setup; }
    // The dead-letter table (with dead_letter; nothing with stop_on_error).
    [[nodiscard]] const std::optional<sql::TableSpec>& dead_letter_table() const noexcept {
        return parts_.table.dead_letters;
    }
    // Events written and not yet acknowledged.
    [[nodiscard]] std::size_t pending_events() const { return acks_.outstanding(); }

    // Receives the SQL text of every statement the tasks send (never values). Set it before the
    // first write: the tasks' threads call it.
    void set_trace(pq::TraceHook hook) {
        trace_ = std::move(hook);
        if (parts_.claim_conn) parts_.claim_conn->set_trace(trace_);
        parts_.tasks.set_trace(trace_);
    }

    // Sink<Row, ...>: the schema its rows have.
    [[nodiscard]] const std::shared_ptr<const RowSchema>& row_schema() const noexcept requires pack::runtime {
        return model_.schema();
    }

private:
    using Model = detail::RecordModel<R, key_policy>;

    [[nodiscard]] static Model make_model(const SinkOptions& options, std::shared_ptr<const RowSchema> schema) {
        if constexpr (pack::runtime)
            return Model(std::move(schema), dialect, options.super_string_limit);
        else
            return Model(dialect, options.super_string_limit);
    }
    [[nodiscard]] static detail::OrderColumn order_column(const Model& model, const sql::TableRef& target) {
        if constexpr (pack::runtime)
            return detail::order_column_at_start<insert_mode>(*model.schema(), target.display());
        else
            return {order::index, order::numeric};
    }

    struct Checked {};  // the options went through checked()
    Sink(Checked, ConnectionConfig config, SinkOptions checked_options, std::shared_ptr<const RowSchema> schema)
        : config_(std::move(config)),
          options_(std::move(checked_options)),
          target_(sql::TableRef::make(options_.schema, options_.table)),
          book_(target_.display(), options_.fencing),
          model_(make_model(options_, std::move(schema))),
          order_(order_column(model_, target_)),
          batcher_(make_batcher()) {
        sql::check_target_name(target_);
        detail::SinkStart<R, pack>::check_model(model_, target_);
        start("starting the sink for " + target_.display());
        if constexpr (delivery_policy::writes_positions) book_.started(parts_.committed);
    }

    [[nodiscard]] detail::Batcher<R, key_policy> make_batcher() const {
        return {options_.tasks,
                {options_.batch_rows, options_.batch_bytes, options_.flush_interval, options_.super_string_limit},
                model_,
                delivery_policy::writes_positions,
                order_.index,
                one_row_per_key};
    }

    // Connects, plans for the table and starts the tasks, with retries. `epochs`: the partitions a
    // sink started again holds (Fencing::partition).
    void start(const std::string& what, std::shared_ptr<detail::PartitionEpochs> epochs = nullptr) {
        detail::retrying(
            options_, what,
            [&] {
                parts_ = detail::SinkStart<R, pack>(options_, target_, model_, order_)
                             .run(config_, {acks_, latch_, pending_}, epochs);
            },
            [&] { parts_ = {}; });
    }

    // Sink<Row>, evolve_schema: a row brought columns the sink's schema lacks. Everything taken so
    // far is committed first, in order; then the sink starts again on its schema with them added
    // (nullable: earlier rows have no value for them), which adds them to the table (another sink
    // may have added them meanwhile: prepare_table finds them) and plans anew.
    void evolve(std::vector<RowColumn> added) requires pack::runtime {
        flush();
        auto columns = model_.schema()->columns();
        for (auto& column : added) {
            column.type.nullable = true;
            columns.push_back(std::move(column));
        }
        auto schema = std::make_shared<const RowSchema>(std::move(columns));
        const auto epochs = parts_.positions ? parts_.positions->partitions : nullptr;
        parts_.tasks.stop();
        SinkStats done;
        parts_.tasks.add_stats(done);
        retired_.resize(done.tasks.size());
        for (std::size_t i = 0; i < done.tasks.size(); ++i) retired_[i] += done.tasks[i];
        parts_ = {};
        model_ = Model(std::move(schema), dialect, options_.super_string_limit);
        batcher_ = make_batcher();
        try {
            start("adding columns to " + target_.display(), epochs);
        } catch (...) {
            latch_.stop(std::current_exception());
            throw;
        }
        if (trace_) set_trace(trace_);
    }

    static SinkOptions checked(SinkOptions options) {
        check_options(options, {dialect, delivery_policy::writes_positions,
                                error_policy::dead_letters ? std::string_view(error_policy::table) : std::string_view(),
                                std::is_same_v<insert_mode, upsert>});
        return options;
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
            parts_.tasks.wait_idle();
            acks_.deliver();
        }
        latch_.raise(target_.display());
    }

    // A value that cannot be written: what was handed over before it is written, then the sink stops.
    [[noreturn]] void refuse(const BadValue& bad) {
        parts_.tasks.wait_idle();
        latch_.stop(std::make_exception_ptr(bad));
        acks_.deliver();
        raise_now();
    }

    // Hands the tasks their ready batches (or all); false when a task holds a failed batch.
    [[nodiscard]] bool hand_over(bool all) { return parts_.tasks.hand_over(batcher_, all); }

    ConnectionConfig config_;
    SinkOptions options_;
    sql::TableRef target_;
    pq::TraceHook trace_;
    std::vector<TaskStats> retired_;  // per task: what the tasks of earlier starts did
    detail::Acknowledger acks_;
    detail::FailureLatch latch_;
    std::atomic<std::size_t> pending_{0};
    std::atomic<std::size_t> events_in_{0};
    std::atomic<std::size_t> events_ignored_{0};
    std::atomic<std::size_t> events_skipped_{0};
    detail::PositionBook book_;  // exactly_once
    Model model_;                // the record's columns
    detail::OrderColumn order_;  // newest_wins's order column
    detail::Batcher<R, key_policy> batcher_;
    detail::StartedSink parts_;  // last: its tasks are stopped before what they use goes
};

}  // namespace redsink
