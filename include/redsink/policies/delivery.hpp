#pragma once

#include <redsink/policies/category.hpp>

#include <concepts>

namespace redsink {

// A delivery policy says when positions are acknowledged.
template <class P>
concept Delivery = std::same_as<typename P::category, policy::delivery> && requires {
    { P::acknowledges_after_commit } -> std::convertible_to<bool>;
    { P::writes_positions } -> std::convertible_to<bool>;
};

// A position is acknowledged only after the transaction holding its event committed; after a
// failure the batch is written again (idempotent in upsert mode). See docs/delivery.md.
struct at_least_once {
    using category = policy::delivery;
    static constexpr bool acknowledges_after_commit = true;
    static constexpr bool writes_positions = false;
};

// Every batch's transaction also writes the positions its events reached to the sink's positions
// table, so data and positions commit together: the sink skips events at or below what is
// committed (a source that resumes too early writes nothing twice, append mode included),
// resume_positions() says where the source should resume, a newer sink for the same table and
// source fences this one (with SinkOptions::fencing = Fencing::partition, a newer claim of one of
// its partitions), and a lost COMMIT answer is settled by reading the table. Events are
// routed to tasks by partition. Offsets must grow within a partition. See docs/delivery.md.
struct exactly_once {
    using category = policy::delivery;
    static constexpr bool acknowledges_after_commit = true;
    static constexpr bool writes_positions = true;
};

}  // namespace redsink
