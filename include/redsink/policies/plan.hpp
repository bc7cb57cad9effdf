#pragma once

#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink {

// How a batch is reduced before it is staged.
enum class Reduction {
    last_per_key,               // one row per key: the last event wins (upsert)
    inserts_after_last_delete,  // every insert after the key's last delete (append)
    newest_per_key,             // per key, the newest insert and the newest delete by an order column
                                // (newest_wins): see detail::reduce
};

// The statements upsert applies its staged rows with (SinkOptions::upsert_statement): DELETE ...
// USING the stage, then INSERT ... SELECT (PostgreSQL: INSERT ... ON CONFLICT where the key is
// enforced), or one MERGE, in both dialects (docs/policies.md#upsert).
enum class UpsertStatement {
    delete_insert,
    merge,
};

// What a statement's affected rows count as in the sink's statistics.
enum class RowCount {
    none,      // nothing the user sees as a change (rows replaced by an upsert, rows of the stage)
    inserted,  // rows inserted into the target
    deleted,   // rows deleted from the target (or flagged, with soft_delete)
};

// Which statement a PlanStatement is, where the sink needs to know (never read from its text).
enum class StatementKind {
    custom,
    insert_staged,  // ApplyPlan::insert_staged(): copies the staged inserts into the target, nothing more
    merge_staged,   // ApplyPlan::merge_staged(): updates and inserts the target from the stage
};

// One statement of an ApplyPlan, with what its affected rows mean.
struct PlanStatement {
    std::string sql;
    RowCount counts = RowCount::none;
    StatementKind kind = StatementKind::custom;
};

// The statements that apply a staged batch to its target, built once per sink by the insert
// and delete mode policies. When they run, the session's stage table ("redsink_stage") holds
// the batch after reduction: rows with op 'i' to insert, keys with op 'd' to delete, and, for
// a delete mode that keeps rows, rows with op 'x' to insert that the batch deleted afterwards.
// Delete statements run first (they see only rows of earlier batches), then insert statements;
// each list runs only when the batch has rows of its kind. The transaction around them is
// planned by detail::plan_transaction (docs/architecture.md).
class ApplyPlan {
public:
    // `key_enforced`: the target has a primary key on exactly the record's key columns.
    explicit ApplyPlan(sql::TableSpec table, bool key_enforced = false)
        : table_(std::move(table)), key_enforced_(key_enforced) {}

    // What the sink's delete mode does, for an insert mode whose statements depend on it (the
    // sink sets it before the policies plan; a plan built without it has deletes ignored).
    void set_delete_mode(bool applies_deletes, bool keeps_rows) noexcept {
        applies_deletes_ = applies_deletes;
        keeps_rows_ = keeps_rows;
    }
    [[nodiscard]] bool applies_deletes() const noexcept { return applies_deletes_; }
    // Which statements upsert plans (SinkOptions::upsert_statement; set by the sink before the
    // policies plan).
    void set_upsert_statement(UpsertStatement statement) noexcept { upsert_statement_ = statement; }
    [[nodiscard]] UpsertStatement upsert_statement() const noexcept { return upsert_statement_; }
    [[nodiscard]] bool keeps_rows() const noexcept { return keeps_rows_; }

    [[nodiscard]] const sql::TableSpec& table() const noexcept { return table_; }
    [[nodiscard]] Dialect dialect() const noexcept { return table_.dialect; }
    // PostgreSQL can then resolve conflicts on the key itself (INSERT ... ON CONFLICT).
    [[nodiscard]] bool key_enforced() const noexcept { return key_enforced_; }
    [[nodiscard]] std::string target() const { return table_.name.quoted(); }
    [[nodiscard]] std::string stage() const { return sql::quote_identifier(sql::stage_table); }
    // "target"."k" = "redsink_stage"."k" AND ... for every key column.
    [[nodiscard]] std::string key_match() const { return sql::detail::key_match(table_, target(), stage()); }
    // The condition that selects `which` staged rows: "redsink_stage"."redsink_op" <> 'd', ...
    [[nodiscard]] std::string staged(sql::Staged which) const { return sql::detail::staged_filter(stage(), which); }
    // The condition that a staged insert was deleted later in its batch (see keeps_rows).
    [[nodiscard]] std::string deleted_in_batch() const {
        return stage() + "." + sql::quote_identifier(sql::op_column) + " = '" + sql::op_deleted_insert + "'";
    }
    // "a", "b", ... : the record's columns.
    [[nodiscard]] std::string columns() const { return sql::detail::column_list(record_columns()); }

