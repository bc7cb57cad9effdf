#pragma once

#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/dialect.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace redsink::detail {

// What a batch holds after reduction.
struct BatchShape {
    bool inserts = false;
    bool deletes = false;
    bool keeps = false;    // staged rows keep stored values (Change::keep)
    std::size_t rows = 0;  // staged rows: the bulk path's threshold
};

// What `rows` of a reduced batch hold, for the transaction that writes them.
[[nodiscard]] inline BatchShape shape_of(const EncodedBatch& batch, const StagedRows& staged,
                                         std::span<const StagedRow> rows) {
    BatchShape shape;
    shape.rows = rows.size();
    const auto values = staged.values(batch);
    for (const auto& row : rows) {
        (row.op == sql::op_delete ? shape.deletes : shape.inserts) = true;
        if (row.op != sql::op_delete && values.keep(row.row()) != nullptr) shape.keeps = true;
    }
    return shape;
}

// The session's stage table before the transaction, as the last commit left it.
struct StageState {
    bool exists = false;      // created in this session
    bool holds_rows = false;  // holds an earlier batch's rows
    bool recreate = false;    // its deleted rows passed the bound: drop it and create it again
};

// What a bulk loader offers (SinkOptions::bulk_load, Redshift's COPY from S3): batches of at
// least `min_rows` staged rows.
struct BulkOffer {
    bool available = false;
    std::size_t min_rows = 0;
};

struct TransactionOptions {
    ApplyLock lock = ApplyLock::sink_table;
    bool trial = false;  // end in ROLLBACK: tells whether the server takes the rows, writes nothing
    BulkOffer bulk{};
    // The server refused this batch's bulk COPY (not for a transient reason): INSERT it instead,
    // which names the row it refuses.
    bool copy_refused = false;
};

// How a batch's rows reach the table.
struct LoadPath {
    Step::Into into = Step::Into::stage;
    Step::Method method = Step::Method::copy;
    bool transaction = true;  // false: PostgreSQL's lone COPY into the target, atomic alone
};

// The one place a batch's load path is chosen. Pure; golden-tested with plan_transaction.
// - Into the target, unstaged, when the batch only inserts and the plan's inserts do nothing
//   but copy the staged rows (ApplyPlan::plain_inserts); else into the stage.
// - Redshift: prepared multi-row INSERTs, or the bulk loader's COPY for a batch of at least its
//   min_rows (never in a trial, nor after the server refused the batch's COPY); PostgreSQL:
//   COPY FROM STDIN.
// - PostgreSQL's COPY into the target needs no transaction of its own unless something must
//   commit with it (`closing`: dead letters, positions) or it is a trial.
[[nodiscard]] inline LoadPath choose_load_path(const ApplyPlan& plan, BatchShape shape,
                                               const TransactionOptions& options, bool closing) {
    const bool redshift = plan.dialect() == Dialect::redshift;
    const bool direct = !shape.deletes && !shape.keeps && plan.plain_inserts();
    LoadPath path;
    path.into = direct ? Step::Into::target : Step::Into::stage;
    if (!redshift)
        path.method = Step::Method::copy;
    else if (options.bulk.available && !options.trial && !options.copy_refused && shape.rows > 0 &&
             shape.rows >= options.bulk.min_rows)
        path.method = Step::Method::bulk_copy;
    else
        path.method = Step::Method::insert_chunks;
    path.transaction = !(direct && !redshift && !options.trial && !closing);
    return path;
}

// What closes a batch's transaction before COMMIT, each list planned by its owner: the dead
// letters (dead_letter_steps) and exactly_once's positions (PositionsWriter::steps).
struct Closing {
    std::vector<Step> dead_letters{};
    std::vector<Step> positions{};

    [[nodiscard]] bool empty() const noexcept { return dead_letters.empty() && positions.empty(); }
};

