#pragma once

#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/detail/refusals.hpp>
#include <redsink/detail/stage_ahead.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/retry.hpp>
#include <redsink/sink_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

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
    std::size_t dead_letters = 0;
    std::size_t retries = 0;
    std::size_t reconnects = 0;
    std::size_t commit_checks = 0;  // lost COMMIT answers settled by reading the positions table
    std::chrono::nanoseconds db_time{};
};

// Thrown when the sink is destroyed while a batch waits to be tried again: nothing was committed.
struct Abandoned {};

// What becomes of a row the server refuses.
struct RefusalRules {
    // Dead-letter up to this many refused rows per batch (each located by the server or by trials),
    // then stop; 0: stop at the first (stop_on_error).
    std::size_t dead_letters = 0;
};

// Reduces batches and writes them in one transaction each, with the steps plan_transaction gives
// for the batch and the session, tried again after transient failures. A row the server refuses
// is located (by the server's COPY line, or by trials) and, with a dead-letter policy, moved to
// the batch's dead letters; the batch is then reduced again without it and written at once.
class Applier {
public:
    Applier(Executor executor, const ApplyPlan& plan, TransactionOptions transaction, RetryPolicy retry,
            Reducer reducer, RefusalRules rules, SessionHook hook)
        : executor_(std::move(executor)),
          plan_(&plan),
          transaction_(transaction),
          retry_(retry),
          reducer_(reducer),
          rules_(rules),
          hook_(std::move(hook)),
          random_(std::random_device{}()) {}

    [[nodiscard]] pq::Connection& connection() noexcept { return executor_.connection(); }

    // SinkOptions::stop: once requested, a batch waiting to be tried again is given up at once.
    void give_up_on(std::stop_token stop) { give_up_ = std::move(stop); }

    // The bulk loader stages ahead (BulkLoader::stages_ahead): the task's second session, on which
    // prepare() stages the batch queued behind the one being written.
    void stage_ahead_on(std::shared_ptr<BulkLoadSession> session) {
        const auto offer = executor_.bulk_offer();
        if (session && offer.available) ahead_.emplace(*plan_, reducer_, std::move(session), offer);
    }
    [[nodiscard]] bool prepares_ahead() const noexcept { return ahead_.has_value(); }
    // On the task's helper thread, while the batch before `next` is written (after take() of it,
    // before its apply() returns): reduces `next` and stages its upload (StageAhead).
    void prepare(const EncodedBatch& next) noexcept {
        if (ahead_) ahead_->prepare(next);
    }
    // After a batch that was not written (its retries ran out, the sink stops): what was prepared
    // for the next is removed.
    void drop_prepared() noexcept {
        if (ahead_) ahead_->discard();
        executor_.drop_staged();
    }

    // Before `batch`'s apply(), on the task's thread: its reduction, or the one prepare() made (with
    // its upload, which the first attempt then uses if it takes the bulk path).
    void take(const EncodedBatch& batch) {
        refusals_.clear();
        if (!ahead_ || !ahead_->hand_over(batch, staged_, executor_)) reducer_(batch, refusals_, staged_);
    }

