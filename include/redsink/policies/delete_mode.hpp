#pragma once

#include <redsink/detail/fixed_string.hpp>
#include <redsink/policies/category.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/sql/identifiers.hpp>

#include <array>
#include <concepts>
#include <string>
#include <utility>

namespace redsink {

// A delete mode says what a delete or tombstone event does. One that keeps_rows marks rows
// instead of removing them: an insert that its batch deletes later is still staged (op 'x').
template <class P>
concept DeleteMode = std::same_as<typename P::category, policy::delete_mode> && requires(ApplyPlan& plan) {
    { P::applies_deletes } -> std::convertible_to<bool>;
    { P::keeps_rows } -> std::convertible_to<bool>;
    P::plan(plan);
};

// Delete and tombstone events are dropped (their positions are still acknowledged).
struct ignore_deletes {
    using category = policy::delete_mode;
    static constexpr bool applies_deletes = false;
    static constexpr bool keeps_rows = false;
    static void plan(ApplyPlan&) {}
};

// Delete and tombstone events delete every row with their key.
struct hard_delete {
    using category = policy::delete_mode;
    static constexpr bool applies_deletes = true;
    static constexpr bool keeps_rows = false;
    static void plan(ApplyPlan& plan) { plan.on_deletes(plan.delete_staged(sql::Staged::deletes)); }
};

// Delete and tombstone events set a BOOLEAN column that the sink maintains to TRUE on every row
// of their key, which keeps its last values; inserted rows carry FALSE. The column must not be a
// member of the record.
template <detail::fixed_string Column>
struct soft_delete {
    using category = policy::delete_mode;
    static constexpr bool applies_deletes = true;
    static constexpr bool keeps_rows = true;
    static void plan(ApplyPlan& plan) {
        const auto column = sql::normalize_identifier(Column.view(), "soft_delete column");
        if (plan.table().find(column) != nullptr)
            throw Error(ErrorKind::schema, {},
                        "soft_delete<\"" + column + "\">: the record already has a member named \"" + column +
                            "\"; the flag is a column of the sink's own");
        plan.add_managed_column({column, ColumnType{SqlKind::boolean, 0, 0, 0, true}, false}, plan.deleted_in_batch());
        const std::array<std::pair<std::string, std::string>, 1> flag{{{column, "TRUE"}}};
        plan.on_deletes(plan.update_staged(sql::Staged::deletes, flag));
    }
};

}  // namespace redsink
