#pragma once

#include <redsink/detail/task.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/stats.hpp>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace redsink::detail {

// A sink's tasks, together, on the app's thread: hands their batches over, waits for them, sums
// their statistics. Destroyed, each finishes the batch it is writing.
class TaskGroup {
public:
    TaskGroup() = default;
    TaskGroup(TaskGroup&&) noexcept = default;
    TaskGroup& operator=(TaskGroup&&) noexcept = default;
    ~TaskGroup() { stop(); }

    void add(std::unique_ptr<Task> task) { tasks_.push_back(std::move(task)); }
    [[nodiscard]] std::size_t size() const noexcept { return tasks_.size(); }

    // Hands each task its batch when it is ready (or `all` of them), waiting while the task still
    // has one queued, after having any task that holds a failed batch try it again. False when a
    // task took none because it holds a batch that failed again: its batch stays with the
    // Batcher, and the failure is in the latch.
    template <class Batcher>
    [[nodiscard]] bool hand_over(Batcher& batcher, bool all) {
        for (auto& task : tasks_)
            if (task->holding()) task->resume();
        bool taken = true;
        for (std::size_t i = 0; i < tasks_.size(); ++i) {
            auto& batch = batcher.batch(i);
            if (batch.empty() || !(all || batcher.ready(i))) continue;
            if (!tasks_[i]->submit(batch)) taken = false;
        }
        batcher.recount();
        return taken;
    }

    // Until every task has written what it was handed (or holds a batch whose retries ran out).
    void wait_idle() {
        for (auto& task : tasks_) task->wait_idle();
    }

    void stop() {
        for (auto& task : tasks_) task->stop();
    }

    // The tasks' sums, and each task's own.
    void add_stats(SinkStats& total) const {
        for (const auto& task : tasks_) {
            const auto one = task->stats();
            static_cast<TaskStats&>(total) += one;
            total.tasks.push_back(one);
        }
    }

    // Before the first batch only: the tasks' threads own their connections afterwards.
    void set_trace(const pq::TraceHook& hook) {
        for (auto& task : tasks_) task->connection().set_trace(hook);
    }

private:
    std::vector<std::unique_ptr<Task>> tasks_;
};

}  // namespace redsink::detail
