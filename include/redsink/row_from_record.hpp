#pragma once

// A reflected struct as a Row: its RowSchema (the columns, types and key reflection gives it) and
// each of its rows as a Row of that schema. For a program that has both kinds of record, and to
// compare the two paths on one stream (tests, benchmarks).
#include <redsink/record.hpp>
#include <redsink/row.hpp>
#include <redsink/row_schema.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace redsink {

namespace detail {

template <class T>
[[nodiscard]] Value value_of(const T& member) {
    if constexpr (requires {
                      member.has_value();
                      *member;
                  }) {
        return member.has_value() ? value_of(*member) : Value{};
    } else if constexpr (requires {
                             T::precision;
                             T::scale;
                             member.units;
                         }) {
        return decimal_value::from(member);
    } else if constexpr (std::is_constructible_v<Value, T> && !std::is_same_v<T, const char*>) {
        return Value{member};
    } else if constexpr (requires {
                             { member.value } -> std::convertible_to<std::string>;
                         }) {
        return Value{std::string(member.value)};  // varchar<N>
    } else {
        return Value{value_of(static_cast<const typename column_traits<T>::stored_as&>(
            column_traits<T>::to_column(member)))};  // a type stored as another
    }
}

}  // namespace detail

// The RowSchema of record R with key Key (primary_key<...>, or void): its members' names as
// written, their column types, the key's members marked.
template <class R, class Key = void>
[[nodiscard]] std::shared_ptr<const RowSchema> row_schema_of() {
    using info = record_info<R>;
    std::vector<RowColumn> columns;
    columns.reserve(info::size);
    for (std::size_t i = 0; i < info::size; ++i)
        columns.push_back({std::string(info::member_names[i]), info::column_types[i], key_info<R, Key>::is_key(i)});
    return std::make_shared<const RowSchema>(std::move(columns));
}

// `record` as a Row of `schema` (made by row_schema_of<R, ...>).
template <class R>
[[nodiscard]] Row row_of(const R& record, const std::shared_ptr<const RowSchema>& schema) {
    Row row(schema);
    record_info<R>::for_each(record, [&](auto index, const auto& member) { row[index] = detail::value_of(member); });
    return row;
}

}  // namespace redsink
