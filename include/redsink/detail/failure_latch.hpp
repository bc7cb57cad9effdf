#pragma once

#include <redsink/pq/error.hpp>

#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

namespace redsink::detail {

// A sink's failures, set by a task or by the caller's thread and raised by the caller's next
// call (docs/delivery.md):
// - a failure that stops the sink: raised as itself once, then as "the sink stopped" forever;
// - a batch whose retries ran out: it stays with its task, which tries it again when the next
//   batch is handed over; the error is raised once and the sink goes on.
class FailureLatch {
public:
    void stop(std::exception_ptr error) {
        const std::lock_guard lock(mutex_);
        if (stopped_.load()) return;
        kind_ = ErrorKind::other;
        try {
            std::rethrow_exception(error);
        } catch (const Error& failed) {
            kind_ = failed.kind();
            text_ = failed.what();
        } catch (const std::exception& other) {
            text_ = other.what();
        } catch (...) {
            text_ = "an unknown error";
        }
        stop_error_ = std::move(error);
        stopped_.store(true);
        pending_.store(true);
    }

    void report(std::exception_ptr error) {
        const std::lock_guard lock(mutex_);
        if (stopped_.load() || reported_) return;  // one at a time
        reported_ = std::move(error);
        pending_.store(true);
    }

    [[nodiscard]] bool stopped() const noexcept { return stopped_.load(); }
    // Something to raise: cheap to ask on every call.
    [[nodiscard]] bool pending() const noexcept { return pending_.load(std::memory_order_relaxed); }

    // Throws what is to be raised, if anything; `table` names the sink in the "stopped" error.
    void raise(const std::string& table) {
        std::unique_lock lock(mutex_);
        if (stopped_.load()) {
            if (stop_error_) {
                auto error = std::exchange(stop_error_, nullptr);
                std::rethrow_exception(error);
            }
            throw Error(kind_, {},
                        "the sink for " + table +
                            " stopped after an earlier error, and acknowledged nothing after it; create a new sink "
                            "and resume from the acknowledged positions. The error was: " +
                            text_);
        }
        if (reported_) {
            auto error = std::exchange(reported_, nullptr);
            pending_.store(false);
            std::rethrow_exception(error);
        }
        pending_.store(false);
    }

private:
    std::mutex mutex_;
    std::atomic<bool> stopped_{false};
    std::atomic<bool> pending_{false};
    std::exception_ptr stop_error_;
    std::exception_ptr reported_;
    ErrorKind kind_ = ErrorKind::other;
    std::string text_;
};

}  // namespace redsink::detail
