#pragma once

// A custom insert-mode policy: an upsert that never replaces a row with an older version of
// it. A late or replayed event whose "version" is lower than the row's in the table is dropped,
// so the table only moves forward. Within a batch the last event per key wins, as with upsert.
//
// It shows a custom policy's shape. The built-in redsink::newest_wins<"version"> is the complete
// guard: it also orders events within a batch and keeps stale deletes from removing newer rows
// (docs/policies.md#newest_wins).
#include <redsink/policies.hpp>
#include <redsink/sql/identifiers.hpp>

#include <string>

namespace example {

struct newer_version_wins {
    using category = redsink::policy::insert_mode;
    static constexpr redsink::Reduction reduction = redsink::Reduction::last_per_key;
    static constexpr bool requires_key = true;

    static void plan(redsink::ApplyPlan& plan) {
        const auto version = redsink::sql::quote_identifier("version");
        // Drop the staged rows that the table already holds a newer version of...
        plan.on_inserts("DELETE FROM " + plan.stage() + " USING " + plan.target() + " WHERE " + plan.key_match() +
                        " AND " + plan.staged(redsink::sql::Staged::inserts) + " AND " + plan.target() + "." + version +
                        " > " + plan.stage() + "." + version);
        // ...then replace rows as upsert does.
        plan.on_inserts(plan.delete_staged(redsink::sql::Staged::inserts));
        plan.on_inserts(plan.insert_staged());
    }
};

}  // namespace example
