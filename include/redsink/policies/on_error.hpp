#pragma once

#include <redsink/detail/fixed_string.hpp>
#include <redsink/policies/category.hpp>

#include <concepts>
#include <string_view>

namespace redsink {

// An error policy says what happens to an event that cannot be written: a value the client
// refuses to encode, or a row the server refuses (a data exception or a constraint).
template <class P>
concept ErrorPolicy = std::same_as<typename P::category, policy::on_error> && requires {
    { P::dead_letters } -> std::convertible_to<bool>;
    { P::table } -> std::convertible_to<std::string_view>;
};

// The default: the sink stops at the event, after writing what was handed over before it; the
// error names the table, the column where known, and the event's position. Nothing from the
// event's batch on is acknowledged.
struct stop_on_error {
    using category = policy::on_error;
    static constexpr bool dead_letters = false;
    static constexpr std::string_view table{};
};

// Every event that cannot be written goes to a dead-letter table in the target's schema, in the
// same transaction as its batch's good rows, with its position, the column, the reason and its
// values as text; the sink goes on. The target ends as if the event had never been sent. The
// table is shared by every sink that names it (its target_table column tells them apart) and is
// created when missing. See docs/dead-letters.md.
template <detail::fixed_string Table = "redsink_dead_letters">
struct dead_letter {
    using category = policy::on_error;
    static constexpr bool dead_letters = true;
    static constexpr std::string_view table = Table.view();
};

}  // namespace redsink
