#pragma once

// Reading one JSON value into one record member, by the member's type and, when the message has
// a schema, the field's Debezium type. One member_reader specialization per supported type.
#include <redsink/debezium/decimals.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/values.hpp>
#include <redsink/detail/json_syntax.hpp>
#include <redsink/detail/utf8.hpp>
#include <redsink/types.hpp>

#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace redsink::debezium::detail {

// One field being read: its value, its schema (when the message has one) and where it is.
struct FieldRead {
    simdjson::ondemand::value value;
    const FieldSchema* schema = nullptr;
    const Options* options = nullptr;
    std::string_view object;  // "value.payload.after"
    std::string_view name;    // "total"
    std::string* scratch = nullptr;
    bool unavailable = false;  // set by a reader that found a placeholder in a non-string form

    [[nodiscard]] std::string path() const { return std::string(object) + "." + std::string(name); }
    [[noreturn]] void fail(std::string reason) const { malformed(path(), std::move(reason)); }

    template <class T>
    T get(simdjson::simdjson_result<T>&& result, std::string_view expected) {
        T out;
        if (const auto error = std::move(result).get(out); error != simdjson::SUCCESS) {
            if (error == simdjson::INCORRECT_TYPE) fail("is not " + std::string(expected));
            if (error == simdjson::NUMBER_OUT_OF_RANGE) fail("is a number out of range for " + std::string(expected));
            fail("is not valid JSON: " + std::string(simdjson::error_message(error)));
        }
        return out;
    }

    [[nodiscard]] Logical logical() const noexcept { return schema ? schema->logical : Logical::none; }

    std::int64_t integer() { return get(value.get_int64(), "an integer"); }
    std::string_view string() { return get(value.get_string(), "a string"); }
    simdjson::ondemand::json_type type() { return get(value.type(), "a JSON value"); }

