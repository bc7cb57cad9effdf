#pragma once

// The one retry engine: a policy, the delay before the next attempt, a wait that a stop cuts
// short, and a loop that runs an attempt until it succeeds or a classifier says to give up. The
// database, the S3 client and the Kafka connector each bring their own classifier (docs/delivery.md).
#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

namespace redsink {

// How long something keeps trying after failures another try may fix.
struct RetryPolicy {
    int max_attempts = 0;  // counting the first; 0: as many as the budget allows
    std::chrono::milliseconds budget{300'000};
    std::chrono::milliseconds backoff{100};  // the first delay, doubling up to backoff_max
    std::chrono::milliseconds backoff_max{10'000};
    double jitter = 0.5;  // the random fraction of each delay
};

// How long to wait after failed attempt `attempt` (1 for the first), `elapsed` after the first
// began, or nothing: the attempts or the budget are spent. The delay doubles from `backoff` up to
// `backoff_max`, its `jitter` fraction random, so that clients that failed together (a
// serialization conflict, throttling) do not meet again, and never runs past the budget.
template <std::uniform_random_bit_generator Random>
[[nodiscard]] std::optional<std::chrono::milliseconds> retry_delay(int attempt, std::chrono::milliseconds elapsed,
                                                                   const RetryPolicy& policy, Random& random) {
    if (policy.max_attempts > 0 && attempt >= policy.max_attempts) return std::nullopt;
    if (elapsed >= policy.budget) return std::nullopt;
    auto delay = std::max(policy.backoff, std::chrono::milliseconds(0));
    for (int i = 1; i < attempt && delay < policy.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, policy.backoff_max);
    const auto fraction = std::clamp(policy.jitter, 0.0, 1.0);
    const auto random_part = static_cast<std::chrono::milliseconds::rep>(static_cast<double>(delay.count()) * fraction);
    std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(0, random_part);
    return std::min(std::chrono::milliseconds(delay.count() - random_part + pick(random)), policy.budget - elapsed);
}

// Waits `delay`, unless `stop` is set first; false when it is (at once, not after the delay).
inline bool wait_for_retry(std::chrono::milliseconds delay, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    return !woken.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

// "3 attempts in 2.4 s": how long something kept trying, for its error.
[[nodiscard]] inline std::string describe_attempts(int attempts, std::chrono::milliseconds elapsed) {
    const auto tenths = (elapsed.count() + 50) / 100;
    return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts") + " in " +
           std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

// Where a retry loop stands after a failed attempt: told to on_retry and to give_up.
struct RetryStep {
    int attempt = 0;                      // the attempt that failed, 1 for the first
    std::chrono::milliseconds elapsed{};  // since the first attempt began
    std::chrono::milliseconds delay{};    // the wait before the next attempt (none when giving up)
    bool stopped = false;                 // giving up because the stop was requested during the wait

    [[nodiscard]] std::string describe() const { return describe_attempts(attempt, elapsed); }
};

namespace detail {

// One generator per thread: retry loops of one thread never run at once.
[[nodiscard]] inline std::mt19937_64& retry_random() {
    thread_local std::mt19937_64 random(std::random_device{}());
    return random;
}

struct NoRetryHook {
    template <class Failure>
    void operator()(const Failure&, const RetryStep&) const noexcept {}
};

}  // namespace detail

// Runs `attempt` until it returns, and returns what it returned. A `Failure` it throws is tried
// again when `retryable(failure)` says so and `policy` has attempts and time left: `on_retry`
// hears of it with the delay, then the wait (cut short by `stop`). Otherwise `give_up(failure,
// step)` may throw the error the caller wants (with step.describe()); when it returns, the
// failure itself is thrown again. Anything else `attempt` throws passes through at once.
template <class Failure, class Attempt, class Retryable, class OnRetry = detail::NoRetryHook,
          class GiveUp = detail::NoRetryHook>
requires std::invocable<Attempt&> && std::predicate<Retryable&, const Failure&>
decltype(auto) with_retries(const RetryPolicy& policy, std::stop_token stop, Attempt&& attempt, Retryable&& retryable,
                            OnRetry&& on_retry = {}, GiveUp&& give_up = {}) {
    const auto first = std::chrono::steady_clock::now();
    for (int attempt_number = 1;; ++attempt_number) {
        try {
            return attempt();
        } catch (const Failure& failure) {
            RetryStep step{.attempt = attempt_number,
                           .elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - first)};
            const auto delay = retryable(failure)
                                   ? retry_delay(attempt_number, step.elapsed, policy, detail::retry_random())
                                   : std::nullopt;
            if (!delay) {
                give_up(failure, step);
                throw;
            }
            step.delay = *delay;
            on_retry(failure, step);
            if (!wait_for_retry(*delay, stop)) {
                step.stopped = true;
                give_up(failure, step);
                throw;
            }
        }
    }
}

}  // namespace redsink
