#pragma once

// Kafka Connect schemas as the JSON converter writes them ({"schema": ..., "payload": ...}): the
// fields of a row, their types and logical names, read once per distinct schema text.
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/values.hpp>

#include <simdjson.h>

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::debezium {

// Debezium's and Kafka Connect's logical types (the schema's "name").
enum class Logical {
    none,
    decimal,                 // org.apache.kafka.connect.data.Decimal: bytes, scale in parameters
    variable_scale_decimal,  // io.debezium.data.VariableScaleDecimal: {"scale", "value"}
    date,                    // io.debezium.time.Date, org.apache.kafka.connect.data.Date: int32 days
    time_ms,                 // io.debezium.time.Time, org.apache.kafka.connect.data.Time
    time_us,                 // io.debezium.time.MicroTime
    time_ns,                 // io.debezium.time.NanoTime
    timestamp_ms,            // io.debezium.time.Timestamp, org.apache.kafka.connect.data.Timestamp
    timestamp_us,            // io.debezium.time.MicroTimestamp
    timestamp_ns,            // io.debezium.time.NanoTimestamp
    zoned_timestamp,         // io.debezium.time.ZonedTimestamp: ISO-8601 in UTC
    zoned_time,              // io.debezium.time.ZonedTime
    json,                    // io.debezium.data.Json
    text,                    // Uuid, Enum, EnumSet, Xml, ...: strings
    bits,                    // io.debezium.data.Bits: bytes
    structured,              // Geometry, Point, other structs
};

[[nodiscard]] inline Logical logical_of(std::string_view name) noexcept {
    if (name.empty()) return Logical::none;
    if (name == "org.apache.kafka.connect.data.Decimal") return Logical::decimal;
    if (name == "io.debezium.data.VariableScaleDecimal") return Logical::variable_scale_decimal;
    if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") return Logical::date;
    if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time") return Logical::time_ms;
    if (name == "io.debezium.time.MicroTime") return Logical::time_us;
    if (name == "io.debezium.time.NanoTime") return Logical::time_ns;
    if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp")
        return Logical::timestamp_ms;
    if (name == "io.debezium.time.MicroTimestamp") return Logical::timestamp_us;
    if (name == "io.debezium.time.NanoTimestamp") return Logical::timestamp_ns;
    if (name == "io.debezium.time.ZonedTimestamp") return Logical::zoned_timestamp;
    if (name == "io.debezium.time.ZonedTime") return Logical::zoned_time;
    if (name == "io.debezium.data.Json") return Logical::json;
    if (name == "io.debezium.data.Bits") return Logical::bits;
    return Logical::text;  // Uuid, Enum, EnumSet, Xml, and names this decoder does not know
}

// A field's type as Kafka Connect's JsonConverter writes it ("float" and "double" for FLOAT32 and
// FLOAT64: JsonSchema.java in apache/kafka).
enum class FieldType { int8, int16, int32, int64, float32, float64, boolean, string, bytes, array, map, structure };

[[nodiscard]] inline std::optional<FieldType> field_type_of(std::string_view name) noexcept {
    if (name == "int8") return FieldType::int8;
    if (name == "int16") return FieldType::int16;
    if (name == "int32") return FieldType::int32;
    if (name == "int64") return FieldType::int64;
    if (name == "float") return FieldType::float32;
    if (name == "double") return FieldType::float64;
    if (name == "boolean") return FieldType::boolean;
    if (name == "string") return FieldType::string;
    if (name == "bytes") return FieldType::bytes;
    if (name == "array") return FieldType::array;
    if (name == "map") return FieldType::map;
    if (name == "struct") return FieldType::structure;
    return std::nullopt;
}

[[nodiscard]] constexpr bool is_integer(FieldType type) noexcept {
    return type == FieldType::int8 || type == FieldType::int16 || type == FieldType::int32 || type == FieldType::int64;
}

[[nodiscard]] constexpr std::optional<TimeUnit> time_unit(Logical logical) noexcept {
    switch (logical) {
        case Logical::time_ms:
        case Logical::timestamp_ms: return TimeUnit::millis;
        case Logical::time_us:
        case Logical::timestamp_us: return TimeUnit::micros;
        case Logical::time_ns:
        case Logical::timestamp_ns: return TimeUnit::nanos;
        default: return std::nullopt;
    }
}

// One field of a row's schema.
struct FieldSchema {
    std::string field;  // the column's name
    std::string type;   // as written: int8 ... int64, float, double, boolean, string, bytes, array, map, struct
    FieldType kind = FieldType::string;
    std::string name;  // the logical type's name, or empty
    Logical logical = Logical::none;
    std::optional<int> scale;      // Decimal's parameters.scale
    std::optional<int> precision;  // Decimal's parameters."connect.decimal.precision"
    // The source column's length ("__debezium.source.column.length", with Debezium's
    // column.propagate.source.type): characters of a VARCHAR or CHAR.
    std::optional<int> length;
    bool optional = false;

    // "bytes (org.apache.kafka.connect.data.Decimal, scale 2)": for error messages.
    [[nodiscard]] std::string describe() const {
        std::string text = type;
        if (!name.empty() || scale) {
            text += " (" + name;
            if (scale) text += std::string(name.empty() ? "" : ", ") + "scale " + std::to_string(*scale);
            if (precision) text += ", precision " + std::to_string(*precision);
            text += ")";
        }
        return text;
    }
};

// The schema of a message's row: the `after` struct of an envelope, or the row itself (unwrapped).
struct MessageSchema {
    bool envelope = false;
    std::vector<FieldSchema> fields;

    [[nodiscard]] const FieldSchema* find(std::string_view field) const noexcept {
        for (const auto& candidate : fields)
            if (candidate.field == field) return &candidate;
        return nullptr;
    }
};

namespace detail {

class SchemaReader {
public:
    // `text` is a schema object's JSON; `path` names it in errors.
    MessageSchema read(std::string_view text, const std::string& path) {
        padded_ = simdjson::padded_string(text);
        auto document = checked(parser_.iterate(padded_), path, "is not valid JSON");
        auto root = checked(document.get_object(), path, "is not a schema object");
        auto top = read_field(root, path, true);
        MessageSchema row;
        const auto find = [&](std::string_view name) -> Parsed* {
            for (auto& field : top.fields)
                if (field.schema.field == name) return &field;
            return nullptr;
        };
        const auto* op = find("op");
        auto* after = find("after");
        auto* before = find("before");
        if (after != nullptr && after->schema.kind != FieldType::structure) after = nullptr;
        if (before != nullptr && before->schema.kind != FieldType::structure) before = nullptr;
        row.envelope = op != nullptr && (after != nullptr || before != nullptr);
        for (auto& field : row.envelope ? (after != nullptr ? after->fields : before->fields) : top.fields)
            row.fields.push_back(std::move(field.schema));
        if (!at_end(document)) malformed(path, "has text after the schema");
        return row;
    }

private:
    // A schema object and, for a struct, its fields.
    struct Parsed {
        FieldSchema schema;
        std::vector<Parsed> fields;
    };

    // One schema object: a field, or the top struct (`top`: no "field" needed).
    Parsed read_field(simdjson::ondemand::object& object, const std::string& path, bool top) {
        Parsed parsed;
        auto& out = parsed.schema;
        UniqueKeys keys;
        bool has_type = false;
        for (auto member : object) {
            auto field = checked(std::move(member), path, "is not valid JSON");
            const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
            keys.add(key, path);
            auto value = field.value();
            if (key == "field") {
                out.field = std::string(checked(value.get_string(), path, "has a field name that is not a string"));
            } else if (key == "type") {
                out.type = std::string(checked(value.get_string(), path, "has a type that is not a string"));
                has_type = true;
            } else if (key == "name") {
                out.name = std::string(checked(value.get_string(), path, "has a name that is not a string"));
            } else if (key == "optional") {
                out.optional = checked(value.get_bool(), path, "has \"optional\" that is not a boolean");
            } else if (key == "parameters") {
                read_parameters(value, path, out);
            } else if (key == "fields") {
                auto fields = checked(value.get_array(), path, "has fields that are not an array");
                for (auto element : fields) {
                    auto object_value = checked(std::move(element), path + ".fields", "is not valid JSON");
                    auto inner =
                        checked(object_value.get_object(), path + ".fields", "holds a field that is not an object");
                    auto described = read_field(inner, path + ".fields", false);
                    for (const auto& seen : parsed.fields)
                        if (seen.schema.field == described.schema.field)
                            malformed(path + ".fields." + shown_name(described.schema.field),
                                      "appears twice in the same struct", ErrorKind::schema);
                    parsed.fields.push_back(std::move(described));
                }
            }
        }
        const std::string where = out.field.empty() ? path : path + "." + shown_name(out.field);
        if (!top && out.field.empty()) malformed(path, "has a field without a name", ErrorKind::schema);
        if (!has_type) malformed(where, "has no type", ErrorKind::schema);
        const auto kind = field_type_of(out.type);
        if (!kind)
            malformed(where,
                      "has type \"" + shown_name(out.type) +
                          "\", which Kafka Connect's JSON converter does not write (int8, int16, int32, int64, "
                          "float, double, boolean, string, bytes, array, map, struct)",
                      ErrorKind::schema);
        out.kind = *kind;
        out.logical = logical_of(out.name);
        return parsed;
    }

    void read_parameters(simdjson::ondemand::value value, const std::string& path, FieldSchema& out) {
        auto parameters = checked(value.get_object(), path, "has parameters that are not an object");
        UniqueKeys keys;
        for (auto parameter : parameters) {
            auto entry = checked(std::move(parameter), path, "is not valid JSON");
            const auto name = checked(entry.unescaped_key(), path, "is not valid JSON");
            keys.add(name, path + ".parameters");
            auto text = checked(entry.value().get_string(), path, "has a parameter that is not a string");
            if (name == "scale") out.scale = integer(text, path + ".parameters.scale");
            if (name == "connect.decimal.precision")
                out.precision = integer(text, path + ".parameters.connect.decimal.precision");
            if (name == "__debezium.source.column.length")
                out.length = integer(text, path + ".parameters.__debezium.source.column.length");
        }
    }

    static int integer(std::string_view text, const std::string& path) {
        int value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size())
            malformed(path, "is not an integer", ErrorKind::schema);
        return value;
    }

    simdjson::ondemand::parser parser_;
    simdjson::padded_string padded_;
};

}  // namespace detail
}  // namespace redsink::debezium
