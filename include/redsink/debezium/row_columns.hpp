#pragma once

// A message field's column when rows take their columns from the message's schema: the column
// type each Kafka Connect type and logical type maps to (the table in docs/types.md), and reading
// a field's JSON value as a Row's Value for that column.
#include <redsink/debezium/decimals.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/dialect.hpp>
#include <redsink/row.hpp>
#include <redsink/types.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace redsink::debezium::detail {

// The column a field of this schema becomes (nullable; the decoder marks the key). Types redsink
// has no column for are kept as text or JSON, exactly: bytes as their base64 text, times of day
// as "HH:MM:SS.ffffff", decimals wider than 38 digits and VariableScaleDecimal as decimal text,
// structs, arrays and maps (Geometry and Point among them) as their JSON.
[[nodiscard]] inline ColumnType column_type_of(const FieldSchema& field, Dialect dialect) {
    const auto text = [&] {
        // On Redshift a VARCHAR counts bytes: the source's length in characters, at up to 4
        // bytes each, when Debezium propagates it (column.propagate.source.type).
        if (dialect == Dialect::redshift && field.length && *field.length > 0 &&
            *field.length <= static_cast<int>(redshift_max_varchar / 4))
            return ColumnType{SqlKind::varchar, static_cast<std::uint32_t>(*field.length) * 4};
        return ColumnType{SqlKind::text};
    };
    switch (field.kind) {
        case FieldType::int8:
        case FieldType::int16: return ColumnType{SqlKind::int16};
        case FieldType::int32:
            if (field.logical == Logical::date) return ColumnType{SqlKind::date};
            if (field.logical == Logical::time_ms) return ColumnType{SqlKind::text};
            return ColumnType{SqlKind::int32};
        case FieldType::int64:
            if (field.logical >= Logical::timestamp_ms && field.logical <= Logical::timestamp_ns)
                return ColumnType{SqlKind::timestamp};
            if (field.logical == Logical::time_us || field.logical == Logical::time_ns)
                return ColumnType{SqlKind::text};
            return ColumnType{SqlKind::int64};
        case FieldType::float32: return ColumnType{SqlKind::real};
        case FieldType::float64: return ColumnType{SqlKind::double_precision};
        case FieldType::boolean: return ColumnType{SqlKind::boolean};
        case FieldType::string:
            if (field.logical == Logical::zoned_timestamp) return ColumnType{SqlKind::timestamptz};
            if (field.logical == Logical::json) return ColumnType{SqlKind::json};
            return text();
        case FieldType::bytes:
            if (field.logical == Logical::decimal) {
                const int scale = field.scale.value_or(0);
                const int precision = field.precision.value_or(38);
                if (precision <= 38 && scale >= 0 && scale <= precision)
                    return ColumnType{SqlKind::decimal, 0, static_cast<std::uint8_t>(precision),
                                      static_cast<std::uint8_t>(scale)};
            }
            return ColumnType{SqlKind::text};
        case FieldType::structure:
            if (field.logical == Logical::variable_scale_decimal) return ColumnType{SqlKind::text};
            return ColumnType{SqlKind::json};
        case FieldType::array:
        case FieldType::map: return ColumnType{SqlKind::json};
    }
    return ColumnType{SqlKind::text};
}

template <class T>
Value read_as(FieldRead& in) {
    T out{};
    member_reader<T>::read(in, out);
    return Value(std::move(out));
}

// A field's value (not null, not the placeholder) as column `type` takes it: with the field's
// schema (in.schema) when the message has one, else as the options say (Options::decimal_strings,
// Options::timestamp_unit).
[[nodiscard]] inline Value read_value(FieldRead& in, const ColumnType& type) {
    switch (type.kind) {
        case SqlKind::boolean: return read_as<bool>(in);
        case SqlKind::int16: return read_as<std::int16_t>(in);
        case SqlKind::int32: return read_as<std::int32_t>(in);
        case SqlKind::int64: return read_as<std::int64_t>(in);
        case SqlKind::real: return read_as<float>(in);
        case SqlKind::double_precision: return read_as<double>(in);
        case SqlKind::text:
        case SqlKind::varchar: return read_as<std::string>(in);
        case SqlKind::decimal: {
            const auto exact = read_exact(in, type.scale, sql_type_name(type, Dialect::postgres));
            return decimal_value{exact.units, exact.scale};
        }
        case SqlKind::date: return read_as<std::chrono::year_month_day>(in);
        case SqlKind::timestamp: return read_as<timestamp>(in);
        case SqlKind::timestamptz: return read_as<timestamptz>(in);
        case SqlKind::json: return read_as<json>(in);
    }
    in.fail("has a type no column takes");
}

}  // namespace redsink::debezium::detail
