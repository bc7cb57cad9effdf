#pragma once

#include <redsink/policies/category.hpp>

#include <concepts>

namespace redsink {

// A schema mode says what the sink may do to the target table when it starts. It never changes
// a column's type, drops a column or changes the key.
template <class P>
concept SchemaMode = std::same_as<typename P::category, policy::schema> && requires {
    { P::creates_table } -> std::convertible_to<bool>;
    { P::adds_columns } -> std::convertible_to<bool>;
};

// The table must exist and match the record; checked at start.
struct fixed_schema {
    using category = policy::schema;
    static constexpr bool creates_table = false;
    static constexpr bool adds_columns = false;
};

// A missing schema and table are created; an existing table must match.
struct create_table {
    using category = policy::schema;
    static constexpr bool creates_table = true;
    static constexpr bool adds_columns = false;
};

// As create_table, and every record member the table lacks is added as a nullable column.
struct evolve_schema {
    using category = policy::schema;
    static constexpr bool creates_table = true;
    static constexpr bool adds_columns = true;
};

}  // namespace redsink