// The steps of one batch's transaction, every statement it sends: the one place where the
// statement order is chosen. Pure: no I/O, golden-tested.
//
// - Redshift: LOCK is the first statement after BEGIN (the transaction's snapshot starts at its
//   first statement, so a later LOCK comes too late under SERIALIZABLE); the stage is created,
//   recreated or emptied inside the transaction (TRUNCATE would commit it): one COMMIT per batch.
// - PostgreSQL: no lock (the tasks hold disjoint keys); TRUNCATE empties the stage inside the
//   transaction.
// - The fill goes where choose_load_path says, after LOCK and the stage's DDL (a bulk COPY reads
//   objects uploaded before BEGIN).
// - Rows that keep stored values (Change::keep): right after the stage's fill, one UPDATE of the
//   stage copies those values from the target, before any statement of the plan changes it.
// - Dead letters go into their table just before COMMIT, in the batch's transaction: the batch's
//   good rows and its dead letters commit together. A trial writes none.
// - exactly_once: the positions the batch reached go last before COMMIT, with the check that no
//   newer sink fenced this one; the executor checks every answer before it sends COMMIT.
[[nodiscard]] inline std::vector<Step> plan_transaction(const ApplyPlan& plan, BatchShape shape, StageState stage,
                                                        TransactionOptions options = {}, Closing closing = {}) {
    std::vector<Step> steps;
    if (options.trial) closing = {};
    const bool rows = shape.inserts || shape.deletes;
    if (!rows && closing.empty()) return steps;
    const bool redshift = plan.dialect() == Dialect::redshift;
    const auto path = choose_load_path(plan, shape, options, !closing.empty());
    const auto statement = [&](std::string sql, RowCount counts = RowCount::none,
                               Step::Stage effect = Step::Stage::untouched) {
        steps.push_back({.kind = Step::Kind::statement, .sql = std::move(sql), .counts = counts, .stage = effect});
    };
    const auto fill = [&] {
        steps.push_back({.kind = Step::Kind::fill,
                         .sql = {},
                         .counts = path.into == Step::Into::target ? RowCount::inserted : RowCount::none,
                         .into = path.into,
                         .method = path.method});
    };
    if (!path.transaction) {
        fill();
        return steps;
    }
    steps.push_back({.kind = Step::Kind::begin, .sql = "BEGIN"});
    if (redshift) {
        const auto locked = options.lock == ApplyLock::target ? plan.table().name : sql::lock_table(plan.table().name);
        steps.push_back({.kind = Step::Kind::lock, .sql = sql::lock_table_sql(locked)});
    }
    if (!rows) {
        // Only dead letters (and positions).
    } else if (path.into == Step::Into::target) {
        fill();
    } else {
        if (stage.exists && redshift && stage.recreate) {
            statement(sql::drop_stage_sql(), RowCount::none, Step::Stage::drops);
            stage.exists = false;
        }
        if (!stage.exists)
            statement(sql::create_stage_sql(plan.record_table(), false), RowCount::none, Step::Stage::creates);
        else if (stage.holds_rows)
            statement(redshift ? sql::delete_stage_rows_sql() : sql::truncate_stage_sql(), RowCount::none,
                      Step::Stage::empties);
        fill();
        // Kept values are read from the table before any statement changes it.
        if (shape.keeps) {
            auto keep = sql::keep_stored_sql(plan.record_table());
            if (!keep.empty()) statement(std::move(keep));
        }
        if (shape.deletes)
            for (const auto& planned : plan.delete_statements()) statement(planned.sql, planned.counts);
        if (shape.inserts)
            for (const auto& planned : plan.insert_statements()) statement(planned.sql, planned.counts);
    }
    for (auto& step : closing.dead_letters) steps.push_back(std::move(step));
    for (auto& step : closing.positions) steps.push_back(std::move(step));
    if (options.trial)
        steps.push_back({.kind = Step::Kind::rollback, .sql = "ROLLBACK"});
    else
        steps.push_back({.kind = Step::Kind::commit, .sql = "COMMIT"});
    return steps;
}

}  // namespace redsink::detail
