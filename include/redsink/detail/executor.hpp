#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/detail/dead_letter_writes.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/positions_writer.hpp>
#include <redsink/detail/refusals.hpp>
#include <redsink/detail/row_loader.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/pipeline.hpp>
#include <redsink/pq/transaction.hpp>
#include <redsink/sink_options.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// What one transaction did to the target.
struct ApplyCounts {
    std::size_t inserted = 0;
    std::size_t deleted = 0;
};

// Runs a batch's steps (plan_transaction) on one connection, as one pipeline: every statement is
// sent without waiting for the one before, and COPY, which cannot travel in a pipeline, is a
// barrier. Each answer is matched to its step (what its rows count as, what it is checked for);
// a failed check rolls the transaction back before COMMIT is sent. Keeps the session's state:
// whether the stage exists and what it holds, and (in its RowLoader) the prepared INSERT shapes.
// One attempt; retrying is Applier's.
class Executor {
public:
    struct Options {
        std::size_t pipeline_depth = 4;  // statements in flight before the oldest is waited for
        std::size_t max_chunk_rows = 1000;
        std::size_t stage_recreate_batches = 8;           // Redshift: batches a stage holds before it is recreated
        std::vector<std::string> session_settings;        // sent once to every new session (sql::session_settings_sql)
        std::optional<sql::TableSpec> dead_letter_table;  // where a batch's dead letters go
        std::optional<PositionsTarget> positions;         // exactly_once: where a batch's positions go
        SessionHook session_hook{};                       // called at SessionPoint::commit_sent
        std::shared_ptr<BulkLoadSession> bulk{};          // Redshift's bulk path, with its threshold
        std::size_t bulk_min_rows = 0;
    };

    Executor(pq::Connection conn, const ApplyPlan& plan, Options options)
        : conn_(std::move(conn)),
          plan_(&plan),
          loader_(plan, options.max_chunk_rows, options.bulk),
          options_(std::move(options)) {
        if (options_.positions) positions_.emplace(*options_.positions);
    }

    [[nodiscard]] pq::Connection& connection() noexcept { return conn_; }

    // What the bulk loader offers a batch.
    [[nodiscard]] BulkOffer bulk_offer() const noexcept {
        return {loader_.bulk() != nullptr && plan_->dialect() == Dialect::redshift, options_.bulk_min_rows};
    }

    // Opens the session again if it was lost, and gives a new session its settings; true when it
    // opened one again.
    bool ensure_session() {
        const bool reopened = !conn_.is_open();
        if (reopened) conn_.reconnect();
        if (session_ != conn_.session()) {
            committed_ = {};
            loader_.new_session();
            for (const auto& setting : options_.session_settings) conn_.exec(setting);
            session_ = conn_.session();
        }
        return reopened;
    }

    // The stage as the last commit of this session left it.
    [[nodiscard]] StageState stage() const noexcept {
        return {committed_.exists, committed_.rows > 0,
                committed_.exists && committed_.batches >= options_.stage_recreate_batches};
    }

    // The statements that close the batch's transaction: its dead letters (the client's refusals,
    // then the server's), its positions. The dead letters are kept for the runs that follow.
    [[nodiscard]] Closing closing(const EncodedBatch& batch, const Refusals& refusals) {
        letters_.assign(batch.client_refused.begin(), batch.client_refused.end());
        letters_.insert(letters_.end(), refusals.letters().begin(), refusals.letters().end());
        Closing out;
        if (!letters_.empty()) {
            if (!options_.dead_letter_table)
                throw Error(ErrorKind::other, {}, "a batch holds dead letters, but the sink has no dead-letter table");
            out.dead_letters =
                dead_letter_steps(*options_.dead_letter_table, letters_, target_name(), options_.max_chunk_rows);
        }
        if (positions_) out.positions = positions_->steps(batch.positions, letters_, utc_timestamp_text());
        return out;
    }

    // The next run's bulk fill into `into` takes what `ahead` staged (RowLoader::take_staged); the
    // run removes it afterwards, whether it used it or not.
    void take_staged(RowLoader& ahead, Step::Into into) noexcept { loader_.take_staged(ahead, into); }
    // Removes what was staged ahead and not run (a batch settled without a run).
    void drop_staged() noexcept {
        if (loader_.holds_staged()) loader_.discard_bulk();
    }

    [[nodiscard]] bool copy_refused() const noexcept { return loader_.copy_refused(); }
    [[nodiscard]] std::optional<std::uint32_t> failed_event() const noexcept { return loader_.failed_event(); }

