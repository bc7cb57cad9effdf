#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/acks.hpp>
#include <redsink/detail/batch.hpp>
#include <redsink/detail/changes.hpp>
#include <redsink/detail/policy_pack.hpp>
#include <redsink/detail/writer.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>
#include <redsink/schema.hpp>
#include <redsink/sink_options.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink {

// Streams change events of one record type into one table. write() buffers; a batch is written
// when it reaches batch_rows or batch_bytes, when flush_interval has passed (checked by write
// and poll), or on flush(). With tasks > 1, each batch is split by key among that many writers,
// which write in parallel. See docs/policies.md, docs/delivery.md and docs/tasks.md.
template <Record R, class... Policies>
class Sink {
    using pack = detail::policy_pack<R, Policies...>;

public:
    using record_type = R;
    using key_policy = typename pack::key;
    using insert_mode = typename pack::insert_mode;
    using delete_mode = typename pack::delete_mode;
    using schema_policy = typename pack::schema;
    using delivery_policy = typename pack::delivery;
    static constexpr Dialect dialect = pack::dialect_value;

    // Connects (once per task), and makes the table ready as the schema policy allows (errors
    // name the table and column).
    Sink(ConnectionConfig config, SinkOptions options) : options_(std::move(options)) {
        if (options_.table.empty()) throw Error(ErrorKind::other, {}, "SinkOptions::table is required");
        if (options_.batch_rows == 0) throw Error(ErrorKind::other, {}, "SinkOptions::batch_rows must be at least 1");
        if (options_.max_attempts < 1)
            throw Error(ErrorKind::other, {}, "SinkOptions::max_attempts must be at least 1");
        if (options_.tasks < 1 || options_.tasks > 64)
            throw Error(ErrorKind::other, {}, "SinkOptions::tasks must be between 1 and 64");
        const auto& layout = options_.layout;
        if (dialect != Dialect::redshift &&
            (!layout.diststyle.empty() || !layout.distkey.empty() || !layout.sortkey.empty()))
            throw Error(ErrorKind::other, {},
                        "SinkOptions::layout (DISTSTYLE, DISTKEY, SORTKEY) is for the redshift dialect");
        auto spec =
            table_spec<R, key_policy>(sql::TableRef::make(options_.schema, options_.table), dialect, options_.layout);
        spec.unique_key = insert_mode::reduction == Reduction::last_per_key;
        // The policies' columns (a soft-delete flag) first, to make the table ready; then their
        // statements, which may depend on what the table turned out to be.
        ApplyPlan columns(spec);
        delete_mode::plan(columns);
        insert_mode::plan(columns);
        pq::Connection first(config);
        first.set_trace(options_.trace);
        setup_ = prepare_table(first, columns.table(), {schema_policy::creates_table, schema_policy::adds_columns});
        ApplyPlan plan(std::move(spec), setup_.key_enforced);
        delete_mode::plan(plan);
        insert_mode::plan(plan);
        table_name_ = plan.table().name.display();
        for (const auto index : key_info<R, key_policy>::indexes) key_columns_.push_back(index);

        const bool threaded = options_.tasks > 1;
        // On Redshift, parallel writers stage in parallel and apply under LOCK TABLE one at a time.
        const bool direct = std::is_same_v<insert_mode, append> && plan.managed_columns().empty() &&
                            !(threaded && dialect == Dialect::redshift);
        const detail::RetryPolicy retry{options_.max_attempts, options_.retry_backoff, options_.retry_backoff_max};
        for (std::size_t i = 0; i < options_.tasks; ++i) {
            auto task_config = config;
            if (threaded) task_config.application_name += "/" + std::to_string(i + 1);
            // A single writer keeps the connection that made the table ready.
            pq::Connection conn = threaded ? pq::Connection(std::move(task_config)) : std::move(first);
            conn.set_trace(options_.trace);
            tasks_.push_back(
                std::make_unique<Task>(*this, i, detail::TableWriter(std::move(conn), plan, direct, retry)));
        }
        if (threaded)
            for (auto& task : tasks_) task->start();
    }

    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    // Joins the writers; what was not committed is not acknowledged (call flush() first to
    // write it).
    ~Sink() {
        for (auto& task : tasks_) task->stop();
    }

