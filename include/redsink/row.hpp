#pragma once

#include <redsink/encode.hpp>
#include <redsink/error.hpp>
#include <redsink/row_schema.hpp>
#include <redsink/types.hpp>

#include <boost/container/small_vector.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace redsink {

// An exact number of any scale known at run time: `units` 10^-scale units (decimal<P, S> fixes
// P and S at compile time). Written to a DECIMAL(P, S) column at the column's scale: refused when
// that loses a non-zero digit or the value has more than P digits.
struct decimal_value {
    int128 units = 0;
    int scale = 0;  // 0 to 38

    // Decimal text ("-12.5", "0.01"): digits, one sign, one point; at most 38 digits.
    [[nodiscard]] static decimal_value parse(std::string_view text) {
        const auto parsed = detail::parse_decimal_text(text, "redsink::decimal_value");
        return {parsed.units, parsed.scale};
    }
    template <int P, int S>
    [[nodiscard]] static constexpr decimal_value from(const decimal<P, S>& value) noexcept {
        return {value.units, S};
    }

    friend bool operator==(const decimal_value&, const decimal_value&) = default;
};

// One value of a Row: NULL (std::monostate) or one of the built-in column types' C++ values. Each
// is written by its type's own column_traits encoder.
using Value = std::variant<std::monostate, bool, std::int16_t, std::int32_t, std::int64_t, float, double, std::string,
                           decimal_value, std::chrono::year_month_day, timestamp, timestamptz, json>;

// A record whose columns are known at run time (docs/rows.md): its schema and one value per
// column, in the schema's order. Sink<Row, ...> writes rows of one schema.
class Row {
public:
    // The values. Up to inline_values of them are kept inside the Row itself, so that a row, and
    // the event holding it, are one piece of memory: events an app holds before writing them are
    // read in order, as structs are (docs/rows.md, "Cost"); more are kept on the heap.
    static constexpr std::size_t inline_values = 8;
    using Values = boost::container::small_vector<Value, inline_values>;

    Row() = default;
    explicit Row(std::shared_ptr<const RowSchema> schema) : schema_(std::move(schema)) {
        if (!schema_) throw Error(ErrorKind::other, {}, "redsink::Row: no schema");
        values_.resize(schema_->size());
    }

    // `values` under `schema`: one per column, in its order.
    Row(std::shared_ptr<const RowSchema> schema, Values values)
        : schema_(std::move(schema)), values_(std::move(values)) {
        if (!schema_) throw Error(ErrorKind::other, {}, "redsink::Row: no schema");
        if (values_.size() != schema_->size())
            throw Error(ErrorKind::other, {},
                        "redsink::Row: " + std::to_string(values_.size()) + " values for a schema of " +
                            std::to_string(schema_->size()) + " columns");
    }

