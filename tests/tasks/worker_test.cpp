// The engine's thread-facing parts without a database: the Worker's queue, hold and resume, the
// Acknowledger's delivery and the FailureLatch. In the tasks program, so that ThreadSanitizer
// runs them too.
#include <redsink/detail/acknowledger.hpp>
#include <redsink/detail/failure_latch.hpp>
#include <redsink/detail/worker.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

using redsink::detail::Acknowledger;
using redsink::detail::FailureLatch;
using redsink::detail::Worker;

namespace {

// Jobs are numbers; the worker records the order it ran them in.
struct Recorder {
    std::mutex mutex;
    std::vector<int> ran;
    std::atomic<int> fail_next{0};  // how many runs to hold before one succeeds

    Worker<int>::Run run() {
        return [this](int& job, std::stop_token) {
            if (fail_next.load() > 0) {
                --fail_next;
                return false;
            }
            const std::lock_guard lock(mutex);
            ran.push_back(job);
            return true;
        };
    }
    std::vector<int> order() {
        const std::lock_guard lock(mutex);
        return ran;
    }
};

}  // namespace

TEST_CASE("a worker runs jobs in the order they were handed over, one waiting at most", "[tasks][worker]") {
    Recorder recorder;
    Worker<int> worker(recorder.run());
    for (int i = 0; i < 200; ++i) {
        int job = i;
        REQUIRE(worker.submit(job));
    }
    worker.wait_idle();
    std::vector<int> expected(200);
    for (int i = 0; i < 200; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(recorder.order() == expected);
    CHECK(worker.take_spare().has_value());
}

TEST_CASE("a held job blocks the queue until resume() runs it again, first", "[tasks][worker]") {
    Recorder recorder;
    recorder.fail_next = 1;
    Worker<int> worker(recorder.run());
    int first = 1;
    REQUIRE(worker.submit(first));
    worker.wait_idle();
    CHECK(worker.holding());
    int second = 2;
    REQUIRE(worker.submit(second));  // queued behind the held one
    int third = 3;
    CHECK_FALSE(worker.submit(third));  // the queue is taken and nothing resumes: refused, not lost
    CHECK(third == 3);
    worker.wait_idle();
    CHECK(recorder.order().empty());

    // Resumed, it fails again: held again, and a waiting submit gives up.
    recorder.fail_next = 1;
    worker.resume();
    CHECK_FALSE(worker.submit(third));
    worker.wait_idle();
    CHECK(worker.holding());

    worker.resume();
    REQUIRE(worker.submit(third));
    worker.wait_idle();
    CHECK_FALSE(worker.holding());
    CHECK(recorder.order() == std::vector<int>{1, 2, 3});
}

TEST_CASE("stopping a worker interrupts the running job's wait and drops the queued one", "[tasks][worker]") {
    std::atomic<bool> started{false};
    std::atomic<bool> interrupted{false};
    std::atomic<int> runs{0};
    {
        Worker<int> worker([&](int&, std::stop_token stop) {
            ++runs;
            started = true;
            std::mutex mutex;
            std::condition_variable_any woken;
            std::unique_lock lock(mutex);
            interrupted =
                woken.wait_for(lock, stop, std::chrono::seconds(30), [] { return false; }) || stop.stop_requested();
            return true;
        });
        int job = 1;
        REQUIRE(worker.submit(job));
        while (!started) std::this_thread::yield();
        int queued = 2;
        REQUIRE(worker.submit(queued));
    }
    CHECK(interrupted);
    CHECK(runs == 1);
}

TEST_CASE("acknowledgements: once per commit that moved them, in order, on the delivering thread", "[tasks][acks]") {
    Acknowledger acks;
    std::vector<redsink::Positions> delivered;
    acks.set_callback([&](const redsink::Positions& positions) { delivered.push_back(positions); });
    std::vector<redsink::detail::AckTracker::Ticket> first;
    std::vector<redsink::detail::AckTracker::Ticket> second;
    for (std::int64_t offset = 0; offset < 10; ++offset) (offset < 5 ? first : second).push_back(acks.add({0, offset}));
    const auto ignored = acks.add({1, 0});
    CHECK(acks.outstanding() == 11);

    // The second half commits first (another task): nothing moves past the uncommitted first half.
    std::thread([&] { acks.complete(second); }).join();
    acks.deliver();
    CHECK(delivered.empty());
    acks.complete({&ignored, 1});
    std::thread([&] { acks.complete(first); }).join();
    CHECK(delivered.empty());  // delivered only by deliver(), on this thread
    acks.deliver();
    REQUIRE(delivered.size() == 2);
    CHECK(delivered[0] == redsink::Positions{{1, 0}});
    CHECK(delivered[1] == redsink::Positions{{0, 9}, {1, 0}});
    CHECK(acks.delivered() == delivered[1]);
    CHECK(acks.outstanding() == 0);
    acks.deliver();
    CHECK(delivered.size() == 2);
}

TEST_CASE("the failure latch: a stop is raised as itself, then as 'stopped'; a report once", "[tasks][latch]") {
    FailureLatch latch;
    CHECK_FALSE(latch.pending());
    CHECK_NOTHROW(latch.raise("s.t"));

    latch.report(std::make_exception_ptr(redsink::Error(redsink::ErrorKind::transient, "40001", "conflict")));
    latch.report(std::make_exception_ptr(redsink::Error(redsink::ErrorKind::transient, "40001", "a second one")));
    CHECK(latch.pending());
    CHECK_THROWS_WITH(latch.raise("s.t"), Catch::Contains("conflict"));
    CHECK_FALSE(latch.pending());
    CHECK_NOTHROW(latch.raise("s.t"));

    latch.stop(std::make_exception_ptr(redsink::Error(redsink::ErrorKind::constraint, "23514", "check")));
    latch.report(std::make_exception_ptr(redsink::Error(redsink::ErrorKind::transient, "40001", "ignored")));
    CHECK(latch.stopped());
    CHECK_THROWS_WITH(latch.raise("s.t"), Catch::Contains("check") && !Catch::Contains("stopped"));
    CHECK_THROWS_WITH(latch.raise("s.t"),
                      Catch::Contains("the sink for s.t stopped after an earlier error") && Catch::Contains("check"));
    CHECK(latch.pending());
}

TEST_CASE("a running job's helper sees the job queued behind it, or nothing once told to stop", "[tasks][worker]") {
    // Each job starts a helper that waits for the next job and records what it saw; the job waits
    // for the helper's answer only when one is queued before it ends (jobs 0 to 2: the test queues
    // the next while the job runs), and stops it otherwise (job 3, the last).
    std::vector<int> seen;
    std::mutex mutex;
    std::atomic<bool> release{false};
    Worker<int>* self = nullptr;
    Worker<int> worker([&](int& job, std::stop_token) {
        std::jthread helper([&](std::stop_token stop) {
            const int* next = self->wait_queued(stop);
            const std::lock_guard lock(mutex);
            seen.push_back(next != nullptr ? *next : -1);
        });
        if (job < 3) {
            while (!release.load()) std::this_thread::yield();
            release = false;
            helper.join();
        }
        return true;
    });
    self = &worker;
    int first = 0;
    REQUIRE(worker.submit(first));
    for (int i = 1; i <= 3; ++i) {
        int job = i;
        REQUIRE(worker.submit(job));  // queued behind job i - 1, which waits for `release`
        release = true;
    }
    worker.wait_idle();
    const std::lock_guard lock(mutex);
    CHECK(seen == std::vector<int>{1, 2, 3, -1});
}
