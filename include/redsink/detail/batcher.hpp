#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/encode.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

namespace redsink::detail {

// The time, cheap enough to read on every write: Linux's coarse monotonic clock (the same clock
// as steady_clock, to a few milliseconds), or steady_clock elsewhere.
[[nodiscard]] inline std::chrono::steady_clock::time_point coarse_now() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    timespec now{};
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0)
        return std::chrono::steady_clock::time_point(std::chrono::seconds(now.tv_sec) +
                                                     std::chrono::nanoseconds(now.tv_nsec));
#endif
    return std::chrono::steady_clock::now();
}

// The batches being filled, one per task, on the caller's thread: each event is encoded as it is
// written, into the batch of the task its key routes it to (all events of a key go to one task,
// in order; without a key, tasks take turns; `by_partition`: a partition's events go to one task,
// for exactly_once). A task's batch is ready at batch_rows rows or batch_bytes of encoded values,
// or once flush_interval has passed since its first row.
template <class R, class Key>
class Batcher {
public:
    struct Limits {
        std::size_t rows;
        std::size_t bytes;
        std::chrono::milliseconds interval;
        std::size_t super_string_limit = 65535;
    };

    using Model = RecordModel<R, Key>;

    // `model`: the record's columns (record_model.hpp). `order_column`: the member a delete
    // carries besides its key (newest_wins), or none. `keeps`: events may keep stored values
    // (Change::keep; one row per key).
    Batcher(std::size_t tasks, Limits limits, Model model, bool by_partition = false,
            std::size_t order_column = no_order_column, bool keeps = false)
        : order_column_(order_column),
          keeps_(keeps),
          limits_(limits),
          model_(std::move(model)),
          batches_(tasks),
          started_(tasks),
          by_partition_(by_partition) {}

    // Encodes the event into its task's batch, and returns the task. On a bad value (BadValue,
    // naming the column) nothing of the event is taken.
    std::size_t add(const Change<R>& change) {
        std::optional<std::size_t> hash;
        const auto task = route(change, hash);
        encode_change(change, batches_[task], model_, hash, order_column_, keeps_);
        took(task);
        return task;
    }

    // Takes an event the client refused (`bad`) as a dead letter of a task's batch, and returns
    // the task: the key's, when its key can be encoded (else the first).
    std::size_t add_refused(const Change<R>& change, const BadValue& bad) {
        std::size_t task = 0;
        try {
            std::optional<std::size_t> hash;
            task = route(change, hash);
        } catch (const BadValue&) {
        }
        batches_[task].client_refused.push_back(refused_event(change, bad, model_));
        took(task);
        return task;
    }

    // The acknowledgement ticket of the event add() or add_refused() just took into the task's batch.
    void ticket(std::size_t task, AckTracker::Ticket issued) { batches_[task].tickets.push_back(issued); }

    // Some batch is full (also one a task did not take).
    [[nodiscard]] bool any_full() const noexcept { return full_; }

    [[nodiscard]] EncodedBatch& batch(std::size_t task) noexcept { return batches_[task]; }
    [[nodiscard]] std::size_t tasks() const noexcept { return batches_.size(); }
    [[nodiscard]] bool full(std::size_t task) const noexcept {
        const auto& batch = batches_[task];
        return batch.taken() >= limits_.rows || batch.bytes() >= limits_.bytes;
    }
    // Some batch's first row is flush_interval old.
    [[nodiscard]] bool due() const { return rows_ > 0 && coarse_now() - oldest_ >= limits_.interval; }
    [[nodiscard]] bool ready(std::size_t task) const {
        return !batches_[task].empty() && (full(task) || coarse_now() - started_[task] >= limits_.interval);
    }

    // After batches were handed over (and replaced by empty ones): counts what is left.
    void recount() noexcept {
        rows_ = 0;
        full_ = false;
        for (std::size_t task = 0; task < batches_.size(); ++task) {
            if (batches_[task].empty()) continue;
            if (rows_ == 0 || started_[task] < oldest_) oldest_ = started_[task];
            rows_ += batches_[task].taken();
            full_ = full_ || full(task);
        }
    }

private:
    // The task an event goes to: its partition's (by_partition), its key's (`hash` is then the
    // key's hash), or the next in turn without a key. Throws BadValue when the key cannot be encoded.
    std::size_t route(const Change<R>& change, std::optional<std::size_t>& hash) {
        if (by_partition_) return static_cast<std::uint32_t>(change.position.partition) % batches_.size();
        if (batches_.size() == 1) return 0;
        if (model_.key_indexes().empty()) return turn_++ % batches_.size();
        hash = row_key_hash(change.row, scratch_, model_);
        return *hash % batches_.size();
    }

    // Counts an event taken into the task's batch.
    void took(std::size_t task) {
        if (batches_[task].taken() == 1) {
            started_[task] = coarse_now();
            if (rows_ == 0) oldest_ = started_[task];
        }
        ++rows_;
        full_ = full_ || full(task);
    }

    std::size_t order_column_;
    bool keeps_;
    Limits limits_;
    Model model_;
    std::vector<EncodedBatch> batches_;
    std::vector<std::chrono::steady_clock::time_point> started_;  // per task: its batch's first row
    ParamBuffer scratch_;
    std::size_t turn_ = 0;
    std::size_t rows_ = 0;  // in all batches
    bool full_ = false;     // some batch is full
    bool by_partition_ = false;
    std::chrono::steady_clock::time_point oldest_{};
};

}  // namespace redsink::detail
