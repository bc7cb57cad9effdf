#pragma once

#include <redsink/dialect.hpp>
#include <redsink/policies/category.hpp>

#include <concepts>

namespace redsink {

template <class P>
concept DialectPolicy = std::same_as<typename P::category, policy::dialect> && requires {
    { P::value } -> std::convertible_to<Dialect>;
};

// SQL that Redshift accepts (and PostgreSQL too): staging, DELETE USING, multi-row INSERT.
struct redshift {
    using category = policy::dialect;
    static constexpr Dialect value = Dialect::redshift;
};

// PostgreSQL's faster forms where they help: COPY FROM STDIN.
struct postgres {
    using category = policy::dialect;
    static constexpr Dialect value = Dialect::postgres;
};

}  // namespace redsink
