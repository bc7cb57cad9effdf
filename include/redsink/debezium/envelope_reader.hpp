#pragma once

// The walk through a change message that every decoder shares: the converter's envelope (schema
// and payload, a known schema skipped by its bytes), Debezium's envelope (op, before, after,
// source, ts_ms) or a flat row with its metadata fields, tombstones, the message key. What a row
// is, and how its fields are read and checked, is the decoder's own (Derived).
#include <redsink/change.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/placeholder.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/source_fields.hpp>

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium::detail {

// A plan found by its schema's bytes (SchemaPlans::known): the plan, and the schema's length.
template <class Plan>
struct KnownPlan {
    const Plan* plan = nullptr;
    std::size_t schema_size = 0;
};

// Derived provides, for its Record (the row it decodes into), State (what the row's fields said)
// and Plan (what a schema says of the row; it has `schema`, the MessageSchema):
//   std::optional<KnownPlan<Plan>> known_plan(bool key, std::string_view message);
//   const Plan& plan_for(bool key, std::string_view schema_text, const std::string& path);
//   bool has_field(std::string_view name);  // whether a schemaless row may have a field "op"
//   void read_row(simdjson::ondemand::object&, const std::string& path, const Plan*, Record&, State&, Metadata*);
//   void apply_key(const Message&, Record&, State&, const Place& row, bool remove);
//   static bool identified(const State&);  // any field of the row was read
//   void require_whole(const State&, const Place& row);
//   void finish(Decoded<Record>&, const State&);  // the unavailable values, the keep set
template <class Derived, class Record, class State, class Plan>
class EnvelopeReader {
public:
    // The change a message carries. Throws DecodeError (and keeps nothing of the message) when
    // it cannot be decoded.
    [[nodiscard]] Decoded<Record> decode(const Message& message) {
        const Position position{message.partition, message.offset};
        try {
            auto out = decode_message(message, position);
            if constexpr (requires(Derived & derived) { derived.add_columns(out); }) self().add_columns(out);
            return out;
        } catch (detail::Malformed& failure) {
            throw DecodeError(failure.kind, std::string(message.topic), position, std::move(failure.field),
                              std::move(failure.reason));
        }
    }

    [[nodiscard]] const Options& options() const noexcept { return options_; }

protected:
    explicit EnvelopeReader(Options options)
        : options_(std::move(options)), placeholders_(options_.unavailable_placeholder) {}

    template <class T>
    static T checked(simdjson::simdjson_result<T>&& result, std::string_view path, std::string_view what) {
        return detail::checked(std::move(result), path, what);
    }
    template <class T>
    static T checked(simdjson::simdjson_result<T>&& result, const detail::Place& place, std::string_view what) {
        return detail::checked(std::move(result), place, what);
    }

    // Whether the field being read holds the unavailable-value placeholder (read, when it does).
    bool placeholder(FieldRead& in) {
        if (in.type() != simdjson::ondemand::json_type::string || !placeholders_.matches(in.value.raw_json_token()))
            return false;
        (void)in.string();
        return true;
    }

    // The message key's fields, into `row` and `state`; returns the path of the object read.
    std::string read_key_row(std::string_view text, Record& row, State& state) {
        // The payload alone when the schema is known; when that fails, the message is read whole
        // below, so an error is reported the same way whichever path met it first.
        if (auto known = self().known_plan(true, text))
            if (auto payload = detail::payload_after_schema(text, known->schema_size)) try {
                    const std::string where = "key.payload";
                    auto& document = key_document_.iterate(*payload, where);
                    auto object = checked(document.get_object(), where, "is not a JSON object");
                    self().read_row(object, where, known->plan, row, state, nullptr);
                    if (!detail::at_end(document)) detail::malformed("key", "has text after the payload");
                    return where;
                } catch (const detail::Malformed&) {
                    row = Record{};
                    state = State{};
                }
        const std::string path = "key";
        auto& document = key_document_.iterate(text, path);
        if (detail::is_null(document, path)) return path;
        auto root = checked(document.get_object(), path, "is not a JSON object");
        const auto envelope = detail::envelope_of(root, path);
        const Plan* plan =
            envelope.is && envelope.schema ? &self().plan_for(true, *envelope.schema, path + ".schema") : nullptr;
        document.rewind();
        auto top = checked(document.get_object(), path, "is not a JSON object");
        std::string where = path;
        if (envelope.is) {
            where = path + ".payload";
            auto payload = detail::payload_of(top, path);
            if (payload) self().read_row(*payload, where, plan, row, state, nullptr);
            detail::read_to_end(top, path);
        } else {
            self().read_row(top, where, plan, row, state, nullptr);
        }
        if (!detail::at_end(document)) detail::malformed(path, "has text after the JSON");
        return where;
    }

    Decoded<Record> key_only(const Message& message, Op op, Position position, const std::string& path) {
        Decoded<Record> out;
        out.change.op = op;
        out.change.position = position;
        State state;
        if (!message.key)
            detail::malformed(
                path, std::string("is a ") + (op == Op::tombstone ? "tombstone" : "delete") + " without a message key");
        self().apply_key(message, out.change.row, state, detail::Place{"key", {}}, true);
        if (!Derived::identified(state))
            detail::malformed("key", "has no field of the record: the row cannot be identified");
        out.source = std::move(source_);
        return out;
    }

    Decoded<Record> decode_message(const Message& message, Position position) {
        source_ = Source{};
        if (!message.value) return key_only(message, Op::tombstone, position, "value");
        // As for the key: the payload alone when the schema is known, the whole message when that fails.
        if (auto known = self().known_plan(false, *message.value))
            if (auto payload = detail::payload_after_schema(*message.value, known->schema_size)) try {
                    const std::string where = "value.payload";
                    auto& document = value_document_.iterate(*payload, where);
                    if (detail::is_null(document, where)) detail::malformed(where, "is null but the schema is not");
                    auto object = checked(document.get_object(), where, "is not a JSON object");
                    auto out = decode_payload(object, where, known->plan, message, position);
                    if (!detail::at_end(document)) detail::malformed("value", "has text after the payload");
                    return out;
                } catch (const detail::Malformed&) {
                    source_ = Source{};
                }
        const std::string path = "value";
        auto& document = value_document_.iterate(*message.value, path);
        if (detail::is_null(document, path)) return key_only(message, Op::tombstone, position, path);
        auto root = checked(document.get_object(), path, "is not a JSON object");
        const auto envelope = detail::envelope_of(root, path);
        const Plan* plan =
            envelope.is && envelope.schema ? &self().plan_for(false, *envelope.schema, path + ".schema") : nullptr;
        document.rewind();
        auto top = checked(document.get_object(), path, "is not a JSON object");
        std::optional<Decoded<Record>> out;
        if (envelope.is) {
            auto payload = detail::payload_of(top, path);
            if (!payload) {
                if (plan != nullptr) detail::malformed(path + ".payload", "is null but the schema is not");
                out = key_only(message, Op::tombstone, position, path);
            } else {
                out = decode_payload(*payload, path + ".payload", plan, message, position);
            }
            detail::read_to_end(top, path);
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
        } else if (!self().has_field("op")) {
            // The keys compared as written, not unescaped: simdjson unescapes into a buffer sized for each
            // string once per pass over the document, and reset() starts no new pass, so unescaping
            // every key here and again below would write past that buffer.
            for (auto entry : payload)
                if (checked(std::move(entry), path, "is not valid JSON").key() == "op") envelope = true;
            detail::checked_code(payload.reset().error(), path);
        }
        Decoded<Record> out;
        out.change.position = position;
        State state;
        if (envelope) {
            // One pass in document order: before and after are both read when present (op may
            // come last), and the one the op names is kept.
            std::optional<Op> op;
            // `after` is read into the event's row where it stays (a create's or update's row is
            // not moved again), `before` beside it.
            Record before{};
            Record& after = out.change.row;
            State before_state, after_state;
            bool has_before = false, has_after = false;
            detail::UniqueKeys keys;
            static constexpr std::array<std::string_view, 5> names{"after", "before", "source", "op", "ts_ms"};
            for (auto entry : payload) {
                auto field = checked(std::move(entry), path, "is not valid JSON");
                const auto key = detail::member_name(field, names, path).second;
                keys.add(key, path);
                const detail::Place where{path, key};
                if (key == "op") {
                    op = detail::op_of(checked(field.value().get_string(), where, "is not a string"), where);
                } else if (key == "before" || key == "after") {
                    auto value = field.value();
                    if (checked(value.type(), where, "is not valid JSON") == simdjson::ondemand::json_type::null) {
                        (void)checked(value.is_null(), where, "is not valid JSON");
                        continue;
                    }
                    auto object = checked(value.get_object(), where, "is not a JSON object");
                    const bool is_before = key == "before";
                    self().read_row(object, where.str(), plan, is_before ? before : after,
                                    is_before ? before_state : after_state, nullptr);
                    (is_before ? has_before : has_after) = true;
                } else if (key == "source") {
                    detail::read_source(field.value(), where.str(), source_);
                } else if (key == "ts_ms") {
                    source_.event_ts_ms = detail::optional_integer(field.value(), where);
                }
            }
            if (!op) detail::malformed(path + ".op", "is missing");
            out.change.op = *op;
            if (*op == Op::remove) {
                if (has_before) {
                    out.change.row = std::move(before);
                    state = before_state;
                } else if (has_after) {
                    out.change.row = Record{};  // a delete's row is its before, not its after
                }
            } else {
                if (!has_after)
                    detail::malformed(path + ".after",
                                      "is missing or null in a '" + std::string(to_string(*op)) + "' event");
                state = after_state;
            }
        } else {
            detail::Metadata metadata;
            self().read_row(payload, path, plan, out.change.row, state, &metadata);
            out.change.op = metadata.deleted ? Op::remove : metadata.op.value_or(Op::update);
        }
        const detail::Place row_path{
            path, envelope ? (out.change.op == Op::remove ? "before" : "after") : std::string_view{}};
        self().apply_key(message, out.change.row, state, row_path, out.change.op == Op::remove);
        if (out.change.op == Op::remove) {
            if (!Derived::identified(state))
                detail::malformed(path,
                                  "is a delete with neither a row nor a message key: the row cannot be identified");
        } else {
            self().require_whole(state, row_path);
        }
        self().finish(out, state);
        out.source = std::move(source_);
        return out;
    }

    Options options_;
    detail::Placeholders placeholders_;
    detail::JsonDocument value_document_;
    detail::JsonDocument key_document_;
    detail::SchemaReader schema_reader_;
    std::string scratch_;
    Source source_;

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

}  // namespace redsink::debezium::detail