    // Buffers one event (and may write a batch). Throws the error that stopped the sink, if any.
    void write(Change<R> change) {
        check_running();
        ++events_in_;
        const auto ticket = add_ticket(change.position);
        ++pending_events_;
        if (pending_events_ == 1) batch_started_ = std::chrono::steady_clock::now();
        if (is_delete(change.op) && !delete_mode::applies_deletes) {
            complete_ignored(ticket);
        } else {
            auto& share = tasks_[route(change)]->pending;
            pending_bytes_ += detail::row_bytes(change.row);
            ++pending_rows_;
            share.changes.push_back(std::move(change));
            share.tickets.push_back(ticket);
        }
        if (pending_rows_ >= options_.batch_rows || pending_bytes_ >= options_.batch_bytes || interval_passed()) seal();
    }

    // Writes the batch if flush_interval has passed since its first event.
    void poll() {
        check_running();
        if (pending_events_ > 0 && interval_passed()) seal();
    }

    // Writes everything buffered and waits until every writer has committed it, then
    // acknowledges it.
    void flush() {
        check_running();
        seal();
        for (auto& task : tasks_) task->wait_idle();
        check_running();
        deliver_acknowledgements();
    }

    // Called after commits with, per partition, the highest offset up to which every event
    // written to this sink is committed. One call at a time, positions never going back; with
    // tasks > 1 it runs on a writer's thread.
    void on_commit(std::function<void(const Positions&)> callback) {
        const std::lock_guard lock(callback_mutex_);
        on_commit_ = std::move(callback);
    }

    [[nodiscard]] SinkStats stats() const {
        SinkStats total;
        total.events_in = events_in_.load();
        for (const auto& task : tasks_) {
            const auto writer = task->stats();
            total.rows_inserted += writer.rows_inserted;
            total.rows_deleted += writer.rows_deleted;
            total.batches += writer.batches;
            total.retries += writer.retries;
            total.reconnects += writer.reconnects;
            total.db_time += writer.db_time;
            total.writers.push_back(writer);
        }
        const std::lock_guard lock(ack_mutex_);
        total.acknowledged = acks_.acknowledged();
        return total;
    }

    [[nodiscard]] const sql::TableSpec& table() const noexcept { return tasks_.front()->writer().plan().table(); }
    [[nodiscard]] const TableSetup& setup() const noexcept { return setup_; }
    // Events written and not yet acknowledged.
    [[nodiscard]] std::size_t pending_events() const {
        const std::lock_guard lock(ack_mutex_);
        return acks_.outstanding();
    }

    // Receives the SQL text of every statement the sink sends (never values). Set it before
    // writing: with tasks > 1 the writers' threads call it.
    void set_trace(pq::TraceHook hook) {
        for (auto& task : tasks_) task->writer().connection().set_trace(hook);
    }

private:
    // A writer's part of a batch: its events and their acknowledgement tickets.
    struct Share {
        std::vector<Change<R>> changes;
        std::vector<detail::AckTracker::Ticket> tickets;

        [[nodiscard]] bool empty() const noexcept { return changes.empty(); }
    };

    // One writer: a connection, its own encoded batch, and with tasks > 1 its own thread that
    // applies one share at a time, in the order they were handed over (so one key's events stay
    // in order).
    class Task {
    public:
        Task(Sink& sink, std::size_t index, detail::TableWriter writer)
            : sink_(sink), index_(index), writer_(std::move(writer)) {}
        Task(const Task&) = delete;
        Task& operator=(const Task&) = delete;
        ~Task() { stop(); }

        Share pending;  // filled by the caller's thread

        void start() {
            thread_ = std::thread([this] { run(); });
        }

        void stop() {
            {
                const std::lock_guard lock(mutex_);
                stopping_ = true;
            }
            changed_.notify_all();
            if (thread_.joinable()) thread_.join();
        }