    [[nodiscard]] const std::shared_ptr<const RowSchema>& schema() const noexcept { return schema_; }
    // Puts the row's values under `schema`, whose first columns are the row's (the same columns
    // with another key, or more columns after them, which are NULL), where they are: no value is
    // moved or copied.
    void rebind(std::shared_ptr<const RowSchema> schema) {
        if (!schema) throw Error(ErrorKind::other, {}, "redsink::Row: no schema");
        if (schema->size() < values_.size())
            throw Error(ErrorKind::other, {},
                        "redsink::Row: a schema of " + std::to_string(schema->size()) + " columns for " +
                            std::to_string(values_.size()) + " values");
        values_.resize(schema->size());
        schema_ = std::move(schema);
    }
    [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
    [[nodiscard]] Value& operator[](std::size_t index) noexcept { return values_[index]; }
    [[nodiscard]] const Value& operator[](std::size_t index) const noexcept { return values_[index]; }
    [[nodiscard]] std::span<const Value> values() const noexcept { return {values_.data(), values_.size()}; }

    // The value of the column named `name` (as the schema names it); an Error naming it when the
    // schema has no such column. By index (operator[]) is the quick way.
    Row& set(std::string_view name, Value value) {
        values_[index_of(name)] = std::move(value);
        return *this;
    }
    [[nodiscard]] const Value& get(std::string_view name) const { return values_[index_of(name)]; }

private:
    [[nodiscard]] std::size_t index_of(std::string_view name) const {
        if (!schema_) throw Error(ErrorKind::other, {}, "redsink::Row: no schema");
        if (const auto index = schema_->find(name)) return *index;
        throw Error(ErrorKind::schema, {}, "redsink::Row: the row schema has no column \"" + std::string(name) + "\"");
    }

    std::shared_ptr<const RowSchema> schema_;
    Values values_;
};

namespace detail {

// What a Value holds, for errors.
[[nodiscard]] inline std::string_view value_kind(const Value& value) noexcept {
    constexpr std::string_view kinds[] = {
        "NULL",   "boolean", "16-bit integer", "32-bit integer", "64-bit integer", "float", "double",
        "string", "decimal", "date",           "timestamp",      "timestamptz",    "JSON"};
    return kinds[value.index()];
}

[[noreturn]] inline void refuse_kind(const Value& value, const ColumnContext& column) {
    refuse(column, "holds a " + std::string(value_kind(value)) + " value, and the column is " +
                       sql_type_name(column.type, column.dialect));
}

template <class To, class From>
void encode_integer(From value, ParamBuffer& out, const ColumnContext& column) {
    if (value < std::numeric_limits<To>::min() || value > std::numeric_limits<To>::max())
        refuse(column,
               "is " + std::to_string(value) + ", outside " + sql_type_name(column.type, column.dialect) + "'s range");
    encode_value(static_cast<To>(value), out, column);
}

// A decimal_value at the column's scale, through the one decimal encoder.
inline void encode_decimal_value(const decimal_value& value, ParamBuffer& out, const ColumnContext& column) {
    const int scale = column.type.scale;
    int128 units = value.units;
    for (int s = value.scale; s > scale; --s) {
        if (units % 10 != 0)
            refuse(column, "has more fractional digits than DECIMAL(" + std::to_string(column.type.precision) + "," +
                               std::to_string(scale) + ") keeps");
        units /= 10;
    }
    // From 10^37 on, one more digit is 39 digits: more than any DECIMAL holds.
    constexpr int128 limit = decimal<38, 0>::pow10(37);
    for (int s = value.scale; s < scale; ++s) {
        if (units >= limit || units <= -limit)
            refuse(column, "does not fit in DECIMAL(" + std::to_string(column.type.precision) + "," +
                               std::to_string(scale) + ")");
        units *= 10;
    }
    encode_decimal(units, column.type.precision, scale, out, column);
}

}  // namespace detail

// Appends a Row's value to `out` as column `column` takes it, with the column type's own encoder:
// integers of any width into an integer column whose range holds them, a float into REAL or
// DOUBLE PRECISION, a double into DOUBLE PRECISION, a string into TEXT or VARCHAR, a
// decimal_value into DECIMAL at its scale, each other type into its own kind. Anything else, and
// NULL in a NOT NULL column, is a BadValue naming the column.
inline void encode_value(const Value& value, ParamBuffer& out, const ColumnContext& column) {
    const auto kind = column.type.kind;
    std::visit(
        [&](const auto& held) {
            using T = std::decay_t<decltype(held)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                if (!column.type.nullable) detail::refuse(column, "is NULL, and the column is NOT NULL");
                out.push_null();
            } else if constexpr (std::is_same_v<T, std::int16_t> || std::is_same_v<T, std::int32_t> ||
                                 std::is_same_v<T, std::int64_t>) {
                if (kind == SqlKind::int64) return detail::encode_integer<std::int64_t>(held, out, column);
                if (kind == SqlKind::int32) return detail::encode_integer<std::int32_t>(held, out, column);
                if (kind == SqlKind::int16) return detail::encode_integer<std::int16_t>(held, out, column);
                detail::refuse_kind(value, column);
            } else if constexpr (std::is_same_v<T, float>) {
                if (kind == SqlKind::real) return encode_value(held, out, column);
                if (kind == SqlKind::double_precision) return encode_value(static_cast<double>(held), out, column);
                detail::refuse_kind(value, column);
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (kind != SqlKind::text && kind != SqlKind::varchar) detail::refuse_kind(value, column);
                encode_value(held, out, column);
            } else if constexpr (std::is_same_v<T, decimal_value>) {
                if (kind != SqlKind::decimal) detail::refuse_kind(value, column);
                detail::encode_decimal_value(held, out, column);
            } else {
                if (kind != column_of<T>::type.kind) detail::refuse_kind(value, column);
                encode_value(held, out, column);
            }
        },
        value);
}

}  // namespace redsink
