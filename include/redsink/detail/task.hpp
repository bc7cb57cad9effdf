#pragma once

#include <redsink/detail/acknowledger.hpp>
#include <redsink/detail/applier.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/failure_latch.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/detail/worker.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/stats.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace redsink::detail {

// One of a sink's tasks, a background writer: a connection (in its Applier) and a thread (its Worker) that
// reduces and applies one batch at a time, in the order they were handed over, so that one key's
// events stay in order. After a commit it completes the batch's acknowledgements; a failure goes
// to the latch. It is handed what it needs, and knows nothing of the Sink.
class Task {
public:
    Task(std::size_t index, std::size_t count, Applier applier, Acknowledger& acks, FailureLatch& latch,
         std::atomic<std::size_t>& pending)
        : index_(index),
          count_(count),
          applier_(std::move(applier)),
          acks_(acks),
          latch_(latch),
          pending_(pending),
          worker_([this](EncodedBatch& batch, std::stop_token stop) { return run(batch, stop); }) {}

    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { worker_.stop(); }

    // Hands a batch over (waiting while another is queued); on success `batch` is a fresh one to
    // fill. False when the task holds a batch whose retries ran out: `batch` stays as it was.
    bool submit(EncodedBatch& batch) {
        if (!worker_.submit(batch)) return false;
        auto spare = worker_.take_spare();
        batch = spare ? std::move(*spare) : EncodedBatch{};
        batch.clear();
        return true;
    }

    void resume() { worker_.resume(); }
    void wait_idle() { worker_.wait_idle(); }
    [[nodiscard]] bool holding() const { return worker_.holding(); }
    void stop() { worker_.stop(); }

    [[nodiscard]] TaskStats stats() const {
        const std::lock_guard lock(mutex_);
        return stats_;
    }

    // Before the first batch only: the worker's thread owns the connection afterwards.
    [[nodiscard]] pq::Connection& connection() noexcept { return applier_.connection(); }

private:
    // On the worker's thread; true when the batch is done with (committed, or dropped because
    // the sink stopped), false to hold it after its retries ran out.
    bool run(EncodedBatch& batch, std::stop_token stop) {
        if (latch_.stopped()) {
            applier_.drop_prepared();
            return true;  // stop at the batch boundary: nothing after the error is acknowledged
        }
        ApplyResult result;
        // While the batch is written, a helper waits for the batch queued behind it and prepares it
        // (Applier::prepare: its reduction and, on the bulk path, its upload). Joined before run
        // returns, so the queued batch is not taken while the helper reads it; on success only
        // after the acknowledgements, which need not wait for the next batch's upload.
        std::optional<std::jthread> ahead;
        const auto failed = [&] {
            ahead.reset();
            applier_.drop_prepared();
        };
        try {
            applier_.take(batch);
            if (applier_.prepares_ahead())
                ahead.emplace([this](std::stop_token done) {
                    if (const auto* next = worker_.wait_queued(done)) applier_.prepare(*next);
                });
            applier_.apply(batch, result, stop);
        } catch (const Abandoned&) {
            failed();
            record(result);
            return true;
        } catch (const Error& error) {
            failed();
            record(result);
            if (error.retryable()) {
                latch_.report(named(error));
                return false;
            }
            latch_.stop(named(error));
            return true;
        } catch (...) {
            failed();
            record(result);
            latch_.stop(std::current_exception());
            return true;
        }
        record(result, batch.taken());
        acks_.complete(batch.tickets);
        pending_.fetch_sub(batch.taken());
        return true;
    }

    // The error with the task named, when there are several.
    [[nodiscard]] std::exception_ptr named(const Error& error) const {
        if (count_ == 1) return std::make_exception_ptr(error);
        return std::make_exception_ptr(
            Error(error.kind(), error.sqlstate(), error.message(), error.detail(),
                  "task " + std::to_string(index_ + 1) + " of " + std::to_string(count_) + ": " + error.context()));
    }

    void record(const ApplyResult& result, std::size_t committed_events = 0) {
        const std::lock_guard lock(mutex_);
        stats_.retries += result.retries;
        stats_.reconnects += result.reconnects;
        stats_.commit_checks += result.commit_checks;
        stats_.db_time += result.db_time;
        if (committed_events == 0) return;
        stats_.events += committed_events;
        stats_.rows_inserted += result.inserted;
        stats_.rows_deleted += result.deleted;
        stats_.dead_letters += result.dead_letters;
        ++stats_.batches;
    }

    std::size_t index_;
    std::size_t count_;
    Applier applier_;
    Acknowledger& acks_;
    FailureLatch& latch_;
    std::atomic<std::size_t>& pending_;
    mutable std::mutex mutex_;
    TaskStats stats_;
    Worker<EncodedBatch> worker_;  // last: its thread starts once everything above exists
};

}  // namespace redsink::detail
