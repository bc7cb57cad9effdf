#pragma once

#include <redsink/policies/category.hpp>
#include <redsink/policies/plan.hpp>

#include <concepts>

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
// On Redshift, which never enforces keys, this is the delete-then-insert through the stage.
struct upsert {
    using category = policy::insert_mode;
    static constexpr Reduction reduction = Reduction::last_per_key;
    static constexpr bool requires_key = true;
    static void plan(ApplyPlan& plan) {
        // One statement instead of two where PostgreSQL enforces the key.
        if (plan.dialect() == Dialect::postgres && plan.key_enforced()) {
            plan.on_inserts(plan.upsert_staged());
            return;
        }
        plan.on_inserts(plan.delete_staged(sql::Staged::inserts));
        plan.on_inserts(plan.insert_staged());
    }
};

}  // namespace redsink
