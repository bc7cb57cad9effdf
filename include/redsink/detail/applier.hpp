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

struct RetryPolicy {
    int max_attempts = 5;
    std::chrono::milliseconds backoff{100};
    std::chrono::milliseconds backoff_max{10'000};
};

// How long to wait before attempt `attempt + 1` after `error`, or nothing: give up. The one place
// where a retry is decided. The delay doubles from `backoff` up to `backoff_max`, and half of it
// is random, so that writers that failed together (a serialization conflict) do not meet again.
[[nodiscard]] inline std::optional<std::chrono::milliseconds> retry_delay(const Error& error, int attempt,
                                                                          const RetryPolicy& policy,
                                                                          std::mt19937_64& random) {
    if (!error.retryable() || attempt >= policy.max_attempts) return std::nullopt;
    auto delay = policy.backoff;
    for (int i = 1; i < attempt && delay < policy.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, policy.backoff_max);
    const auto half = delay.count() / 2;
    std::uniform_int_distribution<std::chrono::milliseconds::rep> jitter(0, half);
    return std::chrono::milliseconds(delay.count() - half + jitter(random));
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
                result.db_time += std::chrono::steady_clock::now() - start;
                after_failure();
                const auto delay = retry_delay(error, attempt, retry_, random_);
                if (!delay) throw located(error, batch, attempt);
                ++result.retries;
                if (!sleep(*delay, stop)) throw Abandoned{};
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

    // Waits, unless the sink is being destroyed; false when it is.
    static bool sleep(std::chrono::milliseconds delay, std::stop_token stop) {
        std::mutex mutex;
        std::condition_variable_any woken;
        std::unique_lock lock(mutex);
        return !woken.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
    }

    // The error as the caller sees it: with the table, the batch's events and, where the server
    // named a COPY line, the event at fault.
    [[nodiscard]] Error located(const Error& error, const EncodedBatch& batch, int attempts) const {
        std::string context = "writing " + describe_events(batch.positions) + " to " + plan_->table().name.display();
        if (const auto event = executor_.failed_event(); event && *event < batch.positions.size())
            context += ", event at " + to_string(batch.positions[*event]);
        if (error.retryable()) context += ", after " + std::to_string(attempts) + " attempts";
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