    // exactly_once: the session was lost after the last run sent COMMIT, so whether it committed
    // is not known: verify_commit() tells, before the batch is written again.
    [[nodiscard]] bool commit_uncertain() const noexcept { return uncertain_; }

    // After a lost COMMIT answer, on a session opened again: the counts of the batch when its
    // transaction committed, nothing when it did not (PositionsWriter::verify_commit).
    [[nodiscard]] std::optional<ApplyCounts> verify_commit() {
        const bool committed = positions_->verify_commit(conn_);
        uncertain_ = false;
        if (!committed) return std::nullopt;
        return counts_;
    }

    // Runs the steps once, with the batch's staged rows or `rows` of them, and the dead letters
    // the last closing() planned. On failure the transaction is rolled back and the error thrown;
    // the session's state is then as the last commit left it, as it is after steps that end in
    // ROLLBACK (a trial).
    ApplyCounts run(const std::vector<Step>& steps, const EncodedBatch& batch, const StagedRows& staged,
                    std::optional<std::span<const StagedRow>> rows = std::nullopt) {
        loader_.begin_attempt();
        numbers_.clear();
        counts_ = {};
        failed_check_ = nullptr;
        commit_sent_ = false;
        uncertain_ = false;
        steps_ = &steps;
        batch_ = &batch;
        staged_ = &staged;
        attempt_ = committed_;
        rows_ = rows ? *rows : std::span<const StagedRow>(staged.rows);
        // Whatever happens, what the bulk loader staged for this attempt (or ahead of it) is
        // removed afterwards.
        struct Discard {
            RowLoader* loader = nullptr;
            ~Discard() {
                if (loader != nullptr) loader->discard_bulk();
            }
        } discard;
        if (loader_.holds_staged()) discard.loader = &loader_;
        try {
            for (const auto& step : steps)
                if (step.kind == Step::Kind::fill && step.method == Step::Method::bulk_copy) {
                    discard.loader = &loader_;
                    loader_.select(batch, staged, rows_, step.into);
                    loader_.stage_bulk(step.into);
                }
            execute(steps);
        } catch (...) {
            // The ROLLBACK (the transaction's destructor) undid the stage's DDL, and makes Redshift
            // forget the session's prepared statements.
            loader_.forget_shapes(conn_);
            uncertain_ = commit_sent_ && positions_ && !conn_.is_open();
            throw;
        }
        if (!steps.empty() && steps.back().kind == Step::Kind::rollback) {
            loader_.forget_shapes(conn_);
        } else {
            committed_ = attempt_;
            if (positions_) positions_->committed();
        }
        return counts_;
    }

private:
    // The session's stage: whether it exists, the rows it holds, and how many batches it held since
    // it was created (each leaves its rows behind, deleted: temporary tables are never vacuumed).
    struct Stage {
        bool exists = false;
        std::size_t rows = 0;
        std::size_t batches = 0;
    };

    void execute(const std::vector<Step>& steps) {
        std::optional<pq::Pipeline> pipeline;
        const auto pipelined = [&]() -> pq::Pipeline& {
            if (!pipeline)
                pipeline.emplace(conn_, options_.pipeline_depth, [this](const pq::Completion& done) { account(done); });
            return *pipeline;
        };
        // COPY cannot travel in a pipeline: what is in flight is received first.
        const auto barrier = [&] {
            if (pipeline) pipeline->finish();
            pipeline.reset();
        };
        if (loader_.holds_stale()) loader_.deallocate_stale(conn_, pipelined());
        std::optional<pq::Transaction> transaction;
        for (std::size_t index = 0; index < steps.size(); ++index) {
            const auto& step = steps[index];
            const auto tag = static_cast<std::uint32_t>(index + 1);
            switch (step.kind) {
                case Step::Kind::begin:
                    pipelined();
                    transaction.emplace(conn_);
                    break;
                case Step::Kind::lock:
                case Step::Kind::statement:
                    pipelined().send(step.sql, tag);
                    change_stage(step.stage);
                    break;
                case Step::Kind::fill: fill(step, tag, pipelined, barrier); break;
                case Step::Kind::dead_letters:
                    bind_dead_letters(letters_, step, target_name(), values_, numbers_);
                    pipelined().send({.form = pq::Request::Form::params, .sql = &step.sql, .values = values_}, tag);
                    break;
                case Step::Kind::position:
                    values_.clear();
                    for (const auto& param : step.params) values_.push_back(param.c_str());
                    pipelined().send({.form = pq::Request::Form::params, .sql = &step.sql, .values = values_}, tag);
                    break;
                case Step::Kind::commit:
                    // A checked answer must be read before COMMIT may go.
                    if (checks_before(steps, index)) {
                        pipelined().drain();
                        if (failed_check_ != nullptr) {
                            transaction.reset();  // ROLLBACK
                            throw check_failed(*failed_check_);
                        }
                    }
                    pipelined();
                    commit_sent_ = true;
                    transaction->commit([this](const pq::Completion& done) { account(done); },
                                        [this] {
                                            if (options_.session_hook && positions_)
                                                options_.session_hook(conn_, SessionPoint::commit_sent);
                                        });
                    break;
                case Step::Kind::rollback:
                    barrier();
                    transaction->rollback();
                    break;
            }
        }
        if (pipeline) pipeline->finish();
    }