    // The text of a number token, as written.
    std::string_view number_text() {
        if (type() != simdjson::ondemand::json_type::number) fail("is not a number");
        auto text = value.raw_json_token();
        while (!text.empty() &&
               (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
            text.remove_suffix(1);
        // Let simdjson check the number's syntax too.
        (void)get(value.get_double(), "a number");
        return text;
    }

    template <class T>
    T converted(Converted<T>&& result) const {
        if (!result.value) fail(std::move(result.error));
        return std::move(*result.value);
    }
};

template <class T>
struct member_reader;  // no specialization: the type cannot be read from a Debezium message

template <>
struct member_reader<bool> {
    static std::string name() { return "bool"; }
    static bool accepts(const FieldSchema& field) { return field.kind == FieldType::boolean; }
    static void read(FieldRead& in, bool& out) { out = in.get(in.value.get_bool(), "a boolean"); }
};

template <class I>
requires(std::is_same_v<I, std::int16_t> || std::is_same_v<I, std::int32_t> ||
         std::is_same_v<I, std::int64_t>) struct member_reader<I> {
    static std::string name() { return "std::int" + std::to_string(sizeof(I) * 8) + "_t"; }
    static bool accepts(const FieldSchema& field) {
        if (field.kind == FieldType::int8 || field.kind == FieldType::int16) return true;
        if (field.kind == FieldType::int32) return sizeof(I) >= 4;
        return field.kind == FieldType::int64 && sizeof(I) == 8;
    }
    static void read(FieldRead& in, I& out) {
        const auto value = in.integer();
        if (value < std::numeric_limits<I>::min() || value > std::numeric_limits<I>::max())
            in.fail("is out of range for " + name() + " (" + std::to_string(std::numeric_limits<I>::min()) + " to " +
                    std::to_string(std::numeric_limits<I>::max()) + ")");
        out = static_cast<I>(value);
    }
};

[[nodiscard]] inline bool is_decimal(Logical logical) noexcept {
    return logical == Logical::decimal || logical == Logical::variable_scale_decimal;
}

// A decimal of any size from any of Debezium's forms: a JSON number, text, base64 of the
// unscaled value (the scale from the schema, or `default_scale`), a VariableScaleDecimal.
inline Digits read_digits(FieldRead& in, int default_scale) {
    using simdjson::ondemand::json_type;
    const auto type = in.type();
    if (type == json_type::number) return in.converted(parse_digits(in.number_text()));
    if (type == json_type::object) {  // VariableScaleDecimal
        auto object = in.get(in.value.get_object(), "an object");
        std::optional<std::int64_t> scale;
        std::optional<std::string_view> value;
        UniqueKeys keys;
        for (auto member : object) {
            auto field = in.get(std::move(member), "an object");
            const auto key = in.get(field.unescaped_key(), "an object");
            keys.add(key, in.path());
            if (key == "scale") {
                scale = in.get(field.value().get_int64(), "a VariableScaleDecimal with an integer scale");
            } else if (key == "value") {
                value = in.get(field.value().get_string(), "a VariableScaleDecimal with a base64 value");
            } else {
                in.fail("is a VariableScaleDecimal with an unknown field \"" + shown_name(key) + "\"");
            }
        }
        if (!scale || !value) in.fail("is a VariableScaleDecimal without its scale and value");
        if (*scale < -100 || *scale > 100) in.fail("is a VariableScaleDecimal with a scale out of range");
        if (auto error = base64_decode(*value, *in.scratch); !error.empty()) in.fail(std::move(error));
        return twos_complement_digits(*in.scratch, static_cast<int>(*scale));
    }
    const auto text = in.string();
    const bool base64 =
        in.schema ? in.schema->kind == FieldType::bytes : in.options->decimal_strings == DecimalStrings::base64;
    if (!base64) return in.converted(parse_digits(text, true));
    if (auto error = base64_decode(text, *in.scratch); !error.empty()) in.fail(std::move(error));
    return twos_complement_digits(*in.scratch, in.schema && in.schema->scale ? *in.schema->scale : default_scale);
}

// A decimal that fits 38 digits; `member` names the member's type in the error for one that does
// not. Kafka Connect's Decimal of up to 16 bytes is read without the general route.
inline Exact read_exact(FieldRead& in, int default_scale, std::string_view member) {
    const auto wide = [&](std::string error) {
        in.fail(std::move(error) + ", more than " + std::string(member) +
                " holds; a std::string or varchar member holds decimals of any size exactly (docs/debezium.md)");
    };
    if (in.type() == simdjson::ondemand::json_type::string && in.schema && in.schema->kind == FieldType::bytes) {
        if (auto error = base64_decode(in.string(), *in.scratch); !error.empty()) in.fail(std::move(error));
        const int scale = in.schema->scale ? *in.schema->scale : default_scale;
        auto units = twos_complement(*in.scratch);
        if (!units.value) wide("is " + twos_complement_digits(*in.scratch, scale).describe());
        return Exact{*units.value, scale};
    }
    auto exact = exact_of(read_digits(in, default_scale));
    if (!exact.value) wide(std::move(exact.error));
    return *exact.value;
}

template <int P, int S>
struct member_reader<decimal<P, S>> {
    static std::string name() { return "redsink::decimal<" + std::to_string(P) + ", " + std::to_string(S) + ">"; }
    // Every decimal field: each value is checked against P and S (the schema's precision is the
    // column's, which a value may not use).
    static bool accepts(const FieldSchema& field) {
        return is_decimal(field.logical) || (field.logical == Logical::none &&
                                             (field.kind == FieldType::string || field.kind == FieldType::float64 ||
                                              field.kind == FieldType::float32 || is_integer(field.kind)));
    }
    static void read(FieldRead& in, decimal<P, S>& out) {
        const auto member = name();
        out = decimal<P, S>::from_units(in.converted(rescale(read_exact(in, S, member), S, P, member)));
    }
};

template <class F>
requires std::is_floating_point_v<F>
struct member_reader<F> {
    static std::string name() { return std::is_same_v<F, float> ? "float" : "double"; }
    static bool accepts(const FieldSchema& field) {
        if (field.kind == FieldType::float32 || is_integer(field.kind)) return true;
        return std::is_same_v<F, double> && (field.kind == FieldType::float64 || is_decimal(field.logical));
    }
    static void read(FieldRead& in, F& out) {
        double value = 0;
        if (in.type() == simdjson::ondemand::json_type::number) {
            value = in.get(in.value.get_double(), "a number");
        } else {
            const auto text = plain_text(read_digits(in, 0));
            std::from_chars(text.data(), text.data() + text.size(), value);
        }
        if (std::is_same_v<F, float> && std::isfinite(value) && std::fabs(value) > std::numeric_limits<float>::max())
            in.fail("is out of range for float");
        out = static_cast<F>(value);
    }
};

inline void read_text(FieldRead& in, std::string& out) {
    using simdjson::ondemand::json_type;
    // A decimal of any size as its exact text ("-12.50"): the route for more than 38 digits. Without
    // a schema, an object can only be a VariableScaleDecimal.
    if (is_decimal(in.logical()) || (!in.schema && in.type() == json_type::object)) {
        out = plain_text(read_digits(in, 0));
        return;
    }
    if (in.type() == json_type::number) {
        const auto unit = time_unit(in.logical());
        if (!unit || in.logical() >= Logical::timestamp_ms) in.fail("is not a string");
        out = in.converted(time_of_day_text(in.integer(), *unit));
        return;
    }
    // Bytes (base64) stay as their text: redsink has no binary column type.
    out = in.string();
}

template <>
struct member_reader<std::string> {
    static std::string name() { return "std::string"; }
    static bool accepts(const FieldSchema& field) {
        return field.kind == FieldType::string || field.kind == FieldType::bytes || is_decimal(field.logical) ||
               field.logical == Logical::time_ms || field.logical == Logical::time_us ||
               field.logical == Logical::time_ns;
    }
    static void read(FieldRead& in, std::string& out) { read_text(in, out); }
};

template <std::size_t N>
struct member_reader<varchar<N>> {
    static std::string name() { return "redsink::varchar<" + std::to_string(N) + ">"; }
    static bool accepts(const FieldSchema& field) { return member_reader<std::string>::accepts(field); }
    static void read(FieldRead& in, varchar<N>& out) { read_text(in, out.value); }
};

template <>
struct member_reader<std::chrono::year_month_day> {
    static std::string name() { return "std::chrono::year_month_day"; }
    static bool accepts(const FieldSchema& field) { return field.logical == Logical::date; }
    static void read(FieldRead& in, std::chrono::year_month_day& out) {
        if (in.type() == simdjson::ondemand::json_type::string)
            out = std::chrono::year_month_day(
                std::chrono::floor<std::chrono::days>(in.converted(parse_iso_date(in.string()))));
        else
            out = in.converted(epoch_date(in.integer()));
    }

private:
    static Converted<micros> parse_iso_date(std::string_view text) {
        return parse_iso_timestamp(std::string(text) + "T00:00:00Z", false);
    }
};

inline micros infinite(FieldRead& in, int sign) {
    if (in.options->infinity == Infinity::refuse)
        in.fail(std::string("is PostgreSQL's ") + (sign > 0 ? "" : "-") +
                "infinity, which a redsink timestamp cannot hold (Options::infinity = Infinity::clamp stores "
                "9999-12-31 23:59:59.999999 and 0001-01-01 00:00:00 instead)");
    return micros(std::chrono::microseconds(sign > 0 ? max_micros : min_micros));
}

// Either timestamp type, from an epoch count (unit from the schema or the options) or ISO text.
inline micros read_instant(FieldRead& in, bool zoned) {
    if (in.type() == simdjson::ondemand::json_type::string) {
        const auto text = in.string();
        if (text == "infinity" || text == "-infinity") return infinite(in, text == "infinity" ? 1 : -1);
        return in.converted(parse_iso_timestamp(text, !zoned));
    }
    const auto count = in.integer();
    if (const int sign = infinity_sign(count); sign != 0) return infinite(in, sign);
    const auto unit = in.schema ? time_unit(in.logical()) : in.options->timestamp_unit;
    if (!unit) in.fail("is not a timestamp");
    return in.converted(epoch_micros(count, *unit));
}

template <>
struct member_reader<timestamp> {
    static std::string name() { return "redsink::timestamp"; }
    static bool accepts(const FieldSchema& field) {
        return field.logical >= Logical::timestamp_ms && field.logical <= Logical::timestamp_ns;
    }
    static void read(FieldRead& in, timestamp& out) { out = timestamp(read_instant(in, false)); }
};

template <>
struct member_reader<timestamptz> {
    static std::string name() { return "redsink::timestamptz"; }
    static bool accepts(const FieldSchema& field) {
        return field.logical == Logical::zoned_timestamp || member_reader<timestamp>::accepts(field);
    }
    static void read(FieldRead& in, timestamptz& out) { out = timestamptz(read_instant(in, true)); }
};

template <>
struct member_reader<json> {
    static std::string name() { return "redsink::json"; }
    static bool accepts(const FieldSchema& field) {
        return field.kind == FieldType::string || field.kind == FieldType::structure ||
               field.kind == FieldType::array || field.kind == FieldType::map;
    }
    static void read(FieldRead& in, json& out) {
        using simdjson::ondemand::json_type;
        const auto type = in.type();
        if (type == json_type::string) {
            const auto text = in.string();
            if (auto problem = redsink::detail::JsonSyntax(text, true).check(); !problem.empty())
                in.fail("is not a JSON document: " + problem);
            out.text.assign(text);
        } else if (type == json_type::object) {
            out.text.assign(in.get(in.get(in.value.get_object(), "an object").raw_json(), "an object"));
        } else if (type == json_type::array) {
            out.text.assign(in.get(in.get(in.value.get_array(), "an array").raw_json(), "an array"));
            // A TOAST-ed array column arrives as an array holding the placeholder.
            if (out.text == "[\"" + in.options->unavailable_placeholder + "\"]") in.unavailable = true;
        } else if (type == json_type::boolean) {
            out.text.assign(in.get(in.value.get_bool(), "a boolean") ? "true" : "false");
        } else {
            out.text.assign(in.number_text());
        }
    }
};

}  // namespace redsink::debezium::detail
