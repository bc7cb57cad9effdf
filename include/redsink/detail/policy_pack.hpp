#pragma once

#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/policies.hpp>
#include <redsink/record.hpp>
#include <redsink/row_schema.hpp>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

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
                  "policies are: primary_key<\"col\", ...>; append | upsert | newest_wins<\"col\">; ignore_deletes | "
                  "hard_delete | "
                  "soft_delete<\"col\">; fixed_schema | create_table | evolve_schema; at_least_once; redshift | "
                  "postgres; stop_on_error | dead_letter<\"table\">; or your own type declaring `using category = "
                  "redsink::policy::<category>;`");
    static constexpr bool ok = true;
};

template <fixed_string Order, fixed_string... Members>
struct check_order_column {
    static_assert(((Order == Members) || ...),
                  "redsink: newest_wins<...> names a column that is not a member of the record; the column and then "
                  "the record's members are shown in check_order_column<column, members...>");
    static constexpr bool ok = true;
};

template <fixed_string Order, class T>
struct check_order_type {
    static constexpr auto kind = column_of<T>::type.kind;
    static_assert(kind == SqlKind::int16 || kind == SqlKind::int32 || kind == SqlKind::int64 || kind == SqlKind::date ||
                      kind == SqlKind::timestamp || kind == SqlKind::timestamptz,
                  "redsink: newest_wins<...> orders events by an integer, date or timestamp member; the member and "
                  "its type are shown in check_order_type<...>");
    static_assert(!column_of<T>::type.nullable,
                  "redsink: newest_wins<...> needs an order member that every event carries: it cannot be "
                  "std::optional; the member is shown in check_order_type<...>");
    static constexpr bool ok = true;
};

// The insert mode's order column (newest_wins): its index among the record's members and how its
// values compare; none for the other modes.
template <class R, class Key, class Mode>
struct order_column_of {
    static constexpr std::size_t index = no_order_column;
    static constexpr bool numeric = false;
};

template <class R, class Key, class Mode>
requires(!runtime_record<R> && requires { Mode::order_member; }) struct order_column_of<R, Key, Mode> {
private:
    using info = record_info<R>;
    template <std::size_t... I>
    static constexpr bool named(std::index_sequence<I...>) noexcept {
        return check_order_column<Mode::order_member, member_name<R, I>...>::ok;
    }
    static_assert(named(std::make_index_sequence<info::size>{}));
    static constexpr std::size_t find() noexcept {
        for (std::size_t i = 0; i < info::size; ++i)
            if (info::member_names[i] == Mode::order_member.view()) return i;
        return 0;
    }

public:
    static constexpr std::size_t index = find();
    static_assert(check_order_type<Mode::order_member, member_type<R, index>>::ok);
    static_assert(!key_info<R, Key>::is_key(index),
                  "redsink: newest_wins<...> names a key member; order events by a member outside the key");
    static constexpr bool numeric = info::column_types[index].kind != SqlKind::date &&
                                    info::column_types[index].kind != SqlKind::timestamp &&
                                    info::column_types[index].kind != SqlKind::timestamptz;
};

// A Row's order column is found in its schema when the sink starts (order_column_at_start).
template <class Key, class Mode>
struct order_column_of<Row, Key, Mode> {
    static constexpr std::size_t index = no_order_column;
    static constexpr bool numeric = false;
};

// newest_wins's order column in a Row's schema, with the checks order_column_of makes at compile
// time for a struct, as errors naming the table and the column.
template <class Mode>
[[nodiscard]] OrderColumn order_column_at_start(const RowSchema& schema, const std::string& table) {
    if constexpr (!requires { Mode::order_member; }) {
        return {};
    } else {
        const auto name = Mode::order_member.view();
        const auto fail = [&](const std::string& why) {
            throw Error(ErrorKind::schema, {},
                        "newest_wins<\"" + std::string(name) + "\"> for table " + table + ": " + why);
        };
        const auto index = schema.find(name);
        if (!index) fail("the row schema has no such column");
        const auto& type = schema.column(*index).type;
        const auto kind = type.kind;
        if (kind != SqlKind::int16 && kind != SqlKind::int32 && kind != SqlKind::int64 && kind != SqlKind::date &&
            kind != SqlKind::timestamp && kind != SqlKind::timestamptz)
            fail("the column is " + sql_type_name(type, Dialect::postgres) +
                 "; events are ordered by an integer, date or timestamp column");
        if (type.nullable) fail("the column is nullable; the order column must be one every event carries");
        if (schema.is_key(*index)) fail("the column is part of the key; order events by a column outside the key");
        return {*index, kind != SqlKind::date && kind != SqlKind::timestamp && kind != SqlKind::timestamptz};
    }
}

// Policies folded over the defaults: append, ignore_deletes, fixed_schema, at_least_once, redshift,
// stop_on_error.
template <class Record, class... Policies>
struct policy_pack {
    static_assert((check_policy<Policies>::ok && ...));
    static_assert(count_in<policy::key, Policies...> <= 1,
                  "redsink: two primary_key<...> policies were given; name every key column in one");
    static_assert(count_in<policy::insert_mode, Policies...> <= 1,
                  "redsink: two insert-mode policies were given; keep one of append, upsert and newest_wins<\"col\">");
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

    // A Row's key is its schema's: checked when the sink starts (SinkStart::check_row_key).
    static constexpr bool runtime = runtime_record<Record>;
    static_assert(!runtime || std::is_void_v<key>,
                  "redsink: a Row's key columns are those its RowSchema marks (RowColumn::key); "
                  "primary_key<...> is for reflected structs");
    static constexpr bool has_key = !std::is_void_v<key> || runtime;
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
    // newest_wins: the order column (checked against the record).
    using order = order_column_of<Record, key, insert_mode>;
    static_assert(sizeof(order) > 0);  // its checks run with the pack's
    static_assert(
        insert_mode::reduction != Reduction::newest_per_key || requires { insert_mode::order_member; },
        "redsink: an insert mode with Reduction::newest_per_key needs static constexpr order_member, the "
        "member that orders events (as newest_wins<\"col\"> has)");
};

}  // namespace redsink::detail