        // Hands `pending` to the writer. Threaded: waits while an earlier share is still queued
        // (backpressure), then returns. Inline: writes it now; on a transient failure the share
        // stays pending for the next flush.
        void submit() {
            if (pending.empty()) return;
            if (!thread_.joinable()) {
                process(pending);
                pending = Share{};
                return;
            }
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return !queued_ || stopping_; });
            queued_ = std::move(pending);
            pending = Share{};
            lock.unlock();
            changed_.notify_all();
        }

        void wait_idle() {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return (!queued_ && !busy_) || !thread_.joinable(); });
        }

        [[nodiscard]] WriterStats stats() const {
            const std::lock_guard lock(mutex_);
            return stats_;
        }
        [[nodiscard]] detail::TableWriter& writer() noexcept { return writer_; }
        [[nodiscard]] const detail::TableWriter& writer() const noexcept { return writer_; }

    private:
        void run() {
            std::unique_lock lock(mutex_);
            while (true) {
                changed_.wait(lock, [&] { return queued_ || stopping_; });
                if (stopping_) return;  // a queued share is dropped: it was not acknowledged
                Share share = std::move(*queued_);
                queued_.reset();
                busy_ = true;
                lock.unlock();
                changed_.notify_all();
                // After another writer's failure, stop at this batch boundary.
                if (!sink_.failed_.load()) {
                    try {
                        process(share);
                    } catch (...) {
                        sink_.fail(std::current_exception(), index_, false);
                    }
                }
                lock.lock();
                busy_ = false;
                changed_.notify_all();
            }
        }

        void process(const Share& share) {
            batch_.clear();
            if (streams(share)) {
                // Appending without deletes: every event is staged as it is, and the writer encodes
                // them while it sends, so the server starts on the batch at once.
                batch_.staged.reserve(share.changes.size());
                for (std::uint32_t event = 0; event < share.changes.size(); ++event)
                    batch_.staged.push_back({event, sql::op_insert});
                batch_.staged_inserts = share.changes.size();
                batch_.encode_until = [this, &share](std::size_t count) {
                    sink_.encode(std::span(share.changes).subspan(batch_.events(), count - batch_.events()), batch_);
                };
            } else {
                sink_.encode(share.changes, batch_);
                detail::reduce(batch_, insert_mode::reduction, delete_mode::keeps_rows, sink_.key_columns_);
            }
            detail::ApplyResult result;
            if (!batch_.staged.empty()) {
                try {
                    writer_.apply(batch_, result);
                } catch (...) {
                    record(result, share.changes.size(), false);
                    throw;
                }
            }
            record(result, share.changes.size(), !batch_.staged.empty());
            sink_.committed(share.tickets);
        }

        [[nodiscard]] bool streams(const Share& share) const {
            if (!writer_.streams_direct_append()) return false;
            for (const auto& change : share.changes)
                if (is_delete(change.op)) return false;
            return true;
        }

        void record(const detail::ApplyResult& result, std::size_t events, bool committed) {
            const std::lock_guard lock(mutex_);
            stats_.retries += result.retries;
            stats_.reconnects += result.reconnects;
            stats_.db_time += result.db_time;
            if (!committed) return;
            stats_.events += events;
            stats_.rows_inserted += result.inserted;
            stats_.rows_deleted += result.deleted;
            ++stats_.batches;
        }

        Sink& sink_;
        std::size_t index_;
        detail::TableWriter writer_;
        detail::EncodedBatch batch_;
        mutable std::mutex mutex_;
        std::condition_variable changed_;
        std::optional<Share> queued_;
        bool busy_ = false;
        bool stopping_ = false;
        WriterStats stats_;
        std::thread thread_;
    };

    void check_running() {
        if (!failed_.load()) return;
        // The other writers stop at their batch boundary: once the error surfaces, no
        // acknowledgement follows it.
        for (auto& task : tasks_) task->wait_idle();
        const std::lock_guard lock(failure_mutex_);
        // The first call after a writer's failure rethrows that error itself.
        if (!failure_reported_) {
            failure_reported_ = true;
            std::rethrow_exception(failure_);
        }
        throw Error(failure_kind_, {},
                    "the sink for " + table_name_ +
                        " stopped after an earlier error, and acknowledged nothing after it; create a new sink and "
                        "resume from the acknowledged positions. The error was: " +
                        failure_text_);
    }

    // Stops the sink; `reported` when the caller throws the error itself right now.
    void fail(std::exception_ptr error, std::size_t task, bool reported) {
        const std::lock_guard lock(failure_mutex_);
        if (failed_.load()) return;
        failure_kind_ = ErrorKind::other;
        try {
            std::rethrow_exception(error);
        } catch (const BadValue& bad) {
            failure_kind_ = bad.kind();
            failure_text_ = bad.what();
            if (tasks_.size() > 1) {
                error = std::make_exception_ptr(BadValue(bad.column(),
                                                         bad.reason() + " (writer " + std::to_string(task + 1) +
                                                             " of " + std::to_string(tasks_.size()) + ")",
                                                         bad.table(), bad.position()));
            }
        } catch (const Error& failed) {
            failure_kind_ = failed.kind();
            failure_text_ = failed.what();
            if (tasks_.size() > 1) {
                error =
                    std::make_exception_ptr(Error(failed.kind(), failed.sqlstate(), failed.message(), failed.detail(),
                                                  "writer " + std::to_string(task + 1) + " of " +
                                                      std::to_string(tasks_.size()) + ": " + failed.context()));
                failure_text_ = "writer " + std::to_string(task + 1) + ": " + failure_text_;
            }
        } catch (const std::exception& other) {
            failure_text_ = other.what();
        }
        failure_ = error;
        failure_reported_ = reported;
        failed_.store(true);
    }

    [[nodiscard]] bool interval_passed() const {
        return std::chrono::steady_clock::now() - batch_started_ >= options_.flush_interval;
    }

    detail::AckTracker::Ticket add_ticket(const Position& position) {
        const std::lock_guard lock(ack_mutex_);
        return acks_.add(position);
    }

    void complete_ignored(const detail::AckTracker::Ticket& ticket) {
        const std::lock_guard lock(ack_mutex_);
        acks_.complete(ticket);
    }

    // Hands the batch to the writers; inline with one task, where errors surface right here.
    void seal() {
        pending_rows_ = 0;
        pending_bytes_ = 0;
        pending_events_ = 0;
        for (auto& task : tasks_) {
            try {
                task->submit();
            } catch (const Error& error) {
                // Inline: a transient failure keeps the share for the next flush; others stop the sink.
                if (!error.retryable()) fail(std::current_exception(), 0, true);
                pending_rows_ = task->pending.changes.size();
                pending_events_ = pending_rows_;
                throw;
            }
        }
        if (tasks_.size() == 1) deliver_acknowledgements();
    }

    // The writer of an event: by key, so a key's events stay in order; without a key, in turn.
    std::size_t route(const Change<R>& change) {
        if (tasks_.size() == 1) return 0;
        if constexpr (!pack::has_key) {
            return round_robin_++ % tasks_.size();
        } else {
            try {
                return detail::key_hash<R, key_policy>(change.row, route_scratch_, columns()) % tasks_.size();
            } catch (const BadValue& error) {
                auto placed = error.at(table_name_, change.position);
                fail(std::make_exception_ptr(placed), 0, true);
                throw placed;
            }
        }
    }

    void encode(std::span<const Change<R>> changes, detail::EncodedBatch& batch) const {
        detail::encode_changes<R, key_policy>(changes, batch, columns(), table_name_);
    }

    [[nodiscard]] static const std::array<ColumnContext, record_info<R>::size>& columns() {
        static const auto contexts = column_contexts<R>(dialect);
        return contexts;
    }

    // A share committed: its events may now be acknowledged, once everything before them is.
    void committed(const std::vector<detail::AckTracker::Ticket>& tickets) {
        {
            const std::lock_guard lock(ack_mutex_);
            for (const auto& ticket : tickets) acks_.complete(ticket);
        }
        deliver_acknowledgements();
    }

    void deliver_acknowledgements() {
        Positions snapshot;
        std::uint64_t version = 0;
        {
            const std::lock_guard lock(ack_mutex_);
            if (acks_.advance()) ++ack_version_;
            snapshot = acks_.acknowledged();
            version = ack_version_;
        }
        const std::lock_guard lock(callback_mutex_);
        // Two writers may race here: only newer positions are delivered.
        if (version <= delivered_version_) return;
        delivered_version_ = version;
        if (on_commit_) on_commit_(snapshot);
    }

    SinkOptions options_;
    std::string table_name_;
    TableSetup setup_;
    std::vector<std::size_t> key_columns_;
    std::vector<std::unique_ptr<Task>> tasks_;

    // The batch being filled, by the caller's thread.
    std::size_t pending_rows_ = 0;
    std::size_t pending_bytes_ = 0;
    std::size_t pending_events_ = 0;
    std::chrono::steady_clock::time_point batch_started_{};
    std::size_t round_robin_ = 0;
    ParamBuffer route_scratch_;
    std::atomic<std::size_t> events_in_{0};

    mutable std::mutex ack_mutex_;
    detail::AckTracker acks_;
    std::uint64_t ack_version_ = 0;

    std::mutex callback_mutex_;
    std::function<void(const Positions&)> on_commit_;
    std::uint64_t delivered_version_ = 0;

    std::mutex failure_mutex_;
    std::atomic<bool> failed_{false};
    std::exception_ptr failure_;
    ErrorKind failure_kind_ = ErrorKind::other;
    std::string failure_text_;
    bool failure_reported_ = false;
};

}  // namespace redsink
