#pragma once

#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sink_options.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// How long a batch (or the sink's start) keeps trying after transient failures.
struct RetryPolicy {
    int max_attempts = 0;  // 0: as many as the budget allows
    std::chrono::milliseconds budget{300'000};
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds backoff_max{10'000};
};

// How long to wait before attempt `attempt + 1` after `error`, `elapsed` after the first attempt
// began, or nothing: give up. The one place where a retry is decided. Only transient failures
// are retried, while attempts are left and the budget has time left; the delay doubles from
// `backoff` up to `backoff_max`, half of it random, so that writers that failed together (a
// serialization conflict) do not meet again, and never runs past the budget.
[[nodiscard]] inline std::optional<std::chrono::milliseconds> retry_delay(const Error& error, int attempt,
                                                                          std::chrono::milliseconds elapsed,
                                                                          const RetryPolicy& policy,
                                                                          std::mt19937_64& random) {
    if (!error.retryable()) return std::nullopt;
    if (policy.max_attempts > 0 && attempt >= policy.max_attempts) return std::nullopt;
    if (elapsed >= policy.budget) return std::nullopt;
    auto delay = policy.backoff;
    for (int i = 1; i < attempt && delay < policy.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, policy.backoff_max);
    const auto half = delay.count() / 2;
    std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, half);
    return std::min(std::chrono::milliseconds(delay.count() - half + jitter(random)), policy.budget - elapsed);
}

// "3 attempts in 2.4 s": how long a batch kept trying, for its error.
[[nodiscard]] inline std::string describe_attempts(int attempts, std::chrono::milliseconds elapsed) {
    const auto tenths = (elapsed.count() + 50) / 100;
    return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts") + " in " +
           std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

// Waits `delay`, unless `stop` is set first; false when it is.
inline bool wait_for_retry(std::chrono::milliseconds delay, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    return !woken.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

// Describes the events of a batch for error messages: "12 events, partition 3 offsets 100-111".
[[nodiscard]] inline std::string describe_events(const std::vector<Position>& positions) {
    std::string out = std::to_string(positions.size()) + " events";
    std::vector<std::pair<std::int32_t, std::pair<std::int64_t, std::int64_t>>> ranges;
    for (const auto& position : positions) {
        auto found = std::find_if(ranges.begin(), ranges.end(),
                                  [&](const auto& range) { return range.first == position.partition; });
        if (found == ranges.end()) {
            ranges.push_back({position.partition, {position.offset, position.offset}});
        } else {
            found->second.first = std::min(found->second.first, position.offset);
            found->second.second = std::max(found->second.second, position.offset);
        }
    }
    for (std::size_t i = 0; i < ranges.size() && i < 8; ++i)
        out += (i == 0 ? ", " : "; ") + std::string("partition ") + std::to_string(ranges[i].first) + " offsets " +
               std::to_string(ranges[i].second.first) + "-" + std::to_string(ranges[i].second.second);
    if (ranges.size() > 8) out += "; ...";
    return out;
}

// What applying one batch did, also when it failed.
struct ApplyResult {
    std::size_t inserted = 0;
    std::size_t deleted = 0;
    std::size_t retries = 0;
    std::size_t reconnects = 0;
    std::chrono::nanoseconds db_time{};
};

// Thrown when the sink is destroyed while a batch waits to be tried again: nothing was committed.
struct Abandoned {};

// Writes reduced batches in one transaction each, with the steps plan_transaction gives for the
// batch and the session, tried again after transient failures.
class Applier {
public:
    Applier(Executor executor, const ApplyPlan& plan, TransactionOptions transaction, RetryPolicy retry,
            SessionHook hook)
        : executor_(std::move(executor)),
          plan_(&plan),
          transaction_(transaction),
          retry_(retry),
          hook_(std::move(hook)),
          random_(std::random_device{}()) {}

    [[nodiscard]] pq::Connection& connection() noexcept { return executor_.connection(); }

    // Writes the batch; `result` counts what happened, also when it throws the error (with the
    // table, the batch's events and the attempts) or Abandoned.
    void apply(const EncodedBatch& batch, ApplyResult& result, std::stop_token stop) {
        const BatchShape shape{batch.staged_inserts > 0, batch.staged_deletes > 0};
        const auto first = std::chrono::steady_clock::now();
        for (int attempt = 1;; ++attempt) {
            const auto start = std::chrono::steady_clock::now();
            try {
                if (executor_.ensure_session()) ++result.reconnects;
                if (attempt == 1 && hook_) hook_(executor_.connection(), SessionPoint::before_batch);
                const auto counts =
                    executor_.run(plan_transaction(*plan_, shape, executor_.stage(), transaction_), batch);
                result.inserted = counts.inserted;
                result.deleted = counts.deleted;
                result.db_time += std::chrono::steady_clock::now() - start;
                return;
            } catch (const Error& error) {
                const auto now = std::chrono::steady_clock::now();
                result.db_time += now - start;
                after_failure();
                const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - first);
                const auto delay = retry_delay(error, attempt, elapsed, retry_, random_);
                if (!delay) throw located(error, batch, describe_attempts(attempt, elapsed));
                ++result.retries;
                if (!wait_for_retry(*delay, stop)) throw Abandoned{};
            }
        }
    }

private:
    void after_failure() noexcept {
        if (!hook_ || !executor_.connection().is_open()) return;
        try {
            hook_(executor_.connection(), SessionPoint::after_failed_attempt);
        } catch (...) {
        }
    }

    // The error as the caller sees it: with the table, the batch's events and, where the server
    // named a COPY line, the event at fault.
    [[nodiscard]] Error located(const Error& error, const EncodedBatch& batch, const std::string& attempts) const {
        std::string context = "writing " + describe_events(batch.positions) + " to " + plan_->table().name.display();
        if (const auto event = executor_.failed_event(); event && *event < batch.positions.size())
            context += ", event at " + to_string(batch.positions[*event]);
        if (error.retryable()) context += ", after " + attempts;
        if (!error.context().empty()) context += "; " + error.context();
        return Error(error.kind(), error.sqlstate(), error.message(), error.detail(), context);
    }

    Executor executor_;
    const ApplyPlan* plan_;
    TransactionOptions transaction_;
    RetryPolicy retry_;
    SessionHook hook_;
    std::mt19937_64 random_;
};

}  // namespace redsink::detail
