#pragma once

// A C++ value as a text parameter: column_traits<T> of either form (docs/types.md), the built-in
// ones, and COPY's text format.
#include <redsink/bad_value.hpp>
#include <redsink/builtin_columns.hpp>
#include <redsink/copy_field.hpp>
#include <redsink/param_buffer.hpp>
#include <redsink/types.hpp>

#include <concepts>
#include <optional>

namespace redsink {

// ---- What redsink reads from column_traits ----------------------------------------------------

namespace detail {
template <class T>
concept complete_traits = requires(const T& value, ParamBuffer& out, const ColumnContext& column) {
    { column_traits<T>::type } -> std::convertible_to<ColumnType>;
    column_traits<T>::encode(value, out, column);
};
template <class T>
concept stored_as_traits = requires(const T& value) {
    typename column_traits<T>::stored_as;
    { column_traits<T>::to_column(value) } -> std::convertible_to<typename column_traits<T>::stored_as>;
};
}  // namespace detail

// A C++ type as a column, whichever form its column_traits takes: `type` and `encode`. Empty for
// a type that is no column.
template <class T>
struct column_of {};

template <class T>
requires detail::complete_traits<T>
struct column_of<T> {
    static constexpr ColumnType type = column_traits<T>::type;
    static void encode(const T& value, ParamBuffer& out, const ColumnContext& column) {
        column_traits<T>::encode(value, out, column);
    }
};

template <class T>
requires(detail::stored_as_traits<T> && !detail::complete_traits<T>) struct column_of<T> {
    using stored = typename column_traits<T>::stored_as;
    static constexpr ColumnType type = column_of<stored>::type;
    static void encode(const T& value, ParamBuffer& out, const ColumnContext& column) {
        column_of<stored>::encode(static_cast<const stored&>(column_traits<T>::to_column(value)), out, column);
    }
};

// A type that can be a record member: it has a column_traits specialization of either form.
template <class T>
concept Column = requires(const T& value, ParamBuffer& out, const ColumnContext& context) {
    { column_of<T>::type } -> std::convertible_to<ColumnType>;
    column_of<T>::encode(value, out, context);
};

// Any column type nullable: NULL when empty.
template <Column T>
struct column_traits<std::optional<T>> {
    static constexpr ColumnType type = [] {
        auto nullable = column_of<T>::type;
        nullable.nullable = true;
        return nullable;
    }();
    static void encode(const std::optional<T>& value, ParamBuffer& out, const ColumnContext& column) {
        if (value)
            column_of<T>::encode(*value, out, column);
        else
            out.push_null();
    }
};

// Appends `value`'s text parameter to `out`; a bad value is a BadValue naming the column.
template <Column T>
void encode_value(const T& value, ParamBuffer& out, const ColumnContext& column) {
    column_of<T>::encode(value, out, column);
}

}  // namespace redsink
