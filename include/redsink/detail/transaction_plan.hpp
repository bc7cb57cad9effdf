#pragma once

#include <redsink/dialect.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace redsink::detail {

// One step of a batch's transaction.
struct Step {
    enum class Kind {
        begin,      // BEGIN
        lock,       // LOCK TABLE ...: the first statement after BEGIN, on Redshift
        statement,  // a statement without parameters: stage DDL, emptying the stage, the plan's statements
        fill,       // the batch's rows, into the stage or the target
        bulk_copy,  // Redshift's bulk path: COPY the rows a bulk loader staged (S3) into the stage or the target, then
                    // check pg_last_copy_count() against the rows sent
        dead_letters,  // the batch's dead letters, into the dead-letter table
        positions,  // exactly_once: the positions the batch reached, and the check that no newer sink fenced this one
        commit,     // COMMIT
        rollback,   // ROLLBACK: a trial, which finds out whether the server takes some rows
    };
    // Where a fill sends the rows: the stage (every staged row, with its op) or the target (inserts).
    enum class Into { stage, target };
    // How: multi-row INSERTs of a few prepared shapes, or COPY FROM STDIN (PostgreSQL).
    enum class Method { insert_chunks, copy };

    // What a statement does to the session's stage.
    enum class Stage { untouched, creates, drops, empties };

    Kind kind = Kind::statement;
    std::string sql;  // begin, lock, statement, commit
    RowCount counts = RowCount::none;
    Stage stage = Stage::untouched;
    Into into = Into::stage;
    Method method = Method::copy;

    // Changes the schema: Redshift forgets the session's prepared statements after it.
    [[nodiscard]] bool ddl() const noexcept { return stage == Stage::creates || stage == Stage::drops; }
};

// What a batch holds after reduction.
struct BatchShape {
    bool inserts = false;
    bool deletes = false;
    bool dead_letters = false;  // events that cannot be written, for the dead-letter table
    bool positions = false;     // exactly_once: the positions go in the same transaction
    bool keeps = false;         // staged rows keep stored values (Change::keep)
};

// The session's stage table before the transaction, as the last commit left it.
struct StageState {
    bool exists = false;      // created in this session
    bool holds_rows = false;  // holds an earlier batch's rows
    bool recreate = false;    // its deleted rows passed the bound: drop it and create it again
};

struct TransactionOptions {
    ApplyLock lock = ApplyLock::sink_table;
    bool trial = false;  // end in ROLLBACK: tells whether the server takes the rows, writes nothing
    // Redshift: the rows go by a bulk loader's COPY (S3) instead of INSERTs. Never in a trial.
    bool bulk = false;
};

// The steps of one batch's transaction: the one place where the load path (stage or target,
// INSERT or COPY) and the statement order are chosen. Pure: no I/O, golden-tested.
//
// - Redshift: LOCK is the first statement after BEGIN (the transaction's snapshot starts at its
//   first statement, so a later LOCK comes too late under SERIALIZABLE); the stage is created,
//   recreated or emptied inside the transaction (TRUNCATE would commit it): one COMMIT per batch.
//   Inserts that need no stage go straight into the target.
// - PostgreSQL: no lock (the tasks hold disjoint keys); COPY FROM STDIN; TRUNCATE empties the
//   stage inside the transaction; a batch of plain inserts is one COPY into the target, which is
//   atomic on its own.
// - Redshift's bulk path (options.bulk): the fill is a bulk_copy step instead, at the same place
//   (after LOCK and the stage's DDL); the objects it reads were uploaded before BEGIN.
// - Rows that keep stored values (Change::keep): right after the stage's fill, one UPDATE of the
//   stage copies those values from the target, before any statement of the plan changes it.
// - Dead letters go into their table just before COMMIT, in the batch's transaction: the batch's
//   good rows and its dead letters commit together. A trial writes none.
// - exactly_once: the positions the batch reached go last before COMMIT, with the check that no
//   newer sink fenced this one; the executor waits for every answer before it sends COMMIT.
[[nodiscard]] inline std::vector<Step> plan_transaction(const ApplyPlan& plan, BatchShape shape, StageState stage,
                                                        TransactionOptions options = {}) {
    std::vector<Step> steps;
    if (options.trial) {
        shape.dead_letters = false;
        shape.positions = false;
        options.bulk = false;
    }
    if (!shape.inserts && !shape.deletes && !shape.dead_letters && !shape.positions) return steps;
    const bool redshift = plan.dialect() == Dialect::redshift;
    const bool bulk = redshift && options.bulk;
    const auto method = redshift ? Step::Method::insert_chunks : Step::Method::copy;
    const auto statement = [&](std::string sql, RowCount counts = RowCount::none,
                               Step::Stage effect = Step::Stage::untouched) {
        steps.push_back({.kind = Step::Kind::statement, .sql = std::move(sql), .counts = counts, .stage = effect});
    };
    const auto fill = [&](Step::Into into) {
        Step step;
        step.kind = bulk ? Step::Kind::bulk_copy : Step::Kind::fill;
        step.counts = into == Step::Into::target ? RowCount::inserted : RowCount::none;
        step.into = into;
        step.method = method;
        steps.push_back(std::move(step));
    };
    const bool rows = shape.inserts || shape.deletes;
    const bool direct = !shape.deletes && !shape.keeps && plan.plain_inserts();
    if (direct && !redshift && !options.trial && !shape.dead_letters && !shape.positions) {
        fill(Step::Into::target);
        return steps;
    }
    steps.push_back({.kind = Step::Kind::begin, .sql = "BEGIN"});
    if (redshift) {
        const auto locked = options.lock == ApplyLock::target ? plan.table().name : sql::lock_table(plan.table().name);
        steps.push_back({.kind = Step::Kind::lock, .sql = sql::lock_table_sql(locked)});
    }
    if (!rows) {
        // Only dead letters (and positions).
    } else if (direct) {
        fill(Step::Into::target);
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
        fill(Step::Into::stage);
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
    if (shape.dead_letters) steps.push_back({.kind = Step::Kind::dead_letters, .sql = {}});
    if (shape.positions) steps.push_back({.kind = Step::Kind::positions, .sql = {}});
    if (options.trial)
        steps.push_back({.kind = Step::Kind::rollback, .sql = "ROLLBACK"});
    else
        steps.push_back({.kind = Step::Kind::commit, .sql = "COMMIT"});
    return steps;
}

// The steps as text, one per line: the SQL, or what a fill sends; with what a row count means
// and "(ddl)". For tests and docs.
[[nodiscard]] inline std::string describe(const std::vector<Step>& steps) {
    std::string out;
    for (const auto& step : steps) {
        if (step.kind == Step::Kind::dead_letters) {
            out += "dead letters into their table by INSERT";
        } else if (step.kind == Step::Kind::positions) {
            out += "positions (UPDATE or INSERT per partition), fence check; wait for every answer";
        } else if (step.kind == Step::Kind::bulk_copy) {
            out += step.into == Step::Into::stage ? "COPY stage" : "COPY target";
            out += " FROM the staged objects (S3), check pg_last_copy_count()";
        } else if (step.kind == Step::Kind::fill) {
            out += step.into == Step::Into::stage ? "fill stage" : "fill target";
            out += step.method == Step::Method::copy ? " by COPY FROM STDIN" : " by prepared multi-row INSERTs";
        } else {
            out += step.sql;
        }
        if (step.counts == RowCount::inserted) out += "  -> inserted";
        if (step.counts == RowCount::deleted) out += "  -> deleted";
        if (step.ddl()) out += "  (ddl)";
        out += '\n';
    }
    return out;
}

}  // namespace redsink::detail
