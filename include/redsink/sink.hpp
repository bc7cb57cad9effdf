#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/batch.hpp>
#include <redsink/detail/policy_pack.hpp>
#include <redsink/detail/writer.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>
#include <redsink/schema.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink {

// Numeric knobs and names; the behaviour is in the policies.
struct SinkOptions {
    std::string schema = "public";
    std::string table;  // required
    std::size_t batch_rows = 10'000;
    std::size_t batch_bytes = std::size_t{64} << 20;  // estimated from the rows' sizes
    std::chrono::milliseconds flush_interval{1'000};
    int max_attempts = 5;  // per batch, counting the first
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds retry_backoff_max{10'000};
    std::size_t tasks = 1;
    sql::RedshiftLayout layout{};  // only for tables the sink creates, only in the redshift dialect
    pq::TraceHook trace{};         // sees every statement's SQL text (never values), from the first
};

struct SinkStats {
    std::size_t events_in = 0;           // events given to write()
    std::size_t rows_inserted = 0;       // rows inserted into the target
    std::size_t rows_deleted = 0;        // rows deleted (or flagged, with soft_delete)
    std::size_t batches = 0;             // batches committed
    std::size_t retries = 0;             // attempts repeated after transient failures
    Positions acknowledged;              // the last positions given to on_commit
    std::chrono::nanoseconds db_time{};  // time spent writing batches, retries included
};

namespace detail {

// A row's size for batch_bytes: the bytes of its strings and documents, the size of the rest.
template <class T>
std::size_t value_bytes(const T& value) {
    if constexpr (std::is_same_v<T, std::string>)
        return value.size();
    else if constexpr (requires { value.value.size(); })
        return value.value.size();
    else if constexpr (std::is_same_v<T, json>)
        return value.text.size();
    else if constexpr (requires { value.has_value(); })
        return value ? value_bytes(*value) : 1;
    else
        return sizeof(T);
}

template <class R>
std::size_t row_bytes(const R& row) {
    std::size_t bytes = 0;
    record_info<R>::for_each(row, [&](auto, const auto& value) { bytes += value_bytes(value) + 1; });
    return bytes;
}

}  // namespace detail

// Streams change events of one record type into one table. write() buffers; a batch is written
// when it reaches batch_rows or batch_bytes, when flush_interval has passed (checked by write
// and poll), or on flush(). See docs/policies.md and docs/delivery.md.
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

    // Connects, and makes the table ready as the schema policy allows (errors name the table
    // and column).
    Sink(ConnectionConfig config, SinkOptions options) : options_(std::move(options)) {
        if (options_.table.empty()) throw Error(ErrorKind::other, {}, "SinkOptions::table is required");
        if (options_.batch_rows == 0) throw Error(ErrorKind::other, {}, "SinkOptions::batch_rows must be at least 1");
        if (options_.max_attempts < 1)
            throw Error(ErrorKind::other, {}, "SinkOptions::max_attempts must be at least 1");
        if (options_.tasks != 1)
            throw Error(ErrorKind::other, {}, "SinkOptions::tasks: this build writes with one task");
        auto spec =
            table_spec<R, key_policy>(sql::TableRef::make(options_.schema, options_.table), dialect, options_.layout);
        spec.unique_key = insert_mode::reduction == Reduction::last_per_key;
        ApplyPlan plan(std::move(spec));
        delete_mode::plan(plan);
        insert_mode::plan(plan);
        pq::Connection conn(std::move(config));
        conn.set_trace(options_.trace);
        setup_ = prepare_table(conn, plan.table(), {schema_policy::creates_table, schema_policy::adds_columns});
        const bool direct = std::is_same_v<insert_mode, append> && plan.managed_columns().empty();
        writer_.emplace(std::move(conn), std::move(plan), direct,
                        detail::RetryPolicy{options_.max_attempts, options_.retry_backoff, options_.retry_backoff_max});
        table_name_ = writer_->plan().table().name.display();
        for (const auto index : key_info<R, key_policy>::indexes) key_columns_.push_back(index);
    }

    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    // Buffers one event (and may write a batch). Throws the error of an earlier failure that
    // stopped the sink.
    void write(Change<R> change) {
        check_running();
        ++stats_.events_in;
        note_position(change.position);
        if (is_delete(change.op) && !delete_mode::applies_deletes) {
            ++ignored_;
        } else {
            pending_bytes_ += detail::row_bytes(change.row);
            pending_.push_back(std::move(change));
        }
        if (pending_events() == 1) batch_started_ = std::chrono::steady_clock::now();
        if (pending_.size() >= options_.batch_rows || pending_bytes_ >= options_.batch_bytes || interval_passed())
            flush();
    }

    // Writes the batch if flush_interval has passed since its first event.
    void poll() {
        check_running();
        if (pending_events() > 0 && interval_passed()) flush();
    }

    // Writes everything buffered, in one transaction, then acknowledges it.
    void flush() {
        check_running();
        if (pending_events() == 0) return;
        encode_pending();
        detail::reduce(batch_, insert_mode::reduction, delete_mode::keeps_rows, key_columns_);
        if (!batch_.staged.empty()) {
            detail::ApplyResult result;
            try {
                writer_->apply(batch_, result);
            } catch (const Error& error) {
                stats_.retries += result.retries;
                stats_.db_time += result.db_time;
                // Transient failures leave the batch pending for the next flush; others stop the sink.
                if (!error.retryable()) failure_.emplace(error);
                throw;
            }
            stats_.rows_inserted += result.inserted;
            stats_.rows_deleted += result.deleted;
            stats_.retries += result.retries;
            stats_.db_time += result.db_time;
            ++stats_.batches;
        }
        pending_.clear();
        pending_bytes_ = 0;
        ignored_ = 0;
        acknowledge();
    }

    // Called after each commit with, per partition, the highest offset up to which every event
    // written to this sink is committed.
    void on_commit(std::function<void(const Positions&)> callback) { on_commit_ = std::move(callback); }

    [[nodiscard]] const SinkStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const sql::TableSpec& table() const noexcept { return writer_->plan().table(); }
    [[nodiscard]] const TableSetup& setup() const noexcept { return setup_; }
    [[nodiscard]] std::size_t pending_events() const noexcept { return pending_.size() + ignored_; }

    // Receives the SQL text of every statement the sink sends (never values).
    void set_trace(pq::TraceHook hook) { writer_->connection().set_trace(std::move(hook)); }

private:
    void check_running() const {
        if (failure_)
            throw Error(failure_->kind(), failure_->sqlstate(),
                        "the sink for " + table_name_ +
                            " stopped after an earlier error, and acknowledged nothing "
                            "after it; create a new sink and resume from the acknowledged positions. The error was: " +
                            std::string(failure_->what()));
    }

    [[nodiscard]] bool interval_passed() const {
        return std::chrono::steady_clock::now() - batch_started_ >= options_.flush_interval;
    }

    void note_position(const Position& position) {
        auto [it, inserted] = batch_high_.try_emplace(position.partition, position.offset);
        if (!inserted && position.offset > it->second) it->second = position.offset;
    }

    void encode_pending() {
        using info = record_info<R>;
        using keys = key_info<R, key_policy>;
        static const auto columns = column_contexts<R>(dialect);
        batch_.clear();
        batch_.columns = info::size;
        for (const auto& change : pending_) {
            const auto before = batch_.params.bytes();
            try {
                if (is_delete(change.op)) {
                    // A delete carries its key; the other members may be unset.
                    info::for_each(change.row, [&](auto index, const auto& value) {
                        if constexpr (keys::is_key(decltype(index)::value))
                            encode_value(value, batch_.params, columns[index]);
                        else
                            batch_.params.push_null();
                    });
                } else {
                    encode_row(change.row, batch_.params, columns);
                }
            } catch (const BadValue& error) {
                auto placed = error.at(table_name_, change.position);
                failure_.emplace(placed);
                throw placed;
            }
            batch_.ops.push_back(is_delete(change.op) ? sql::op_delete : sql::op_insert);
            batch_.positions.push_back(change.position);
            batch_.row_bytes.push_back(static_cast<std::uint32_t>(batch_.params.bytes() - before));
        }
    }

    void acknowledge() {
        for (const auto& [partition, offset] : batch_high_) {
            auto [it, inserted] = stats_.acknowledged.try_emplace(partition, offset);
            if (!inserted && offset > it->second) it->second = offset;
        }
        batch_high_.clear();
        if (on_commit_) on_commit_(stats_.acknowledged);
    }

    SinkOptions options_;
    std::optional<detail::TableWriter> writer_;
    TableSetup setup_;
    std::string table_name_;
    std::vector<std::size_t> key_columns_;
    std::vector<Change<R>> pending_;
    std::size_t pending_bytes_ = 0;
    std::size_t ignored_ = 0;
    Positions batch_high_;
    std::chrono::steady_clock::time_point batch_started_{};
    detail::EncodedBatch batch_;
    std::function<void(const Positions&)> on_commit_;
    SinkStats stats_;
    std::optional<Error> failure_;
};

}  // namespace redsink
