#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

namespace redsink::detail {

// A thread that runs jobs one at a time, in the order they were handed over, with room for one
// job waiting: the caller that hands over another waits until the waiting one is taken
// (backpressure). A job that `run` does not finish is held: the worker takes no other job until
// resume() has it run the held one again. Knows nothing of what a job is; `run` must not throw.
template <class Job>
class Worker {
public:
    // Runs a job on the worker's thread; true when it is done, false to hold it. The stop token
    // is set when the worker is being stopped.
    using Run = std::function<bool(Job&, std::stop_token)>;

    explicit Worker(Run run) : run_(std::move(run)) {
        thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker() { stop(); }

    // Queues `job` behind the one running; waits while another is queued. False, leaving `job`
    // with the caller, when the worker holds a job it could not finish and nothing resumes it.
    bool submit(Job& job) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return !queued_ || stopping_ || (held_ && !resume_ && !running_); });
        if (queued_ || stopping_) return false;
        queued_.emplace(std::move(job));
        lock.unlock();
        changed_.notify_all();
        return true;
    }

    // Runs the held job again, before anything queued.
    void resume() {
        {
            const std::lock_guard lock(mutex_);
            if (!held_) return;
            resume_ = true;
        }
        changed_.notify_all();
    }

    // Waits until nothing runs and nothing queued can run (a held job blocks what is queued).
    void wait_idle() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || (!running_ && !resume_ && (!queued_ || held_)); });
    }

    [[nodiscard]] bool holding() const {
        const std::lock_guard lock(mutex_);
        return held_.has_value();
    }

    // On a thread the running job started: waits until a job is queued behind it and returns it,
    // or nullptr once `stop` is requested or the worker stops. The job stays where it is,
    // unchanged, while the running job runs (only the worker's thread takes it, after `run`
    // returns): the caller must be done with it before the running job's `run` returns.
    [[nodiscard]] const Job* wait_queued(const std::stop_token& stop) {
        // Registered before the lock is taken: it runs at once when stop was already requested.
        const std::stop_callback wake(stop, [this] {
            { const std::lock_guard lock(mutex_); }  // the waiter is waiting, or will see the request
            changed_.notify_all();
        });
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return queued_.has_value() || stopping_ || stop.stop_requested(); });
        return queued_ && !stopping_ && !stop.stop_requested() ? &*queued_ : nullptr;
    }

    // A finished job, to reuse its memory.
    [[nodiscard]] std::optional<Job> take_spare() {
        const std::lock_guard lock(mutex_);
        return std::exchange(spare_, std::nullopt);
    }

    // Lets the running job end (its waits are interrupted), drops the others, joins the thread.
    void stop() {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        thread_.request_stop();
        changed_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    void loop(std::stop_token stop) {
        std::unique_lock lock(mutex_);
        while (true) {
            changed_.wait(lock, [&] { return stopping_ || (held_ ? resume_ : queued_.has_value()); });
            if (stopping_) return;
            Job job = held_ ? std::move(*std::exchange(held_, std::nullopt))
                            : std::move(*std::exchange(queued_, std::nullopt));
            resume_ = false;
            running_ = true;
            lock.unlock();
            changed_.notify_all();
            const bool done = run_(job, stop);
            lock.lock();
            running_ = false;
            (done ? spare_ : held_).emplace(std::move(job));
            changed_.notify_all();
        }
    }

    Run run_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<Job> queued_;
    std::optional<Job> held_;
    std::optional<Job> spare_;
    bool running_ = false;
    bool resume_ = false;
    bool stopping_ = false;
    std::jthread thread_;  // last: it starts once everything above exists
};

}  // namespace redsink::detail
