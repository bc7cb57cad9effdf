#pragma once

// A Kafka message's key or value as a JSON document, and the JSON converter's envelope around
// it (schema and payload).
#include <redsink/debezium/schema.hpp>

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium::detail {

// The payload's text in a converter envelope whose schema's text is known: `text` starts with
// `{"schema":` and the known schema's `schema_size` bytes, and goes on with `,"payload":`, one
// value and `}` (whitespace allowed between them). Nullopt when it does not have that shape: the
// message is then read whole.
inline constexpr std::string_view schema_first = R"({"schema":)";

[[nodiscard]] inline std::optional<std::string_view> payload_after_schema(std::string_view text,
                                                                          std::size_t schema_size) noexcept {
    const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
    std::size_t at = schema_first.size() + schema_size;
    const auto skip = [&] {
        while (at < text.size() && space(text[at])) ++at;
    };
    const auto expect = [&](std::string_view what) {
        skip();
        if (text.substr(at, what.size()) != what) return false;
        at += what.size();
        return true;
    };
    if (!expect(",") || !expect("\"payload\"") || !expect(":")) return std::nullopt;
    skip();
    auto end = text.size();
    while (end > at && space(text[end - 1])) --end;
    if (end == at || text[end - 1] != '}') return std::nullopt;
    --end;
    while (end > at && space(text[end - 1])) --end;
    if (end == at) return std::nullopt;
    return text.substr(at, end - at);
}

// Whether `name` can be compared with a name as written: it has no quote or backslash.
[[nodiscard]] constexpr bool plain_name(std::string_view name) noexcept {
    for (const char c : name)
        if (c == '"' || c == '\\') return false;
    return true;
}

// Whether a member's name is `name` (a plain_name) as written, without escapes: the raw bytes are
// compared, so no copy is made. A name written with escapes is not found here; callers unescape
// it then (producers write plain ASCII names, so that is rare).
[[nodiscard]] inline bool written_as(simdjson::ondemand::raw_json_string raw, std::string_view name) noexcept {
    return raw.unsafe_is_equal(name);
}

// A member's name: one of `known` when written as it (its index), else unescaped (index
// known.size()), for the rare name written with escapes or any other name.
template <std::size_t N>
std::pair<std::size_t, std::string_view> member_name(simdjson::ondemand::field& field,
                                                     const std::array<std::string_view, N>& known,
                                                     const std::string& path) {
    const auto raw = field.key();
    for (std::size_t i = 0; i < N; ++i)
        if (written_as(raw, known[i])) return {i, known[i]};
    const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
    for (std::size_t i = 0; i < N; ++i)
        if (known[i] == key) return {i, known[i]};
    return {N, key};
}

// A parser and the padded copy of the text it reads, kept between messages.
class JsonDocument {
public:
    // The document of `text`; valid until the next call.
    simdjson::ondemand::document& iterate(std::string_view text, const std::string& path) {
        // simdjson reads a little past the end of its input: a padded copy.
        const auto needed = text.size() + simdjson::SIMDJSON_PADDING;
        if (needed > capacity_) {
            buffer_ = std::make_unique<char[]>(needed);
            capacity_ = needed;
        }
        if (!text.empty()) std::memcpy(buffer_.get(), text.data(), text.size());
        std::memset(buffer_.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
        document_ = checked(parser_.iterate(buffer_.get(), text.size(), capacity_), path, "is not valid JSON");
        return document_;
    }

private:
    simdjson::ondemand::parser parser_;
    simdjson::ondemand::document document_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
};

// Whether the whole document is JSON null.
inline bool is_null(simdjson::ondemand::document& document, const std::string& path) {
    if (checked(document.type(), path, "is not valid JSON") != simdjson::ondemand::json_type::null) return false;
    (void)checked(document.is_null(), path, "is not valid JSON");
    return true;
}

// The converter's envelope: whether an object has exactly the keys "schema" and "payload", and
// the schema's text when it is not null. Fields are read in order: simdjson 3.0's out-of-order
// lookup assumes a well-formed object.
struct Envelope {
    bool is = false;
    std::optional<std::string_view> schema;
};
template <class Object>
Envelope envelope_of(Object& object, const std::string& path) {
    int schema = 0, payload = 0, other = 0;
    Envelope out;
    UniqueKeys keys;
    for (auto entry : object) {
        auto field = checked(std::move(entry), path, "is not valid JSON");
        const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
        keys.add(key, path);
        if (key == "schema") {
            ++schema;
            auto value = field.value();
            const auto where = path + ".schema";
            if (checked(value.type(), where, "is not valid JSON") != simdjson::ondemand::json_type::null)
                out.schema = checked(checked(value.get_object(), where, "is not an object").raw_json(), where,
                                     "is not valid JSON");
        } else {
            (key == "payload" ? payload : other) += 1;
        }
    }
    out.is = schema == 1 && payload == 1 && other == 0;
    return out;
}

// The envelope's payload, by reading the fields in order; nullopt when it is null.
template <class Object>
std::optional<simdjson::ondemand::object> payload_of(Object& top, const std::string& path) {
    const auto where = path + ".payload";
    for (auto entry : top) {
        auto field = checked(std::move(entry), path, "is not valid JSON");
        const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
        if (key != "payload") continue;
        auto value = field.value();
        if (checked(value.type(), where, "is not valid JSON") == simdjson::ondemand::json_type::null) {
            (void)checked(value.is_null(), where, "is not valid JSON");
            return std::nullopt;
        }
        return checked(value.get_object(), where, "is not a JSON object");
    }
    malformed(path, "has no payload");
}

// Walks an object to its end, so that what follows it can be checked.
inline void read_to_end(simdjson::ondemand::object& object, const std::string& path) {
    checked_code(object.reset().error(), path);
    for (auto entry : object) (void)checked(std::move(entry), path, "is not valid JSON");
}

}  // namespace redsink::debezium::detail
