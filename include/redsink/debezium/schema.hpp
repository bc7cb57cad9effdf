#pragma once

// Kafka Connect schemas as the JSON converter writes them ({"schema": ..., "payload": ...}): the
// fields of a row, their types and logical names, read once per distinct schema text.
#include <redsink/debezium/values.hpp>
#include <redsink/pq/error.hpp>

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
    std::string type;   // int8 ... int64, float32, float64, boolean, string, bytes, struct, array, map
    std::string name;   // the logical type's name, or empty
    Logical logical = Logical::none;
    std::optional<int> scale;      // Decimal's parameters.scale
    std::optional<int> precision;  // Decimal's parameters."connect.decimal.precision"
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
struct RowSchema {
    bool envelope = false;
    std::vector<FieldSchema> fields;

    [[nodiscard]] const FieldSchema* find(std::string_view field) const noexcept {
        for (const auto& candidate : fields)
            if (candidate.field == field) return &candidate;
        return nullptr;
    }
};

namespace detail {

// Thrown inside the decoder; decode() turns it into a DecodeError with the message's place.
struct Malformed {
    ErrorKind kind = ErrorKind::bad_data;
    std::string field;
    std::string reason;
};

[[noreturn]] inline void malformed(std::string field, std::string reason, ErrorKind kind = ErrorKind::bad_data) {
    throw Malformed{kind, std::move(field), std::move(reason)};
}

template <class T>
T checked(simdjson::simdjson_result<T>&& result, std::string_view field, std::string_view what) {
    T value;
    if (const auto error = std::move(result).get(value); error != simdjson::SUCCESS)
        malformed(std::string(field), std::string(what) + ": " + simdjson::error_message(error));
    return value;
}

// Whether the whole document was read (simdjson 3.0's document has no at_end()).
inline bool at_end(simdjson::ondemand::document& document) noexcept {
    return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

class SchemaReader {
public:
    // `text` is a schema object's JSON; `path` names it in errors.
    RowSchema read(std::string_view text, const std::string& path) {
        padded_ = simdjson::padded_string(text);
        auto document = checked(parser_.iterate(padded_), path, "is not valid JSON");
        auto root = checked(document.get_object(), path, "is not a schema object");
        RowSchema row;
        std::vector<FieldSchema> top;
        bool has_op = false;
        std::optional<std::vector<FieldSchema>> after;
        std::optional<std::vector<FieldSchema>> before;
        for (auto member : root) {
            auto field = checked(std::move(member), path, "is not valid JSON");
            const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
            if (key != "fields") continue;
            auto fields = checked(field.value().get_array(), path + ".fields", "is not an array");
            for (auto element : fields) {
                auto object = checked(checked(std::move(element), path, "is not valid JSON").get_object(),
                                      path + ".fields", "holds a field that is not an object");
                auto nested = std::vector<FieldSchema>{};
                auto described = read_field(object, path, &nested);
                if (described.field == "op") has_op = true;
                if (described.field == "after" && described.type == "struct") after = std::move(nested);
                if (described.field == "before" && described.type == "struct") before = std::move(nested);
                top.push_back(std::move(described));
            }
        }
        if (has_op && (after || before)) {
            row.envelope = true;
            row.fields = after ? std::move(*after) : std::move(*before);
        } else {
            row.fields = std::move(top);
        }
        if (!at_end(document)) malformed(path, "has text after the schema");
        return row;
    }

private:
    // One field; a struct's own fields go to `nested` when asked for.
    FieldSchema read_field(simdjson::ondemand::object& object, const std::string& path,
                           std::vector<FieldSchema>* nested) {
        FieldSchema out;
        for (auto member : object) {
            auto field = checked(std::move(member), path, "is not valid JSON");
            const std::string key(checked(field.unescaped_key(), path, "is not valid JSON"));
            auto value = field.value();
            if (key == "field") {
                out.field = std::string(checked(value.get_string(), path, "has a field name that is not a string"));
            } else if (key == "type") {
                out.type = std::string(checked(value.get_string(), path, "has a type that is not a string"));
            } else if (key == "name") {
                out.name = std::string(checked(value.get_string(), path, "has a name that is not a string"));
            } else if (key == "optional") {
                out.optional = checked(value.get_bool(), path, "has \"optional\" that is not a boolean");
            } else if (key == "parameters") {
                auto parameters = checked(value.get_object(), path, "has parameters that are not an object");
                for (auto parameter : parameters) {
                    auto entry = checked(std::move(parameter), path, "is not valid JSON");
                    const std::string name(checked(entry.unescaped_key(), path, "is not valid JSON"));
                    auto text = checked(entry.value().get_string(), path, "has a parameter that is not a string");
                    if (name == "scale") out.scale = integer(text, path);
                    if (name == "connect.decimal.precision") out.precision = integer(text, path);
                }
            } else if (key == "fields" && nested != nullptr) {
                auto fields = checked(value.get_array(), path, "has fields that are not an array");
                for (auto element : fields) {
                    auto object_value = checked(std::move(element), path, "is not valid JSON");
                    auto inner = checked(object_value.get_object(), path, "holds a field that is not an object");
                    nested->push_back(read_field(inner, path, nullptr));
                }
            }
        }
        out.logical = logical_of(out.name);
        if (out.field.empty()) malformed(path, "has a field without a name");
        return out;
    }

    static int integer(std::string_view text, const std::string& path) {
        int value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size())
            malformed(path, "has a parameter that is not an integer: " + std::string(text));
        return value;
    }

    simdjson::ondemand::parser parser_;
    simdjson::padded_string padded_;
};

}  // namespace detail
}  // namespace redsink::debezium
