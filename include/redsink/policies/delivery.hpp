#pragma once

#include <redsink/policies/category.hpp>

#include <concepts>

namespace redsink {

// A delivery policy says when positions are acknowledged.
template <class P>
concept Delivery = std::same_as<typename P::category, policy::delivery> && requires {
    { P::acknowledges_after_commit } -> std::convertible_to<bool>;
};

// A position is acknowledged only after the transaction holding its event committed; after a
// failure the batch is written again (idempotent in upsert mode). See docs/delivery.md.
struct at_least_once {
    using category = policy::delivery;
    static constexpr bool acknowledges_after_commit = true;
};

}  // namespace redsink