    template <class Pipelined, class Barrier>
    void fill(const Step& step, std::uint32_t tag, Pipelined& pipelined, Barrier& barrier) {
        loader_.select(*batch_, *staged_, rows_, step.into);
        switch (step.method) {
            case Step::Method::insert_chunks: loader_.insert(conn_, pipelined(), step.into, tag); break;
            case Step::Method::copy:
                barrier();
                account({tag, loader_.copy(conn_, step.into)});
                break;
            case Step::Method::bulk_copy:
                barrier();
                account({tag, loader_.copy_bulk(conn_, step.into)});
                break;
        }
        if (step.into == Step::Into::stage) {
            attempt_.rows = loader_.rows();
            ++attempt_.batches;
        }
    }

    // What the transaction leaves of the stage if it commits.
    void change_stage(Step::Stage effect) {
        switch (effect) {
            case Step::Stage::untouched: return;
            case Step::Stage::creates: attempt_ = {.exists = true}; break;
            case Step::Stage::drops: attempt_ = {}; break;
            case Step::Stage::empties: attempt_.rows = 0; return;
        }
        loader_.forget_shapes(conn_);  // DDL
    }

    // An answer, matched to the step it belongs to by its tag (the step's index + 1; 0: a
    // statement of no step, such as a PREPARE, BEGIN or COMMIT).
    void account(const pq::Completion& done) {
        if (done.tag == 0) return;
        const auto& step = (*steps_)[done.tag - 1];
        if (step.counts == RowCount::inserted) counts_.inserted += done.rows;
        if (step.counts == RowCount::deleted) counts_.deleted += done.rows;
        const bool holds = step.check == Check::none || done.rows == (step.check == Check::all_rows ? step.count : 1);
        // A fence outranks a missing row: the fenced error says why the row is gone.
        if (!holds && (failed_check_ == nullptr || failed_check_->check == Check::row_written)) failed_check_ = &step;
    }

    [[nodiscard]] static bool checks_before(const std::vector<Step>& steps, std::size_t end) {
        for (std::size_t i = 0; i < end; ++i)
            if (steps[i].check != Check::none) return true;
        return false;
    }

    [[nodiscard]] Error check_failed(const Step& step) {
        if (step.kind == Step::Kind::position) return positions_->check_failed(conn_, step);
        return Error(ErrorKind::other, {},
                     "a statement of the batch's transaction did not write the " + std::to_string(step.count) +
                         " rows it carries (" + step.sql.substr(0, step.sql.find(" (")) +
                         "); the batch was rolled back");
    }

    [[nodiscard]] const std::string& target_name() {
        if (target_name_.empty()) target_name_ = plan_->table().name.display();
        return target_name_;
    }

    pq::Connection conn_;
    const ApplyPlan* plan_;
    RowLoader loader_;
    Options options_;
    std::optional<PositionsWriter> positions_;
    std::uint64_t session_ = 0;
    Stage committed_;
    Stage attempt_;
    ApplyCounts counts_;
    const std::vector<Step>* steps_ = nullptr;  // the run's steps, which its answers are matched to
    const EncodedBatch* batch_ = nullptr;
    const StagedRows* staged_ = nullptr;
    std::span<const StagedRow> rows_;  // the rows this run sends
    std::vector<DeadLetter> letters_;  // the batch's dead letters, as closing() planned them
    const Step* failed_check_ = nullptr;
    std::vector<const char*> values_;
    std::deque<std::string> numbers_;  // bound texts of the run's dead letters
    std::string target_name_;
    bool commit_sent_ = false;
    bool uncertain_ = false;
};

}  // namespace redsink::detail
