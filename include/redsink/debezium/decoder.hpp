#pragma once

#include <redsink/change.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/detail/fixed_string.hpp>
#include <redsink/record.hpp>

#include <simdjson.h>

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink::debezium {

namespace detail {

template <class T>
struct optional_parts {
    using value_type = T;
    static constexpr bool optional = false;
};
template <class T>
struct optional_parts<std::optional<T>> {
    using value_type = T;
    static constexpr bool optional = true;
};

template <class T>
concept Readable = requires {
    member_reader<typename optional_parts<T>::value_type>::name();
};

// Names the member in its template arguments, which the compiler prints above the message.
template <redsink::detail::fixed_string Member, class T>
struct check_decodable {
    static_assert(Readable<T>,
                  "redsink: the Debezium decoder cannot read this member's type; use bool, an integer, float, "
                  "double, std::string, varchar, decimal, year_month_day, timestamp, timestamptz or json (or "
                  "std::optional of one); the member and its type are shown in check_decodable<...>");
    static constexpr bool ok = true;
};

template <class T>
std::string member_type_name() {
    using parts = optional_parts<T>;
    const auto name = member_reader<typename parts::value_type>::name();
    return parts::optional ? "std::optional<" + name + ">" : name;
}

}  // namespace detail

// Decodes Debezium's change events (JSON converter, with or without schemas, the envelope or
// ExtractNewRecordState's flat row) into redsink changes of one record type. Fields match
// members by name (as written, or the lowercased column name). Keeps its parsers and the
// schemas it has seen between messages: one decoder per thread. See docs/debezium.md.
template <class Record>
class Decoder {
    using info = record_info<Record>;
    static constexpr std::size_t size = info::size;

    template <std::size_t... I>
    static constexpr bool checked(std::index_sequence<I...>) noexcept {
        return (detail::check_decodable<redsink::detail::member_name<Record, I>,
                                        redsink::detail::member_type<Record, I>>::ok &&
                ...);
    }
    static_assert(checked(std::make_index_sequence<size>{}));

public:
    explicit Decoder(Options options = {}) : options_(std::move(options)) {
        const auto& placeholder = options_.unavailable_placeholder;
        std::string encoded;
        static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < placeholder.size(); i += 3) {
            const auto byte = [&](std::size_t k) {
                return k < placeholder.size() ? static_cast<unsigned char>(placeholder[k]) : 0u;
            };
            const unsigned word = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
            for (std::size_t k = 0; k < 4; ++k)
                encoded.push_back(k <= placeholder.size() - i ? alphabet[(word >> (18 - 6 * k)) & 63] : '=');
        }
        std::string hex;
        for (const char c : placeholder) {
            hex.push_back("0123456789abcdef"[static_cast<unsigned char>(c) >> 4]);
            hex.push_back("0123456789abcdef"[static_cast<unsigned char>(c) & 15]);
        }
        // As raw JSON tokens: the text, its base64 (bytea) and hex (binary.handling.mode=hex) forms.
        placeholders_ = {"\"" + placeholder + "\"", "\"" + encoded + "\"", "\"" + hex + "\""};
    }

    // The change a message carries. Throws DecodeError (and keeps nothing of the message) when
    // it cannot be decoded.
    [[nodiscard]] Decoded<Record> decode(const Message& message) {
        const Position position{message.partition, message.offset};
        try {
            return decode_message(message, position);
        } catch (detail::Malformed& failure) {
            throw DecodeError(failure.kind, std::string(message.topic), position, std::move(failure.field),
                              std::move(failure.reason));
        }
    }

    [[nodiscard]] const Options& options() const noexcept { return options_; }

private:
    // What a row's schema says of each member, checked against the record once per schema.
    struct Plan {
        RowSchema schema;
        std::array<const FieldSchema*, size> members{};
    };

    struct RowState {
        std::bitset<size> seen, nulls, unavailable;
    };

    // The metadata fields ExtractNewRecordState adds to a flat row.
    struct Metadata {
        std::optional<Op> op;
        bool deleted = false;
    };

    using Reader = void (*)(detail::FieldRead&, Record&, RowState&);

    template <std::size_t I>
    static void read_member(detail::FieldRead& in, Record& row, RowState& state) {
        using T = redsink::detail::member_type<Record, I>;
        using parts = detail::optional_parts<T>;
        auto& out = info::template member<I>(row);
        if (in.type() == simdjson::ondemand::json_type::null) {
            (void)in.get(in.value.is_null(), "null");
            if constexpr (parts::optional) out = std::nullopt;
            state.nulls.set(I, !parts::optional);
            return;
        }
        if constexpr (parts::optional) {
            typename parts::value_type value{};
            detail::member_reader<typename parts::value_type>::read(in, value);
            out = std::move(value);
        } else {
            detail::member_reader<T>::read(in, out);
        }
        if (in.unavailable) {
            out = T{};
            state.unavailable.set(I);
        }
    }

    template <std::size_t I>
    static bool accepts(const FieldSchema& field) {
        using T = redsink::detail::member_type<Record, I>;
        return detail::member_reader<typename detail::optional_parts<T>::value_type>::accepts(field);
    }

    template <std::size_t... I>
    static constexpr std::array<Reader, size> readers(std::index_sequence<I...>) noexcept {
        return {&read_member<I>...};
    }
    template <std::size_t... I>
    static constexpr std::array<bool (*)(const FieldSchema&), size> acceptors(std::index_sequence<I...>) noexcept {
        return {&accepts<I>...};
    }
    template <std::size_t... I>
    static std::array<std::string (*)(), size> type_names(std::index_sequence<I...>) noexcept {
        return {&detail::member_type_name<redsink::detail::member_type<Record, I>>...};
    }

    static constexpr std::array<Reader, size> readers_ = readers(std::make_index_sequence<size>{});
    static constexpr std::array<bool (*)(const FieldSchema&), size> acceptors_ =
        acceptors(std::make_index_sequence<size>{});
    static constexpr std::array<bool, size> optional_ = [] {
        std::array<bool, size> out{};
        for (std::size_t i = 0; i < size; ++i) out[i] = info::column_types[i].nullable;
        return out;
    }();

    static std::string type_name(std::size_t member) { return type_names(std::make_index_sequence<size>{})[member](); }

    // The member a field names, or `size`. Debezium writes fields in column order: try the next first.
    static std::size_t member_of(std::string_view field, std::size_t next) noexcept {
        if (next < size && (info::member_names[next] == field || info::column_names[next] == field)) return next;
        for (std::size_t i = 0; i < size; ++i)
            if (info::member_names[i] == field || info::column_names[i] == field) return i;
        return size;
    }

    [[nodiscard]] bool is_metadata(std::string_view field) const noexcept {
        return !options_.metadata_prefix.empty() && field.starts_with(options_.metadata_prefix);
    }

    [[nodiscard]] bool is_placeholder(std::string_view token) const noexcept {
        while (!token.empty() &&
               (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' || token.back() == '\t'))
            token.remove_suffix(1);
        for (const auto& placeholder : placeholders_)
            if (token == placeholder) return true;
        return false;
    }

    // ---- schemas --------------------------------------------------------------------------------

    struct SchemaCache {
        std::vector<std::pair<std::string, std::unique_ptr<Plan>>> plans;
        std::size_t last = 0;
    };

    // The plan for a schema's text: the last one, one seen before, or a new one (checked).
    const Plan& plan_for(SchemaCache& cache, std::string_view text, const std::string& path, bool whole_row) {
        if (cache.last < cache.plans.size() && cache.plans[cache.last].first == text)
            return *cache.plans[cache.last].second;
        for (std::size_t i = 0; i < cache.plans.size(); ++i)
            if (cache.plans[i].first == text) {
                cache.last = i;
                return *cache.plans[i].second;
            }
        auto plan = std::make_unique<Plan>();
        plan->schema = schema_reader_.read(text, path);
        check_schema(*plan, path, whole_row);
        // Schemas change rarely; a stream that keeps changing them is kept bounded.
        if (cache.plans.size() >= 16) cache.plans.erase(cache.plans.begin());
        cache.plans.emplace_back(std::string(text), std::move(plan));
        cache.last = cache.plans.size() - 1;
        return *cache.plans.back().second;
    }

    void check_schema(Plan& plan, const std::string& path, bool whole_row) const {
        std::size_t next = 0;
        for (const auto& field : plan.schema.fields) {
            const auto member = member_of(field.field, next);
            if (member == size) {
                if (is_metadata(field.field) || options_.ignore_unknown_fields) continue;
                detail::malformed(path + "." + field.field,
                                  "is a field (" + field.describe() +
                                      ") that matches no member of the record; Options::ignore_unknown_fields "
                                      "skips such fields",
                                  ErrorKind::schema);
            }
            next = member + 1;
            if (!acceptors_[member](field))
                detail::malformed(path + "." + field.field,
                                  "is Debezium's " + field.describe() + ", which member " +
                                      std::string(info::member_names[member]) + " (" + type_name(member) +
                                      ") cannot hold",
                                  ErrorKind::schema);
            plan.members[member] = &field;
        }
        if (!whole_row) return;
        for (std::size_t i = 0; i < size; ++i)
            if (plan.members[i] == nullptr && !optional_[i])
                detail::malformed(path,
                                  "has no field for member " + std::string(info::member_names[i]) + " (" +
                                      type_name(i) + "), which is not std::optional",
                                  ErrorKind::schema);
    }

    // ---- rows -----------------------------------------------------------------------------------

    template <class T>
    static T checked(simdjson::simdjson_result<T>&& result, std::string_view path, std::string_view what) {
        return detail::checked(std::move(result), path, what);
    }

    // Reads an object's fields into `row`; what is missing or null is only noted in `state`.
    void read_row(simdjson::ondemand::object& object, const std::string& path, const Plan* plan, Record& row,
                  RowState& state, Metadata* metadata) {
        std::size_t next = 0;
        for (auto entry : object) {
            auto field = checked(std::move(entry), path, "is not valid JSON");
            const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
            const auto member = member_of(key, next);
            if (member == size) {
                if (metadata != nullptr && is_metadata(key)) {
                    read_metadata(key.substr(options_.metadata_prefix.size()), field.value(),
                                  path + "." + std::string(key), *metadata);
                    continue;
                }
                if (options_.ignore_unknown_fields) continue;
                detail::malformed(path + "." + std::string(key),
                                  "matches no member of the record; Options::ignore_unknown_fields skips such fields");
            }
            next = member + 1;
            if (state.seen.test(member)) detail::malformed(path + "." + std::string(key), "appears twice");
            state.seen.set(member);
            detail::FieldRead in{field.value(), plan ? plan->members[member] : nullptr, &options_, path, key,
                                 &scratch_};
            const auto type = in.type();
            if (type == simdjson::ondemand::json_type::string && is_placeholder(in.value.raw_json_token())) {
                (void)in.string();
                state.unavailable.set(member);
                continue;
            }
            readers_[member](in, row, state);
        }
    }

    // A create, update or read needs every member that is not optional; a delete only its key.
    static void require_whole(const RowState& state, const std::string& path) {
        for (std::size_t i = 0; i < size; ++i) {
            const std::string field = path + "." + std::string(info::member_names[i]);
            if (state.nulls.test(i))
                detail::malformed(field, "is null, but member " + std::string(info::member_names[i]) + " (" +
                                             type_name(i) + ") is not std::optional");
            if (!state.seen.test(i) && !optional_[i])
                detail::malformed(field, "is missing, and member " + std::string(info::member_names[i]) + " (" +
                                             type_name(i) + ") is not std::optional");
        }
    }

    void read_metadata(std::string_view name, simdjson::ondemand::value value, const std::string& path,
                       Metadata& metadata) {
        using simdjson::ondemand::json_type;
        if (name == "op") {
            metadata.op = op_of(checked(value.get_string(), path, "is not a string"), path);
        } else if (name == "deleted") {
            const auto type = checked(value.type(), path, "is not valid JSON");
            if (type == json_type::boolean) {
                metadata.deleted = checked(value.get_bool(), path, "is not a boolean");
            } else {
                const auto text = checked(value.get_string(), path, "is not \"true\" or \"false\"");
                if (text != "true" && text != "false") detail::malformed(path, "is not \"true\" or \"false\"");
                metadata.deleted = text == "true";
            }
        } else if (name == "lsn") {
            source_.lsn = optional_integer(value, path);
        } else if (name == "source_ts_ms") {
            source_.ts_ms = optional_integer(value, path);
        } else if (name == "ts_ms") {
            source_.event_ts_ms = optional_integer(value, path);
        } else if (name == "table") {
            source_.table = optional_text(value, path);
        } else if (name == "db") {
            source_.db = optional_text(value, path);
        } else if (name == "schema") {
            source_.schema = optional_text(value, path);
        }
    }

    static std::optional<std::int64_t> optional_integer(simdjson::ondemand::value value, const std::string& path) {
        if (checked(value.type(), path, "is not valid JSON") == simdjson::ondemand::json_type::null) {
            (void)checked(value.is_null(), path, "is not valid JSON");
            return std::nullopt;
        }
        return checked(value.get_int64(), path, "is not an integer");
    }

    static std::string optional_text(simdjson::ondemand::value value, const std::string& path) {
        if (checked(value.type(), path, "is not valid JSON") == simdjson::ondemand::json_type::null) {
            (void)checked(value.is_null(), path, "is not valid JSON");
            return {};
        }
        return std::string(checked(value.get_string(), path, "is not a string"));
    }

    static Op op_of(std::string_view op, const std::string& path) {
        if (op == "c") return Op::create;
        if (op == "u") return Op::update;
        if (op == "r") return Op::read;
        if (op == "d") return Op::remove;
        if (op == "t") detail::malformed(path, "is 't', a truncate, which is no row change");
        if (op == "m") detail::malformed(path, "is 'm', a logical decoding message, which is no row change");
        detail::malformed(path, "is '" + std::string(op) + "', not one of c, u, d, r");
    }

    void read_source(simdjson::ondemand::value value, const std::string& path) {
        using simdjson::ondemand::json_type;
        if (checked(value.type(), path, "is not valid JSON") == json_type::null) return;
        auto object = checked(value.get_object(), path, "is not an object");
        for (auto entry : object) {
            auto field = checked(std::move(entry), path, "is not valid JSON");
            const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
            const auto where = path + "." + std::string(key);
            if (key == "connector")
                source_.connector = optional_text(field.value(), where);
            else if (key == "db")
                source_.db = optional_text(field.value(), where);
            else if (key == "schema")
                source_.schema = optional_text(field.value(), where);
            else if (key == "table")
                source_.table = optional_text(field.value(), where);
            else if (key == "lsn")
                source_.lsn = optional_integer(field.value(), where);
            else if (key == "txId")
                source_.tx_id = optional_integer(field.value(), where);
            else if (key == "file")
                source_.file = optional_text(field.value(), where);
            else if (key == "pos")
                source_.pos = optional_integer(field.value(), where);
            else if (key == "row")
                source_.row = optional_integer(field.value(), where);
            else if (key == "gtid")
                source_.gtid = optional_text(field.value(), where);
            else if (key == "ts_ms")
                source_.ts_ms = optional_integer(field.value(), where);
            else if (key == "snapshot") {
                auto snapshot = field.value();
                const auto type = checked(snapshot.type(), where, "is not valid JSON");
                if (type == json_type::boolean)
                    source_.snapshot = checked(snapshot.get_bool(), where, "is not a boolean") ? "true" : "false";
                else
                    source_.snapshot = optional_text(snapshot, where);
            }
        }
    }

    // ---- messages -------------------------------------------------------------------------------

    simdjson::ondemand::document& iterate(simdjson::ondemand::parser& parser, std::unique_ptr<char[]>& buffer,
                                          std::size_t& capacity, simdjson::ondemand::document& document,
                                          std::string_view text, const std::string& path) {
        // simdjson reads a little past the end of its input: a padded copy.
        const auto needed = text.size() + simdjson::SIMDJSON_PADDING;
        if (needed > capacity) {
            buffer = std::make_unique<char[]>(needed);
            capacity = needed;
        }
        if (!text.empty()) std::memcpy(buffer.get(), text.data(), text.size());
        std::memset(buffer.get() + text.size(), 0, simdjson::SIMDJSON_PADDING);
        document = checked(parser.iterate(buffer.get(), text.size(), capacity), path, "is not valid JSON");
        return document;
    }

    static bool is_null(simdjson::ondemand::document& document, const std::string& path) {
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
    static Envelope envelope_of(Object& object, const std::string& path) {
        int schema = 0, payload = 0, other = 0;
        Envelope out;
        for (auto entry : object) {
            auto field = checked(std::move(entry), path, "is not valid JSON");
            const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
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
    static std::optional<simdjson::ondemand::object> payload_of(Object& top, const std::string& path) {
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
        detail::malformed(path, "has no payload");
    }

    // Overlays the message key's fields on `row` (deletes and tombstones).
    void read_key(const Message& message, Record& row, RowState& state) {
        if (!message.key) return;
        const std::string path = "key";
        auto& document = iterate(key_parser_, key_buffer_, key_capacity_, key_document_, *message.key, path);
        if (is_null(document, path)) return;
        auto root = checked(document.get_object(), path, "is not a JSON object");
        const auto envelope = envelope_of(root, path);
        const Plan* plan = envelope.is && envelope.schema
                               ? &plan_for(key_schemas_, *envelope.schema, path + ".schema", false)
                               : nullptr;
        document.rewind();
        auto top = checked(document.get_object(), path, "is not a JSON object");
        RowState key_state;
        std::string where = path;
        if (envelope.is) {
            where = path + ".payload";
            auto payload = payload_of(top, path);
            if (payload) read_row(*payload, where, plan, row, key_state, nullptr);
            read_to_end(top, path);
        } else {
            read_row(top, where, plan, row, key_state, nullptr);
        }
        for (std::size_t i = 0; i < size; ++i)
            if (key_state.nulls.test(i))
                detail::malformed(where + "." + std::string(info::member_names[i]), "is a null key field");
        state.seen |= key_state.seen;
        state.unavailable |= key_state.unavailable;
        if (!detail::at_end(document)) detail::malformed(path, "has text after the JSON");
    }

    // Walks an object to its end, so that what follows it can be checked.
    static void read_to_end(simdjson::ondemand::object& object, const std::string& path) {
        checked_code(object.reset().error(), path);
        for (auto entry : object) (void)checked(std::move(entry), path, "is not valid JSON");
    }

    static void checked_code(simdjson::error_code code, const std::string& path) {
        if (code != simdjson::SUCCESS)
            detail::malformed(path, std::string("is not valid JSON: ") + simdjson::error_message(code));
    }

    Decoded<Record> key_only(const Message& message, Op op, Position position, const std::string& path) {
        Decoded<Record> out;
        out.change.op = op;
        out.change.position = position;
        RowState state;
        if (!message.key)
            detail::malformed(
                path, std::string("is a ") + (op == Op::tombstone ? "tombstone" : "delete") + " without a message key");
        read_key(message, out.change.row, state);
        if (state.seen.none()) detail::malformed("key", "has no field of the record: the row cannot be identified");
        out.source = std::move(source_);
        return out;
    }

    Decoded<Record> decode_message(const Message& message, Position position) {
        source_ = Source{};
        if (!message.value) return key_only(message, Op::tombstone, position, "value");
        const std::string path = "value";
        auto& document = iterate(parser_, buffer_, capacity_, document_, *message.value, path);
        if (is_null(document, path)) return key_only(message, Op::tombstone, position, path);
        auto root = checked(document.get_object(), path, "is not a JSON object");
        const auto envelope = envelope_of(root, path);
        const Plan* plan = envelope.is && envelope.schema
                               ? &plan_for(value_schemas_, *envelope.schema, path + ".schema", true)
                               : nullptr;
        document.rewind();
        auto top = checked(document.get_object(), path, "is not a JSON object");
        std::optional<Decoded<Record>> out;
        if (envelope.is) {
            auto payload = payload_of(top, path);
            if (!payload) {
                if (plan != nullptr) detail::malformed(path + ".payload", "is null but the schema is not");
                out = key_only(message, Op::tombstone, position, path);
            } else {
                out = decode_payload(*payload, path + ".payload", plan, message, position);
            }
            read_to_end(top, path);
        } else {
            out = decode_payload(top, path, plan, message, position);
        }
        if (!detail::at_end(document)) detail::malformed(path, "has text after the JSON");
        return std::move(*out);
    }

    // Debezium's envelope (op, before, after, source) or a flat row.
    Decoded<Record> decode_payload(simdjson::ondemand::object& payload, const std::string& path, const Plan* plan,
                                   const Message& message, Position position) {
        bool envelope = false;
        if (plan != nullptr) {
            envelope = plan->schema.envelope;
        } else if (member_of("op", 0) == size) {
            // The keys compared as written, not unescaped: simdjson unescapes into a buffer sized for each
            // string once per pass over the document, and reset() starts no new pass, so unescaping
            // every key here and again below would write past that buffer.
            for (auto entry : payload)
                if (checked(std::move(entry), path, "is not valid JSON").key() == "op") envelope = true;
            checked_code(payload.reset().error(), path);
        }
        Decoded<Record> out;
        out.change.position = position;
        RowState state;
        if (envelope) {
            // One pass in document order: before and after are both read when present (op may
            // come last), and the one the op names is kept.
            std::optional<Op> op;
            Record before{}, after{};
            RowState before_state, after_state;
            bool has_before = false, has_after = false;
            for (auto entry : payload) {
                auto field = checked(std::move(entry), path, "is not valid JSON");
                const auto key = checked(field.unescaped_key(), path, "is not valid JSON");
                const auto where = path + "." + std::string(key);
                if (key == "op") {
                    op = op_of(checked(field.value().get_string(), where, "is not a string"), where);
                } else if (key == "before" || key == "after") {
                    auto value = field.value();
                    if (checked(value.type(), where, "is not valid JSON") == simdjson::ondemand::json_type::null) {
                        (void)checked(value.is_null(), where, "is not valid JSON");
                        continue;
                    }
                    auto object = checked(value.get_object(), where, "is not a JSON object");
                    const bool is_before = key == "before";
                    read_row(object, where, plan, is_before ? before : after, is_before ? before_state : after_state,
                             nullptr);
                    (is_before ? has_before : has_after) = true;
                } else if (key == "source") {
                    read_source(field.value(), where);
                } else if (key == "ts_ms") {
                    source_.event_ts_ms = optional_integer(field.value(), where);
                }
            }
            if (!op) detail::malformed(path + ".op", "is missing");
            out.change.op = *op;
            if (*op == Op::remove) {
                if (has_before) {
                    out.change.row = std::move(before);
                    state = before_state;
                }
            } else {
                if (!has_after)
                    detail::malformed(path + ".after",
                                      "is missing or null in a '" + std::string(to_string(*op)) + "' event");
                out.change.row = std::move(after);
                state = after_state;
            }
        } else {
            Metadata metadata;
            read_row(payload, path, plan, out.change.row, state, &metadata);
            out.change.op = metadata.deleted ? Op::remove : metadata.op.value_or(Op::update);
        }
        if (out.change.op == Op::remove) {
            read_key(message, out.change.row, state);
            if (state.seen.none())
                detail::malformed(path,
                                  "is a delete with neither a row nor a message key: the row cannot be identified");
        } else {
            require_whole(state, path + (envelope ? ".after" : ""));
        }
        out.unavailable = state.unavailable;
        // The sink keeps the stored value of each (docs/kept-values.md).
        if (out.change.op != Op::remove)
            for (std::size_t member = 0; member < out.unavailable.size(); ++member)
                if (out.unavailable.test(member)) out.change.keep.insert(member);
        out.source = std::move(source_);
        return out;
    }

    Options options_;
    std::array<std::string, 3> placeholders_;
    simdjson::ondemand::parser parser_;
    simdjson::ondemand::document document_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    simdjson::ondemand::parser key_parser_;
    simdjson::ondemand::document key_document_;
    std::unique_ptr<char[]> key_buffer_;
    std::size_t key_capacity_ = 0;
    detail::SchemaReader schema_reader_;
    SchemaCache value_schemas_;
    SchemaCache key_schemas_;
    std::string scratch_;
    Source source_;
};

}  // namespace redsink::debezium