    // Writes the batch take() reduced; `result` counts what happened, also when it throws the
    // error (with the table, the batch's events and the attempts) or Abandoned.
    void apply(const EncodedBatch& batch, ApplyResult& result, std::stop_token stop) {
        std::size_t refused = 0;
        bool by_insert = false;  // the server refused this batch's bulk COPY: INSERT it, which names a refused row
        auto first = std::chrono::steady_clock::now();
        for (int attempt = 1;; ++attempt) {
            const auto start = std::chrono::steady_clock::now();
            try {
                if (executor_.ensure_session()) ++result.reconnects;
                if (executor_.commit_uncertain()) {
                    // The answer to COMMIT was lost: the positions table tells whether it committed.
                    const auto committed = executor_.verify_commit();
                    ++result.commit_checks;
                    if (committed) {
                        executor_.drop_staged();
                        result.inserted = committed->inserted;
                        result.deleted = committed->deleted;
                        result.dead_letters = batch.client_refused.size() + refusals_.size();
                        result.db_time += std::chrono::steady_clock::now() - start;
                        return;
                    }
                }
                if (attempt == 1 && refused == 0 && hook_) hook_(executor_.connection(), SessionPoint::before_batch);
                auto options = transaction_;
                options.bulk = executor_.bulk_offer();
                options.copy_refused = by_insert;
                const auto steps = plan_transaction(*plan_, shape_of(batch, staged_, staged_.rows), executor_.stage(),
                                                    options, executor_.closing(batch, refusals_));
                const auto counts = executor_.run(steps, batch, staged_);
                result.inserted = counts.inserted;
                result.deleted = counts.deleted;
                result.dead_letters = batch.client_refused.size() + refusals_.size();
                result.db_time += std::chrono::steady_clock::now() - start;
                return;
            } catch (const Error& error) {
                const auto now = std::chrono::steady_clock::now();
                result.db_time += now - start;
                after_failure();
                const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - first);
                const auto delay = error.retryable() ? retry_delay(attempt, elapsed, retry_, random_) : std::nullopt;
                if (!delay && executor_.copy_refused() && !by_insert) {
                    by_insert = true;
                    continue;
                }
                if (!delay) {
                    // A COPY's line names the row of a data exception or a constraint; any other
                    // server error is pinned to a row by trials alone (a trigger's RAISE in COPY
                    // names a line too, though it may refuse every row).
                    auto event = refuses_rows(error) ? executor_.failed_event() : std::nullopt;
                    int trials = 0;
                    // The row's own refusal: the batch's error may be another row's (a value too
                    // long for its column fails a statement before any row's CHECK is tested).
                    std::optional<Error> cause;
                    if (!event && may_be_rows(error)) event = find_refused(batch, trials, cause, !refuses_rows(error));
                    const Error& refusal = cause ? *cause : error;
                    const bool located_row = event && may_be_rows(error) && !refusals_.is_refused(*event);
                    if (located_row && refused < rules_.dead_letters) {
                        dead_letter(batch, *event, refusal);
                        ++refused;
                        reducer_(batch, refusals_, staged_);
                        attempt = 0;  // a new batch: its own attempts and budget
                        first = std::chrono::steady_clock::now();
                        continue;
                    }
                    auto located_error = located(refusal, batch, describe_attempts(attempt, elapsed), event, trials);
                    if (located_row && refused > 0)
                        throw Error(located_error.kind(), located_error.sqlstate(), located_error.message(),
                                    located_error.detail(),
                                    located_error.context() + "; the server refused " + std::to_string(refused + 1) +
                                        " rows of this batch, more than SinkOptions::max_refused_rows (" +
                                        std::to_string(rules_.dead_letters) + ")");
                    throw located_error;
                }
                ++result.retries;
                if (!wait(*delay, stop)) {
                    if (stop.stop_requested()) throw Abandoned{};
                    // SinkOptions::stop: the batch is given up, unacknowledged, and the sink stops.
                    throw Error(ErrorKind::other, error.sqlstate(), error.message(), error.detail(),
                                error.context() + "; given up after " + describe_attempts(attempt, elapsed) +
                                    ": the sink was stopped (SinkOptions::stop)");
                }
            }
        }
    }

