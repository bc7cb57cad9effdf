#pragma once

#include <redsink/policies/plan.hpp>
#include <redsink/sql/dml.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace redsink::detail {

// A statement carries at most this many bytes of values (Redshift's 16 MB, less room for the SQL).
inline constexpr std::size_t max_statement_value_bytes = sql::max_statement_bytes - (std::size_t{1} << 20);

// What a statement's answer must say for the transaction to go on to COMMIT. Checked on the
// statement's own completion; a failed check rolls the transaction back with the error its owner
// gives (exactly_once's fence: detail/positions_writer.hpp).
enum class Check {
    none,
    row_written,     // changes exactly one row: else the positions table changed under the sink
    partition_held,  // changes exactly one row: else a newer sink claimed the partition (Fencing::partition)
    identity_held,   // returns exactly one row: else a newer sink took the identity (the fence)
    all_rows,        // affects `count` rows: every row it carries
};

// One statement (or, for a fill, one load) of a batch's transaction, with what its answer means.
struct Step {
    enum class Kind {
        begin,         // BEGIN
        lock,          // LOCK TABLE ...: the first statement after BEGIN, on Redshift
        statement,     // a statement without parameters: stage DDL, emptying the stage, the plan's statements
        fill,          // the batch's rows, into the stage or the target, by the load path's method
        dead_letters,  // `count` dead letters from `first`, by the INSERT in `sql` (their values bound)
        position,      // exactly_once: one statement of the positions table, its values in `params`
        commit,        // COMMIT
        rollback,      // ROLLBACK: a trial, which finds out whether the server takes some rows
    };
    // Where a fill sends the rows: the stage (every staged row, with its op) or the target (inserts).
    enum class Into { stage, target };
    // How: multi-row INSERTs of a few prepared shapes, COPY FROM STDIN (PostgreSQL), or a bulk
    // loader's COPY from the objects it staged (Redshift: S3), checked by pg_last_copy_count().
    enum class Method { insert_chunks, copy, bulk_copy };
    // What a statement does to the session's stage.
    enum class Stage { untouched, creates, drops, empties };

    Kind kind = Kind::statement;
    std::string sql;  // what it sends; a fill's statements come from its method (prepared shapes, COPY)
    RowCount counts = RowCount::none;
    Check check = Check::none;
    Stage stage = Stage::untouched;
    Into into = Into::stage;
    Method method = Method::copy;
    std::vector<std::string> params{};  // position: its bound values (none of them a row's value)
    std::size_t first = 0;              // dead_letters: the first letter it carries
    std::size_t count = 0;              // dead_letters: how many; all_rows: the rows it must affect
    std::int32_t partition = 0;         // position: the partition it writes or checks

    // Changes the schema: Redshift forgets the session's prepared statements after it.
    [[nodiscard]] bool ddl() const noexcept { return stage == Stage::creates || stage == Stage::drops; }
};

// The steps as text, one per line: the SQL, or what a fill sends; with what a row count means,
// what the answer is checked for, and "(ddl)". For tests and docs: the whole transaction.
[[nodiscard]] inline std::string describe(const std::vector<Step>& steps) {
    std::string out;
    for (const auto& step : steps) {
        if (step.kind == Step::Kind::fill) {
            const bool to_stage = step.into == Step::Into::stage;
            if (step.method == Step::Method::bulk_copy)
                out += std::string(to_stage ? "COPY stage" : "COPY target") +
                       " FROM the staged objects (S3), check pg_last_copy_count()";
            else
                out += std::string(to_stage ? "fill stage" : "fill target") +
                       (step.method == Step::Method::copy ? " by COPY FROM STDIN" : " by prepared multi-row INSERTs");
        } else {
            out += step.sql;
        }
        if (step.kind == Step::Kind::position) out += "  [partition " + std::to_string(step.partition) + "]";
        if (step.counts == RowCount::inserted) out += "  -> inserted";
        if (step.counts == RowCount::deleted) out += "  -> deleted";
        switch (step.check) {
            case Check::none: break;
            case Check::row_written: out += "  ? one row"; break;
            case Check::partition_held: out += "  ? one row, else fenced (partition)"; break;
            case Check::identity_held: out += "  ? one row, else fenced"; break;
            case Check::all_rows: out += "  ? " + std::to_string(step.count) + " rows"; break;
        }
        if (step.ddl()) out += "  (ddl)";
        out += '\n';
    }
    return out;
}

}  // namespace redsink::detail
