#pragma once

#include <redsink/policies.hpp>
#include <redsink/record.hpp>

#include <cstddef>
#include <type_traits>

namespace redsink::detail {

template <class P>
concept has_category = requires {
    typename P::category;
};

template <class P, class Category>
constexpr bool in_category = [] {
    if constexpr (has_category<P>)
        return std::is_same_v<typename P::category, Category>;
    else
        return false;
}();

template <class Category, class... Policies>
constexpr std::size_t count_in = (std::size_t{in_category<Policies, Category>} + ... + std::size_t{0});

// The policy of a category among Policies, or Default when there is none.
template <class Category, class Default, class... Policies>
struct pick {
    using type = Default;
};
template <class Category, class Default, class First, class... Rest>
struct pick<Category, Default, First, Rest...> {
    using type =
        std::conditional_t<in_category<First, Category>, First, typename pick<Category, Default, Rest...>::type>;
};

template <class P>
constexpr bool is_policy =
    in_category<P, policy::key> || in_category<P, policy::insert_mode> || in_category<P, policy::delete_mode> ||
    in_category<P, policy::schema> || in_category<P, policy::delivery> || in_category<P, policy::dialect> ||
    in_category<P, policy::on_error>;

// Names the type that is not a policy in the diagnostic (check_policy<T>).
template <class P>
struct check_policy {
    static_assert(is_policy<P>,
                  "redsink: a Sink policy argument is not a policy (the type is shown in check_policy<...>). Sink "
                  "policies are: primary_key<\"col\", ...>; append | upsert; ignore_deletes | hard_delete | "
                  "soft_delete<\"col\">; fixed_schema | create_table | evolve_schema; at_least_once; redshift | "
                  "postgres; stop_on_error | dead_letter<\"table\">; or your own type declaring `using category = "
                  "redsink::policy::<category>;`");
    static constexpr bool ok = true;
};

// Policies folded over the defaults: append, ignore_deletes, fixed_schema, at_least_once, redshift,
// stop_on_error.
template <class Record, class... Policies>
struct policy_pack {
    static_assert((check_policy<Policies>::ok && ...));
    static_assert(count_in<policy::key, Policies...> <= 1,
                  "redsink: two primary_key<...> policies were given; name every key column in one");
    static_assert(count_in<policy::insert_mode, Policies...> <= 1,
                  "redsink: two insert-mode policies were given; keep one of append and upsert");
    static_assert(count_in<policy::delete_mode, Policies...> <= 1,
                  "redsink: two delete-mode policies were given; keep one of ignore_deletes, hard_delete and "
                  "soft_delete<\"col\">");
    static_assert(count_in<policy::schema, Policies...> <= 1,
                  "redsink: two schema policies were given; keep one of fixed_schema, create_table and evolve_schema");
    static_assert(count_in<policy::delivery, Policies...> <= 1, "redsink: two delivery policies were given; keep one");
    static_assert(count_in<policy::dialect, Policies...> <= 1,
                  "redsink: two dialect policies were given; keep one of redshift and postgres");
    static_assert(count_in<policy::on_error, Policies...> <= 1,
                  "redsink: two error policies were given; keep one of stop_on_error and dead_letter<...>");

    using key = typename pick<policy::key, void, Policies...>::type;
    using insert_mode = typename pick<policy::insert_mode, append, Policies...>::type;
    using delete_mode = typename pick<policy::delete_mode, ignore_deletes, Policies...>::type;
    using schema = typename pick<policy::schema, fixed_schema, Policies...>::type;
    using delivery = typename pick<policy::delivery, at_least_once, Policies...>::type;
    using dialect = typename pick<policy::dialect, redshift, Policies...>::type;
    using on_error = typename pick<policy::on_error, stop_on_error, Policies...>::type;

    static_assert(InsertMode<insert_mode>,
                  "redsink: the insert-mode policy does not model redsink::InsertMode: it needs static constexpr "
                  "reduction and requires_key, and static void plan(redsink::ApplyPlan&)");
    static_assert(DeleteMode<delete_mode>,
                  "redsink: the delete-mode policy does not model redsink::DeleteMode: it needs static constexpr "
                  "applies_deletes and static void plan(redsink::ApplyPlan&)");
    static_assert(SchemaMode<schema>,
                  "redsink: the schema policy does not model redsink::SchemaMode: it needs static constexpr "
                  "creates_table and adds_columns");
    static_assert(Delivery<delivery>, "redsink: the delivery policy does not model redsink::Delivery");
    static_assert(DialectPolicy<dialect>, "redsink: the dialect policy does not model redsink::DialectPolicy");
    static_assert(ErrorPolicy<on_error>, "redsink: the error policy does not model redsink::ErrorPolicy");

    static constexpr bool has_key = !std::is_void_v<key>;
    // Matching a row to its update or delete needs the key.
    static_assert(has_key || !insert_mode::requires_key,
                  "redsink: upsert needs the record's key to find the row it replaces: add "
                  "redsink::primary_key<\"column\", ...> to the Sink's policies, or use append");
    static_assert(has_key || !delete_mode::applies_deletes,
                  "redsink: hard_delete and soft_delete need the record's key to find the rows to delete: add "
                  "redsink::primary_key<\"column\", ...> to the Sink's policies, or use ignore_deletes");
    static_assert(delivery::acknowledges_after_commit,
                  "redsink: only delivery policies that acknowledge after commit are supported");

    static constexpr Dialect dialect_value = dialect::value;
};

}  // namespace redsink::detail