private:
    // Waits before the next attempt, cut short by the worker's stop or SinkOptions::stop.
    bool wait(std::chrono::milliseconds delay, const std::stop_token& stop) const {
        if (!give_up_.stop_possible()) return wait_for_retry(delay, stop);
        std::stop_source either;
        const std::stop_callback by_worker(stop, [&] { either.request_stop(); });
        const std::stop_callback by_owner(give_up_, [&] { either.request_stop(); });
        return wait_for_retry(delay, either.get_token());
    }

    // Moves `event` from the batch's rows to its dead letters, with the server's reason and the
    // values it was sent with.
    void dead_letter(const EncodedBatch& batch, std::uint32_t event, const Error& error) {
        const auto& columns = plan_->record_columns();
        std::vector<std::string_view> names;
        std::vector<std::optional<std::string>> texts;
        for (std::size_t column = 0; column < batch.columns && column < columns.size(); ++column) {
            names.push_back(columns[column].name);
            const auto index = event * batch.columns + column;
            texts.push_back(batch.params.is_null(index) ? std::nullopt
                                                        : std::optional<std::string>(batch.params.view(index)));
        }
        refusals_.refuse(event, batch.events(),
                         {batch.positions[event],
                          batch.changes[event],
                          {},
                          error.sqlstate(),
                          server_reason(error),
                          values_json(names, texts),
                          utc_timestamp_text()});
    }

    void after_failure() noexcept {
        if (!hook_ || !executor_.connection().is_open()) return;
        try {
            hook_(executor_.connection(), SessionPoint::after_failed_attempt);
        } catch (...) {
        }
    }

    // A refusal of some row's values (a data exception, a constraint), not of the statement.
    [[nodiscard]] static bool refuses_rows(const Error& error) noexcept {
        return error.kind() == ErrorKind::bad_data || error.kind() == ErrorKind::constraint;
    }

    // A server error that is not retried, of any class (a trigger's RAISE, Redshift's XX000 about
    // a row): trials may pin it to one row, which is then its cause. Retryable errors keep to
    // their retries; errors the client made (no SQLSTATE), and a fence, are never a row's.
    [[nodiscard]] static bool may_be_rows(const Error& error) noexcept {
        return !error.retryable() && !error.sqlstate().empty() && error.kind() != ErrorKind::fenced;
    }

    // Whether the server takes `rows` of the batch: a trial transaction that ends in ROLLBACK
    // (Redshift has no savepoints). Throws the trial's error when it refuses them.
    void trial(const EncodedBatch& batch, std::span<const StagedRow> rows) {
        TransactionOptions options = transaction_;
        options.trial = true;
        executor_.ensure_session();
        executor_.run(plan_transaction(*plan_, shape_of(batch, staged_, rows), executor_.stage(), options), batch,
                      staged_, rows);
    }

    // The event whose row the server refuses, found in trials, each of fewer rows. Halving: the
    // first half of the rows alone; when the server takes it, the second half holds the refusal
    // (the whole was refused), and is not tried unless one row is left. About log2(rows) trials
    // find the first row refused alone (for its own values, or against the table: every refusal
    // Redshift makes). When that row is taken alone (rows refused only together: a key twice),
    // prefixes of the rows are bisected, which finds the row that makes its prefix fail. The
    // batch's deletes go in every trial (one could remove what an insert conflicts with), and are
    // searched themselves if they fail alone. `trials` counts the trials, `cause` is the server's
    // refusal of the row found. Nothing when the trials take every row (the refusal lies
    // elsewhere, in the dead letters) or one fails for another reason (a lost connection).
    // `confirm` (an error outside classes 22 and 23, which may come with every row: a trigger
    // that always raises, a table gone): a row found while every trial failed is the cause only if
    // another row is taken alone; nothing when none is, or when it is the only row.
    std::optional<std::uint32_t> find_refused(const EncodedBatch& batch, int& trials, std::optional<Error>& cause,
                                              bool confirm) {
        std::vector<StagedRow> deletes;
        std::vector<StagedRow> inserts;
        for (const auto& row : staged_.rows) (row.op == sql::op_delete ? deletes : inserts).push_back(row);
        std::vector<StagedRow> rows;
        std::optional<Error> refusal;  // the last trial's
        bool took_searched = false;    // a trial took some of the rows searched
        // True when the server takes `always` and `some` together; false when it refuses a row.
        const auto takes = [&](std::span<const StagedRow> always, std::span<const StagedRow> some) {
            rows.assign(always.begin(), always.end());
            rows.insert(rows.end(), some.begin(), some.end());
            ++trials;
            try {
                trial(batch, rows);
                return true;
            } catch (const Error& error) {
                if (!may_be_rows(error)) throw;
                refusal = error;
                return false;
            }
        };
        try {
            std::span<const StagedRow> always;
            std::span<const StagedRow> searched(inserts);
            std::optional<Error> known;  // the refusal of `searched` (with `always`), once a trial saw it
            if (!deletes.empty()) {
                if (takes({}, deletes)) {
                    always = deletes;
                } else {
                    searched = deletes;
                    known = refusal;
                }
            }
            if (searched.empty()) return std::nullopt;
            auto segment = searched;
            auto seen = known;  // the refusal of `segment`, once a trial saw it
            while (segment.size() > 1) {
                const auto half = segment.size() / 2;
                if (!takes(always, segment.first(half))) {
                    segment = segment.first(half);
                    seen = refusal;
                } else {
                    segment = segment.subspan(half);
                    seen.reset();
                    took_searched = true;
                }
            }
            if (!seen && !takes(always, segment)) seen = refusal;
            if (seen) {
                if (confirm && !took_searched && !other_row_taken(searched, segment.front().event, always, takes))
                    return std::nullopt;
                cause = std::move(seen);
                return segment.front().event;
            }
            // Prefixes of `searched`: `passes` rows are taken, `fails` rows are refused.
            std::size_t passes = 0;
            std::size_t fails = searched.size();
            while (fails - passes > 1) {
                const auto mid = passes + (fails - passes) / 2;
                if (takes(always, searched.first(mid))) {
                    passes = mid;
                } else {
                    fails = mid;
                    known = refusal;
                }
            }
            // The batch failed with every row: unless a trial saw these rows refused too, the
            // refusal may lie outside them (its dead letters).
            if (!known) {
                if (takes(always, searched)) return std::nullopt;
                known = refusal;
            }
            cause = std::move(known);
            return searched[fails - 1].event;
        } catch (const Error&) {
            return std::nullopt;
        }
    }

    // Whether the server takes one row of `searched` other than `event` alone (with `always`): the
    // last row, else the middle one. False when there is no other row.
    template <class Takes>
    [[nodiscard]] static bool other_row_taken(std::span<const StagedRow> searched, std::uint32_t event,
                                              std::span<const StagedRow> always, const Takes& takes) {
        std::vector<std::size_t> candidates{searched.size() - 1, searched.size() / 2};
        for (std::size_t tried = 0; tried < candidates.size(); ++tried) {
            const auto at = candidates[tried];
            if (searched[at].event == event || (tried > 0 && at == candidates[0])) continue;
            if (takes(always, searched.subspan(at, 1))) return true;
        }
        return false;
    }

    // The error as the caller sees it: with the table, the batch's events and the event at fault
    // where the server named a COPY line or trials found it.
    [[nodiscard]] Error located(const Error& error, const EncodedBatch& batch, const std::string& attempts,
                                std::optional<std::uint32_t> event, int trials) const {
        std::string context = "writing " + describe_events(batch.positions) + " to " + plan_->table().name.display();
        if (event && *event < batch.positions.size()) {
            context += ", event at " + to_string(batch.positions[*event]);
            if (trials > 0) context += " (found in " + std::to_string(trials) + " trial transactions)";
        }
        if (error.retryable()) context += ", after " + attempts;
        if (!error.context().empty()) context += "; " + error.context();
        return Error(error.kind(), error.sqlstate(), error.message(), error.detail(), context);
    }

    Executor executor_;
    const ApplyPlan* plan_;
    TransactionOptions transaction_;
    RetryPolicy retry_;
    Reducer reducer_;
    RefusalRules rules_;
    Refusals refusals_;                // what the server refused of the batch being written
    StagedRows staged_;                // the batch being written, reduced
    std::optional<StageAhead> ahead_;  // the batch queued behind it, prepared meanwhile
    SessionHook hook_;
    std::mt19937_64 random_;
    std::stop_token give_up_;
};

}  // namespace redsink::detail
