#pragma once

#include <redsink/detail/json_syntax.hpp>
#include <redsink/detail/value_text.hpp>
#include <redsink/dialect.hpp>
#include <redsink/param_buffer.hpp>
#include <redsink/types.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace redsink {

// The built-in column types: one column_traits specialization each.

template <>
struct column_traits<bool> {
    static constexpr ColumnType type{SqlKind::boolean};
    static void encode(bool value, ParamBuffer& out, const ColumnContext&) { out.push(value ? "t" : "f"); }
};

namespace detail {
template <class I, SqlKind Kind>
struct integer_column {
    static constexpr ColumnType type{Kind};
    static void encode(I value, ParamBuffer& out, const ColumnContext&) { encode_number(value, out); }
};
template <class F, SqlKind Kind>
struct float_column {
    static constexpr ColumnType type{Kind};
    static void encode(F value, ParamBuffer& out, const ColumnContext& column) { encode_float(value, out, column); }
};
}  // namespace detail

template <>
struct column_traits<std::int16_t> : detail::integer_column<std::int16_t, SqlKind::int16> {};
template <>
struct column_traits<std::int32_t> : detail::integer_column<std::int32_t, SqlKind::int32> {};
template <>
struct column_traits<std::int64_t> : detail::integer_column<std::int64_t, SqlKind::int64> {};
template <>
struct column_traits<float> : detail::float_column<float, SqlKind::real> {};
template <>
struct column_traits<double> : detail::float_column<double, SqlKind::double_precision> {};

template <>
struct column_traits<std::string> {
    static constexpr ColumnType type{SqlKind::text};
    static void encode(const std::string& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_text(value, out, column);
    }
};

template <std::size_t N>
struct column_traits<varchar<N>> {
    static constexpr ColumnType type{SqlKind::varchar, static_cast<std::uint32_t>(N)};
    static void encode(const varchar<N>& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_text(value.value, out, column);
    }
};

namespace detail {
// A decimal of `units` 10^-scale units as DECIMAL(precision, scale)'s text, refused when it has
// more than `precision` digits. The one decimal encoder: decimal<P, S> and decimal_value (row.hpp)
// both write through it.
inline void encode_decimal(int128 units, int precision, int scale, ParamBuffer& out, const ColumnContext& column) {
    const bool negative = units < 0;
    auto magnitude = static_cast<uint128>(negative ? -units : units);
    static constexpr auto powers = [] {
        std::array<uint128, 39> table{};
        table[0] = 1;
        for (std::size_t i = 1; i < table.size(); ++i) table[i] = table[i - 1] * 10;
        return table;
    }();
    if (precision < 1 || precision > 38 || magnitude >= powers[static_cast<std::size_t>(precision)])
        refuse(column, "does not fit in DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")");
    std::array<char, 48> digits{};
    int count = 0;
    // 128-bit division is slow: most values fit in 64 bits.
    const auto next = [&](auto& rest) {
        digits[static_cast<std::size_t>(count++)] = static_cast<char>('0' + static_cast<int>(rest % 10));
        rest /= 10;
    };
    while (magnitude > UINT64_MAX) next(magnitude);
    auto small = static_cast<std::uint64_t>(magnitude);
    do next(small);
    while (small != 0 || count <= scale);
    char* p = out.prepare(48);
    if (negative) *p++ = '-';
    for (int i = count - 1; i >= 0; --i) {
        *p++ = digits[static_cast<std::size_t>(i)];
        if (i == scale && scale > 0) *p++ = '.';
    }
    out.commit(p);
}
}  // namespace detail

template <int P, int S>
struct column_traits<decimal<P, S>> {
    static constexpr ColumnType type{SqlKind::decimal, 0, static_cast<std::uint8_t>(P), static_cast<std::uint8_t>(S)};
    static void encode(const decimal<P, S>& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_decimal(value.units, P, S, out, column);
    }
};

template <>
struct column_traits<std::chrono::year_month_day> {
    static constexpr ColumnType type{SqlKind::date};
    static void encode(const std::chrono::year_month_day& value, ParamBuffer& out, const ColumnContext& column) {
        char* p = out.prepare(16);
        out.commit(detail::put_date(p, value, column));
    }
};

template <>
struct column_traits<timestamp> {
    static constexpr ColumnType type{SqlKind::timestamp};
    static void encode(const timestamp& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_time(value.value, false, out, column);
    }
};

template <>
struct column_traits<timestamptz> {
    static constexpr ColumnType type{SqlKind::timestamptz};
    static void encode(const timestamptz& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_time(value.value, true, out, column);
    }
};

template <>
struct column_traits<json> {
    static constexpr ColumnType type{SqlKind::json};
    static void encode(const json& value, ParamBuffer& out, const ColumnContext& column) {
        detail::checked_characters(value.text, column);
        const bool redshift = column.dialect == Dialect::redshift;
        if (redshift && value.text.size() > detail::redshift_max_super)
            detail::refuse(column, "is a JSON document of " + std::to_string(value.text.size()) +
                                       " bytes, larger than Redshift's 16 MB SUPER limit");
        detail::JsonSyntax syntax(value.text, redshift);
        if (auto problem = syntax.check(); !problem.empty()) detail::refuse(column, "is not valid JSON: " + problem);
        if (redshift && column.super_string_limit != 0 && syntax.longest_string() > column.super_string_limit)
            detail::refuse(column, "is a JSON document holding a string of " + std::to_string(syntax.longest_string()) +
                                       " bytes, more than the " + std::to_string(column.super_string_limit) +
                                       " Redshift's SUPER takes in one string (SinkOptions::super_string_limit)");
        out.push(value.text);
    }
};

}  // namespace redsink
