#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/detail/refusals.hpp>
#include <redsink/detail/row_loader.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/position.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace redsink::detail {

// A task's next batch, reduced and, when its first attempt will take the bulk path, uploaded
// while the task's current batch is in its transaction (Task::run gives it a helper thread): the
// CSV, compression and upload of batch n + 1 overlap batch n's COPY and COMMIT. It owns the task's
// second bulk session; when the batch it prepared comes to be written, it hands the reduction and
// the session holding the upload to the Applier and its Executor, and takes the executor's free
// session in exchange (ping-pong), so each batch is staged on the session that is not in a
// transaction. Used by one thread at a time: prepare() on the helper, the rest on the task's
// thread once the helper has joined.
class StageAhead {
public:
    StageAhead(const ApplyPlan& plan, Reducer reducer, std::shared_ptr<BulkLoadSession> session, BulkOffer offer)
        : plan_(&plan), reducer_(std::move(reducer)), loader_(plan, 1, std::move(session)), offer_(offer) {}
    StageAhead(StageAhead&&) = default;
    StageAhead& operator=(StageAhead&&) = delete;
    StageAhead(const StageAhead&) = delete;
    StageAhead& operator=(const StageAhead&) = delete;
    ~StageAhead() { discard(); }

    // On the helper: reduces `batch` as its first attempt will (nothing refused yet) and, when that
    // attempt takes the bulk path (choose_load_path, with the same offer), stages its rows. A
    // failure leaves nothing: the batch's own attempt stages it again and reports what fails.
    void prepare(const EncodedBatch& batch) noexcept {
        discard();
        try {
            reducer_(batch, none_refused_, staged_);
            const auto shape = shape_of(batch, staged_, staged_.rows);
            TransactionOptions options;
            options.bulk = offer_;
            const auto path = choose_load_path(*plan_, shape, options, false);
            if ((shape.inserts || shape.deletes) && path.method == Step::Method::bulk_copy) {
                into_ = path.into;  // before the upload: discard() removes what a failed one stored
                loader_.select(batch, staged_, staged_.rows, path.into);
                loader_.stage_bulk(path.into);
            }
            for_ = identity(batch);
        } catch (...) {
            discard();
        }
    }

    // On the task's thread, before `batch`'s first attempt: true when it is the batch prepared
    // ahead, whose reduction is then swapped into `staged` and whose upload the executor's next run
    // takes. Otherwise what was prepared is removed.
    bool hand_over(const EncodedBatch& batch, StagedRows& staged, Executor& executor) noexcept {
        if (!for_ || !(*for_ == identity(batch))) {
            discard();
            return false;
        }
        std::swap(staged, staged_);
        if (into_) executor.take_staged(loader_, *into_);
        into_.reset();
        for_.reset();
        return true;
    }

    // Removes what was prepared (the batch before failed, or the sink stops).
    void discard() noexcept {
        if (into_) loader_.discard_bulk();
        into_.reset();
        for_.reset();
    }

private:
    // Which batch was prepared: its events' storage (which moves with the batch from the worker's
    // queue), their count, and the first and last positions.
    struct Identity {
        const char* ops = nullptr;
        std::size_t events = 0;
        Position first{};
        Position last{};
        friend bool operator==(const Identity&, const Identity&) = default;
    };
    [[nodiscard]] static Identity identity(const EncodedBatch& batch) noexcept {
        if (batch.positions.empty()) return {batch.ops.data(), batch.events()};
        return {batch.ops.data(), batch.events(), batch.positions.front(), batch.positions.back()};
    }

    const ApplyPlan* plan_;
    Reducer reducer_;  // a copy of the task's: its own working memory
    RowLoader loader_;
    BulkOffer offer_;
    Refusals none_refused_;
    StagedRows staged_;
    std::optional<Step::Into> into_;  // the upload's fill, when the batch was staged
    std::optional<Identity> for_;     // the batch prepared
};

}  // namespace redsink::detail
