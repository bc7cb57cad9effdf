#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/encode.hpp>
#include <redsink/record.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace redsink::detail {

// The batch being filled, on the caller's thread: each event is encoded as it is written, into
// the batch of the task its key routes it to (all events of a key go to one task, in order;
// without a key, tasks take turns), and the batch is full at batch_rows rows or batch_bytes of
// encoded values, or due once flush_interval has passed since its first row.
template <class R, class Key>
class Batcher {
public:
    struct Limits {
        std::size_t rows;
        std::size_t bytes;
        std::chrono::milliseconds interval;
    };

    Batcher(std::size_t tasks, Limits limits, Dialect dialect)
        : limits_(limits), columns_(column_contexts<R>(dialect)), batches_(tasks) {}

    // Encodes the event into its task's batch, and returns that batch. On a bad value (BadValue,
    // naming the column) nothing of the event is taken.
    EncodedBatch& add(const Change<R>& change) {
        std::size_t task = 0;
        std::optional<std::size_t> hash;
        if (batches_.size() > 1) {
            if constexpr (key_info<R, Key>::size == 0) {
                task = turn_++ % batches_.size();
            } else {
                hash = row_key_hash<R, Key>(change.row, scratch_, columns_);
                task = *hash % batches_.size();
            }
        }
        auto& batch = batches_[task];
        const auto before = batch.bytes();
        encode_change<R, Key>(change, batch, columns_, hash);
        if (rows_ == 0) started_ = std::chrono::steady_clock::now();
        ++rows_;
        bytes_ += batch.bytes() - before;
        return batch;
    }

    [[nodiscard]] bool full() const noexcept { return rows_ >= limits_.rows || bytes_ >= limits_.bytes; }
    [[nodiscard]] bool due() const {
        return rows_ > 0 && std::chrono::steady_clock::now() - started_ >= limits_.interval;
    }
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }

    // The tasks' batches, to hand over; restart() then counts what was not taken.
    [[nodiscard]] std::vector<EncodedBatch>& batches() noexcept { return batches_; }
    void restart() noexcept {
        rows_ = 0;
        bytes_ = 0;
        for (const auto& batch : batches_) {
            rows_ += batch.events();
            bytes_ += batch.empty() ? 0 : batch.bytes();
        }
    }

private:
    Limits limits_;
    ColumnContexts<R> columns_;
    std::vector<EncodedBatch> batches_;
    ParamBuffer scratch_;
    std::size_t turn_ = 0;
    std::size_t rows_ = 0;
    std::size_t bytes_ = 0;
    std::chrono::steady_clock::time_point started_{};
};

}  // namespace redsink::detail
