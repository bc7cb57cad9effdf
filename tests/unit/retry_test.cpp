// The retry engine (redsink/retry.hpp) without a server: the delay, the stoppable wait, the loop
// and its classifier, as the database, S3 and Kafka use them.
#include <redsink/error.hpp>
#include <redsink/retry.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

// The database's classifier: the kinds pq::classify gives each SQLSTATE.
bool database_retryable(const redsink::Error& error) {
    return error.retryable();
}

}  // namespace

TEST_CASE("retries: only transient failures, within attempts and budget, doubling with jitter", "[unit][retry]") {
    using redsink::retry_delay;
    const redsink::RetryPolicy policy{5, milliseconds(60'000), milliseconds(100), milliseconds(1000)};
    std::mt19937_64 random(7);
    const redsink::Error lost(redsink::ErrorKind::connection_lost, "", "gone");
    const redsink::Error serialization(redsink::ErrorKind::transient, "40001", "could not serialize access");
    const redsink::Error refused(redsink::ErrorKind::constraint, "23514", "check");
    CHECK_FALSE(database_retryable(refused));
    CHECK(database_retryable(lost));
    CHECK(database_retryable(serialization));
    CHECK_FALSE(retry_delay(5, milliseconds(0), policy, random));
    for (int i = 0; i < 200; ++i) {
        const auto first = retry_delay(1, milliseconds(0), policy, random);
        REQUIRE(first);
        CHECK(first->count() >= 50);
        CHECK(first->count() <= 100);
        const auto fourth = retry_delay(4, milliseconds(0), policy, random);
        REQUIRE(fourth);
        CHECK(fourth->count() >= 400);
        CHECK(fourth->count() <= 800);
    }
    // Jittered: not the same delay every time.
    std::set<long> seen;
    for (int i = 0; i < 50; ++i)
        seen.insert(static_cast<long>(retry_delay(2, milliseconds(0), policy, random)->count()));
    CHECK(seen.size() > 10);

    // No attempt limit: the budget decides, and no wait runs past it.
    const redsink::RetryPolicy budget{0, milliseconds(5'000), milliseconds(100), milliseconds(10'000)};
    CHECK(retry_delay(1'000, milliseconds(1'000), budget, random));
    CHECK(retry_delay(20, milliseconds(4'900), budget, random)->count() <= 100);
    CHECK_FALSE(retry_delay(2, milliseconds(5'000), budget, random));
    CHECK(redsink::describe_attempts(3, milliseconds(2'449)) == "3 attempts in 2.4 s");
    CHECK(redsink::describe_attempts(1, milliseconds(30)) == "1 attempt in 0.0 s");
}

TEST_CASE("the delay doubles up to its cap; the jitter is the random fraction of it", "[unit][retry]") {
    using redsink::retry_delay;
    // S3's former backoff, same bounds: between half and all of 100 ms * 2^(n-1), at most 5 s.
    const redsink::RetryPolicy s3_like{6, milliseconds(300'000), milliseconds(100), milliseconds(5'000)};
    std::minstd_rand random(7);
    for (int trial = 0; trial < 200; ++trial) {
        const auto first = retry_delay(1, 0ms, s3_like, random);
        CHECK((first >= 50ms && first <= 100ms));
        const auto third = retry_delay(3, 0ms, s3_like, random);
        CHECK((third >= 200ms && third <= 400ms));
        const auto late = retry_delay(40, 0ms, {0, 300s, 100ms, 5s}, random);
        CHECK((late >= 2500ms && late <= 5s));
    }
    CHECK(retry_delay(3, 0ms, {6, 300s, 0ms, 5s}, random) == 0ms);

    // No jitter: exactly the doubled delay; full jitter: anywhere from 0 to it.
    redsink::RetryPolicy fixed{0, 60s, 100ms, 1s, 0.0};
    CHECK(retry_delay(1, 0ms, fixed, random) == 100ms);
    CHECK(retry_delay(3, 0ms, fixed, random) == 400ms);
    CHECK(retry_delay(5, 0ms, fixed, random) == 1s);
    redsink::RetryPolicy full{0, 60s, 100ms, 1s, 1.0};
    redsink::RetryPolicy quarter{0, 60s, 400ms, 1s, 0.25};
    std::set<long> low_values;
    for (int i = 0; i < 500; ++i) {
        const auto any = *retry_delay(1, 0ms, full, random);
        CHECK((any >= 0ms && any <= 100ms));
        if (any < 50ms) low_values.insert(static_cast<long>(any.count()));
        const auto mostly = *retry_delay(1, 0ms, quarter, random);
        CHECK((mostly >= 300ms && mostly <= 400ms));
    }
    CHECK_FALSE(low_values.empty());  // full jitter goes below the half that 0.5 keeps
    // A jitter outside 0..1 is taken as its nearest bound.
    CHECK(retry_delay(2, 0ms, {0, 60s, 100ms, 1s, -3.0}, random) == 200ms);
    const auto wide = *retry_delay(2, 0ms, {0, 60s, 100ms, 1s, 7.0}, random);
    CHECK((wide >= 0ms && wide <= 200ms));
}

TEST_CASE("max_attempts counts the first attempt; 0 leaves it to the budget", "[unit][retry]") {
    std::mt19937_64 random(3);
    const redsink::RetryPolicy three{3, 60s, 1ms, 1ms};
    CHECK(redsink::retry_delay(1, 0ms, three, random));
    CHECK(redsink::retry_delay(2, 0ms, three, random));
    CHECK_FALSE(redsink::retry_delay(3, 0ms, three, random));
    const redsink::RetryPolicy unlimited{0, 60s, 1ms, 1ms};
    CHECK(redsink::retry_delay(100'000, 59'999ms, unlimited, random) == 1ms);
    CHECK_FALSE(redsink::retry_delay(2, 60s, unlimited, random));
    // The last wait is cut to what is left of the budget.
    CHECK(redsink::retry_delay(1, 59'990ms, {0, 60s, 1s, 1s, 0.0}, random) == 10ms);
}

TEST_CASE("the wait: the whole delay, or false at once when stopped", "[unit][retry]") {
    const auto started = std::chrono::steady_clock::now();
    CHECK(redsink::wait_for_retry(30ms, {}));
    CHECK(std::chrono::steady_clock::now() - started >= 30ms);

    std::stop_source already;
    already.request_stop();
    const auto before = std::chrono::steady_clock::now();
    CHECK_FALSE(redsink::wait_for_retry(10s, already.get_token()));
    CHECK(std::chrono::steady_clock::now() - before < 1s);

    std::stop_source later;
    std::jthread stopper([&] {
        std::this_thread::sleep_for(50ms);
        later.request_stop();
    });
    const auto waiting = std::chrono::steady_clock::now();
    CHECK_FALSE(redsink::wait_for_retry(30s, later.get_token()));
    const auto waited = std::chrono::steady_clock::now() - waiting;
    CHECK(waited >= 40ms);
    CHECK(waited < 5s);
}

TEST_CASE("with_retries: tries again what the classifier allows, tells on_retry, returns the result", "[unit][retry]") {
    const redsink::RetryPolicy policy{5, 60s, 1ms, 2ms};
    int calls = 0;
    std::vector<redsink::RetryStep> steps;
    const auto result = redsink::with_retries<redsink::Error>(
        policy, {},
        [&] {
            if (++calls < 3) throw redsink::Error(redsink::ErrorKind::transient, "40001", "conflict");
            return std::string("done");
        },
        database_retryable,
        [&](const redsink::Error& error, const redsink::RetryStep& step) {
            CHECK(error.sqlstate() == "40001");
            steps.push_back(step);
        });
    CHECK(result == "done");
    CHECK(calls == 3);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].attempt == 1);
    CHECK(steps[1].attempt == 2);
    for (const auto& step : steps) {
        CHECK((step.delay >= 0ms && step.delay <= 2ms));
        CHECK_FALSE(step.stopped);
    }
}

TEST_CASE("with_retries gives up with the last failure, and give_up may say how long it tried", "[unit][retry]") {
    int calls = 0;
    int retries = 0;
    const auto on_retry = [&](const redsink::Error&, const redsink::RetryStep&) { ++retries; };
    const auto always_lost = [&] {
        ++calls;
        throw redsink::Error(redsink::ErrorKind::connection_lost, "", "gone " + std::to_string(calls));
    };

    SECTION("max_attempts: the last error as it was") {
        CHECK_THROWS_WITH(
            redsink::with_retries<redsink::Error>({3, 60s, 1ms, 1ms}, {}, always_lost, database_retryable, on_retry),
            "gone 3");
        CHECK(calls == 3);
        CHECK(retries == 2);
    }
    SECTION("not retryable: at once, on_retry never called") {
        CHECK_THROWS_WITH(redsink::with_retries<redsink::Error>(
                              {0, 60s, 1ms, 1ms}, {},
                              [&] {
                                  ++calls;
                                  throw redsink::Error(redsink::ErrorKind::constraint, "23505", "duplicate");
                              },
                              database_retryable, on_retry),
                          "duplicate (SQLSTATE 23505)");
        CHECK(calls == 1);
        CHECK(retries == 0);
    }
    SECTION("the budget: give_up throws its own error with the attempts") {
        redsink::RetryStep last;
        try {
            redsink::with_retries<redsink::Error>(
                {0, 120ms, 10ms, 10ms, 0.0}, {}, always_lost, database_retryable, on_retry,
                [&](const redsink::Error& error, const redsink::RetryStep& step) {
                    last = step;
                    throw std::runtime_error("starting, after " + step.describe() + "; " + error.message());
                });
            FAIL("no error");
        } catch (const std::runtime_error& error) {
            CHECK_THAT(error.what(), Catch::StartsWith("starting, after ") && Catch::Contains(" attempts in 0.1 s"));
            CHECK_THAT(error.what(), Catch::EndsWith("; gone " + std::to_string(calls)));
        }
        CHECK(calls >= 2);
        CHECK(calls <= 13);
        CHECK(last.attempt == calls);
        CHECK(last.elapsed >= 120ms);
        CHECK_FALSE(last.stopped);
    }
    SECTION("stopped during the wait: gives up at once, step.stopped") {
        std::stop_source stop;
        redsink::RetryStep last;
        const auto started = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH(redsink::with_retries<redsink::Error>(
                              {0, 60s, 10s, 10s}, stop.get_token(), always_lost, database_retryable,
                              [&](const redsink::Error&, const redsink::RetryStep&) { stop.request_stop(); },
                              [&](const redsink::Error&, const redsink::RetryStep& step) { last = step; }),
                          "gone 1");
        CHECK(std::chrono::steady_clock::now() - started < 5s);
        CHECK(calls == 1);
        CHECK(last.stopped);
        CHECK(last.attempt == 1);
        CHECK(last.delay >= 5s);
    }
    SECTION("other exceptions pass through without a retry") {
        CHECK_THROWS_WITH(redsink::with_retries<redsink::Error>(
                              {0, 60s, 1ms, 1ms}, {},
                              [&] {
                                  ++calls;
                                  throw std::logic_error("a bug");
                              },
                              database_retryable, on_retry),
                          "a bug");
        CHECK(calls == 1);
        CHECK(retries == 0);
    }
}
