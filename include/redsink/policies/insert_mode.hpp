#pragma once

#include <redsink/detail/fixed_string.hpp>
#include <redsink/policies/category.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>

#include <concepts>
#include <string>
#include <string_view>

namespace redsink {

// An insert mode says how a batch is reduced and which statements insert its rows.
template <class P>
concept InsertMode = std::same_as<typename P::category, policy::insert_mode> && requires(ApplyPlan& plan) {
    { P::reduction } -> std::convertible_to<Reduction>;
    { P::requires_key } -> std::convertible_to<bool>;
    P::plan(plan);
};

// Every create, update and snapshot read becomes a new row (after the key's last delete in the
// batch, when deletes apply). A replayed event is inserted again: see docs/delivery.md.
struct append {
    using category = policy::insert_mode;
    static constexpr Reduction reduction = Reduction::inserts_after_last_delete;
    static constexpr bool requires_key = false;
    static void plan(ApplyPlan& plan) { plan.on_inserts(plan.insert_staged()); }
};

// One row per key: the batch's last event per key replaces the row. Replays are idempotent.
// On Redshift, which never enforces keys, this is the delete-then-insert through the stage, or,
// with UpsertStatement::merge, one MERGE (in both dialects).
struct upsert {
    using category = policy::insert_mode;
    static constexpr Reduction reduction = Reduction::last_per_key;
    static constexpr bool requires_key = true;
    static void plan(ApplyPlan& plan) {
        if (plan.upsert_statement() == UpsertStatement::merge) {
            // The delete mode's statements apply the staged deletes first; then they leave the
            // stage, which the MERGE reads whole. Both run only for a batch with deletes.
            plan.on_deletes(ApplyPlan::drop_staged_deletes());
            plan.on_inserts(plan.merge_staged());
            return;
        }
        // One statement instead of two where PostgreSQL enforces the key.
        if (plan.dialect() == Dialect::postgres && plan.key_enforced()) {
            plan.on_inserts(plan.upsert_staged());
            return;
        }
        plan.on_inserts(plan.delete_staged(sql::Staged::inserts));
        plan.on_inserts(plan.insert_staged());
    }
};

namespace detail {

// newest_wins's table of the sink's own, "redsink_tombstones_<table>" beside the target: per key
// deleted by a delete newer than every insert of it, the key and the delete's order value.
[[nodiscard]] inline sql::TableRef tombstones_table(const sql::TableRef& target) {
    return sql::own_table(target, "redsink_tombstones_");
}

// Its layout: the target's key columns, then `order` (the order column), with their types.
[[nodiscard]] inline sql::TableSpec tombstones_table_spec(const sql::TableSpec& target, std::string_view order) {
    sql::TableSpec spec;
    spec.name = tombstones_table(target.name);
    spec.dialect = target.dialect;
    spec.unique_key = true;
    for (const auto index : target.key_indexes()) spec.columns.push_back(target.columns[index]);
    const auto* column = target.find(order);
    if (column == nullptr)
        throw Error(ErrorKind::schema, {},
                    "newest_wins<\"" + std::string(order) + "\">: table " + target.name.display() +
                        " has no column \"" + std::string(order) + "\" to order events by");
    spec.columns.push_back(*column);
    spec.columns.back().key = false;
    spec.columns.back().type.nullable = false;
    return spec;
}

// newest_wins's statements (docs/policies.md#newest_wins). S is the stage, T the target, B the
// tombstones, v the order column; a staged value is stale when T's or B's v for its key is higher.
inline void plan_newest_wins(ApplyPlan& plan, std::string_view member) {
    const auto order = sql::normalize_identifier(member, "newest_wins column");
    const auto tombstones = tombstones_table_spec(plan.record_table(), order);
    const auto stage = plan.stage();
    const auto target = plan.target();
    const auto graves = tombstones.name.quoted();
    const auto v = sql::quote_identifier(order);
    const auto op = stage + "." + sql::quote_identifier(sql::op_column);
    const auto is = [&](char which) { return op + " = '" + std::string(1, which) + "'"; };
    const auto deletes = is(sql::op_delete);
    const auto inserts = plan.staged(sql::Staged::inserts);
    const auto match = [&](const std::string& table) {
        return sql::detail::key_match(plan.record_table(), table, stage);
    };
    const auto newer = [&](const std::string& table) { return table + "." + v + " > " + stage + "." + v; };
    // DELETE FROM S USING `table` WHERE key matches AND `which` AND table.v > S.v
    const auto drop_stale = [&](const std::string& table, const std::string& which) {
        return "DELETE FROM " + stage + " USING " + table + " WHERE " + match(table) + " AND " + which + " AND " +
               newer(table);
    };
    if (plan.applies_deletes()) {
        plan.add_own_table(tombstones, "the tombstones of the newest_wins sink for " + plan.table().name.display() +
                                           " (docs/policies.md#newest_wins)");
        // Deletes: drop the stale ones, remember the others, then the delete mode applies them.
        plan.before_deletes({drop_stale(graves, deletes), RowCount::none});
        plan.before_deletes({drop_stale(target, deletes), RowCount::none});
        plan.before_deletes(
            {"DELETE FROM " + graves + " USING " + stage + " WHERE " + match(graves) + " AND " + deletes,
             RowCount::none});
        std::string keys;
        for (const auto& column : tombstones.columns)
            keys += (keys.empty() ? "" : ", ") + sql::quote_identifier(column.name);
        plan.before_deletes(
            {"INSERT INTO " + graves + " (" + keys + ") SELECT " + keys + " FROM " + stage + " WHERE " + deletes,
             RowCount::none});
    }
    // Inserts: drop those older than the table's row...
    plan.on_inserts({drop_stale(target, inserts), RowCount::none});
    if (plan.applies_deletes()) {
        // ...and those older than the key's tombstone: dropped, or kept as deleted rows.
        if (plan.keeps_rows())
            plan.on_inserts({"UPDATE " + stage + " SET " + sql::quote_identifier(sql::op_column) + " = '" +
                                 std::string(1, sql::op_deleted_insert) + "' FROM " + graves + " WHERE " +
                                 match(graves) + " AND " + is(sql::op_insert) + " AND " + newer(graves),
                             RowCount::none});
        else
            plan.on_inserts({drop_stale(graves, inserts), RowCount::none});
        // A tombstone older than a live insert is done with.
        plan.on_inserts(
            {"DELETE FROM " + graves + " USING " + stage + " WHERE " + match(graves) + " AND " + is(sql::op_insert),
             RowCount::none});
    }
    // ...then replace rows as upsert does.
    if (plan.dialect() == Dialect::postgres && plan.key_enforced()) {
        plan.on_inserts(plan.upsert_staged());
        return;
    }
    plan.on_inserts(plan.delete_staged(sql::Staged::inserts));
    plan.on_inserts(plan.insert_staged());
}

}  // namespace detail

// One row per key, like upsert, that never goes back: events are ordered by the member `Column`
// (a version, a source LSN, a timestamp: an integer, date or timestamp member, not optional), and
// an event older than what the table holds for its key is dropped, deletes included. A tie goes to
// the event written later. A delete event must carry `Column` besides the key. With hard_delete or
// soft_delete, a delete newer than every insert of its key is remembered in the table
// "redsink_tombstones_<table>" (key and order value) until a newer insert of the key arrives, so a
// late insert cannot bring the row back. docs/policies.md#newest_wins.
template <detail::fixed_string Column>
struct newest_wins {
    using category = policy::insert_mode;
    static constexpr Reduction reduction = Reduction::newest_per_key;
    static constexpr bool requires_key = true;
    static constexpr detail::fixed_string order_member = Column;
    static void plan(ApplyPlan& plan) { detail::plan_newest_wins(plan, Column.view()); }
};

}  // namespace redsink