    // The standard statements, for policies to reuse. Deleting staged deletes counts as deleted
    // rows; deleting the rows that staged inserts replace counts as nothing.
    [[nodiscard]] PlanStatement delete_staged(sql::Staged which) const {
        return {sql::delete_using_stage_sql(record_table(), which),
                which == sql::Staged::deletes ? RowCount::deleted : RowCount::none};
    }
    [[nodiscard]] PlanStatement insert_staged() const {
        return {sql::insert_from_stage_sql(record_table(), managed_), RowCount::inserted,
                managed_.empty() ? StatementKind::insert_staged : StatementKind::custom};
    }
    // PostgreSQL only, with key_enforced(): inserts the staged rows, replacing those with their key.
    [[nodiscard]] PlanStatement upsert_staged() const {
        return {sql::upsert_from_stage_sql(record_table(), managed_), RowCount::inserted};
    }
    // One MERGE of the staged rows into the target (every staged row: after drop_staged_deletes).
    [[nodiscard]] PlanStatement merge_staged() const {
        return {sql::merge_from_stage_sql(record_table(), managed_), RowCount::inserted, StatementKind::merge_staged};
    }
    // Removes the staged deletes from the stage (after the statements that apply them).
    [[nodiscard]] static PlanStatement drop_staged_deletes() { return {sql::delete_staged_deletes_sql()}; }
    [[nodiscard]] PlanStatement update_staged(sql::Staged which,
                                              std::span<const std::pair<std::string, std::string>> sets) const {
        return {sql::update_from_stage_sql(record_table(), which, sets),
                which == sql::Staged::deletes ? RowCount::deleted : RowCount::none};
    }

    void on_deletes(PlanStatement statement) { delete_statements_.push_back(std::move(statement)); }
    // A statement that runs before the delete statements the delete mode added (in the order of
    // these calls): for an insert mode that filters the staged deletes first.
    void before_deletes(PlanStatement statement) {
        delete_statements_.insert(delete_statements_.begin() + static_cast<std::ptrdiff_t>(guards_),
                                  std::move(statement));
        ++guards_;
    }
    void on_deletes(std::string sql, RowCount counts = RowCount::deleted) { on_deletes({std::move(sql), counts}); }
    void on_inserts(PlanStatement statement) { insert_statements_.push_back(std::move(statement)); }
    void on_inserts(std::string sql, RowCount counts = RowCount::none) { on_inserts({std::move(sql), counts}); }

    // A column the sink itself maintains (a soft-delete flag): created with the table or added
    // by evolve_schema, and set to `insert_value` (an SQL expression over the stage's columns)
    // on every inserted row.
    void add_managed_column(sql::ColumnSpec column, std::string insert_value) {
        managed_.emplace_back(column.name, std::move(insert_value));
        table_.columns.push_back(std::move(column));
        ++managed_count_;
    }

    // A table of the sink's own that the statements use (newest_wins's tombstones): the sink
    // creates it when it is missing, or checks the one there, before the first batch; its
    // statements may read it, insert into it and delete from it (the privileges the sink checks
    // for at start). `role` says what it is for, in errors.
    void add_own_table(sql::TableSpec spec, std::string role) {
        own_tables_.emplace_back(std::move(spec), std::move(role));
    }
    [[nodiscard]] const std::vector<std::pair<sql::TableSpec, std::string>>& own_tables() const noexcept {
        return own_tables_;
    }

    [[nodiscard]] const std::vector<PlanStatement>& delete_statements() const noexcept { return delete_statements_; }
    [[nodiscard]] const std::vector<PlanStatement>& insert_statements() const noexcept { return insert_statements_; }
    [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& managed_columns() const noexcept {
        return managed_;
    }

    // The inserts do nothing but copy the staged rows into the target (no managed column, no other
    // statement), so a batch without deletes may go straight into the target, unstaged.
    [[nodiscard]] bool plain_inserts() const {
        return managed_.empty() && insert_statements_.size() == 1 &&
               insert_statements_.front().kind == StatementKind::insert_staged;
    }

    // An insert statement is a MERGE (merge_staged): it updates, and deletes nothing.
    [[nodiscard]] bool merges() const {
        for (const auto& statement : insert_statements_)
            if (statement.kind == StatementKind::merge_staged) return true;
        return false;
    }

    // The table without the managed columns: what the stage holds.
    [[nodiscard]] sql::TableSpec record_table() const {
        sql::TableSpec spec = table_;
        spec.columns.resize(spec.columns.size() - managed_count_);
        return spec;
    }
    [[nodiscard]] std::span<const sql::ColumnSpec> record_columns() const {
        return std::span(table_.columns).first(table_.columns.size() - managed_count_);
    }

private:
    sql::TableSpec table_;
    bool key_enforced_ = false;
    std::vector<std::pair<std::string, std::string>> managed_;
    std::size_t managed_count_ = 0;
    bool applies_deletes_ = false;
    bool keeps_rows_ = false;
    UpsertStatement upsert_statement_ = UpsertStatement::delete_insert;
    std::size_t guards_ = 0;
    std::vector<std::pair<sql::TableSpec, std::string>> own_tables_;
    std::vector<PlanStatement> delete_statements_;
    std::vector<PlanStatement> insert_statements_;
};

}  // namespace redsink
