#pragma once

// Debezium's change events into Changes of one record type: the envelope or a flat row, the
// message key for deletes and tombstones.
#include <redsink/change.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/placeholder.hpp>
#include <redsink/debezium/record_fields.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/schema_plans.hpp>
#include <redsink/debezium/source_fields.hpp>
#include <redsink/record.hpp>

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium {

// Decodes Debezium's change events (JSON converter, with or without schemas, the envelope or
// ExtractNewRecordState's flat row) into redsink changes of one record type. Fields match
// members by name (as written, or the lowercased column name). Keeps its parsers and the
// schemas it has seen between messages: one decoder per thread. See docs/debezium.md.
template <class Record>
class Decoder {
    using info = record_info<Record>;
    using fields = detail::RecordFields<Record>;
    static constexpr std::size_t size = info::size;
    static_assert(fields::decodable(std::make_index_sequence<size>{}));
    static constexpr auto plain_names = [](const auto& names) {
        std::array<bool, size> out{};
        for (std::size_t i = 0; i < size; ++i) out[i] = detail::plain_name(names[i]);
        return out;
    };
    static constexpr auto plain_members = plain_names(info::member_names);
    static constexpr auto plain_columns = plain_names(info::column_names);

public:
    explicit Decoder(Options options = {})
        : options_(std::move(options)), placeholders_(options_.unavailable_placeholder) {}

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
    using Plan = detail::Plan<Record>;
    using RowState = typename fields::State;

    template <class T>
    static T checked(simdjson::simdjson_result<T>&& result, std::string_view path, std::string_view what) {
        return detail::checked(std::move(result), path, what);
    }
    template <class T>
    static T checked(simdjson::simdjson_result<T>&& result, const detail::Place& place, std::string_view what) {
        return detail::checked(std::move(result), place, what);
    }

    // Reads an object's fields into `row`; what is missing or null is only noted in `state`.
    void read_row(simdjson::ondemand::object& object, const std::string& path, const Plan* plan, Record& row,
                  RowState& state, detail::Metadata* metadata) {
        std::size_t next = 0;
        detail::UniqueKeys others;  // the names that are no member; a member's repeat is in `state`
        for (auto entry : object) {
            auto field = checked(std::move(entry), path, "is not valid JSON");
            // Debezium writes the columns in order: the next member, as written, first.
            std::string_view key;
            std::size_t member = size;
            if (next < size) {
                const auto raw = field.key();
                if (plain_members[next] && detail::written_as(raw, info::member_names[next]))
                    key = info::member_names[next];
                else if (plain_columns[next] && detail::written_as(raw, info::column_names[next]))
                    key = info::column_names[next];
                if (!key.empty()) member = next;
            }
            if (member == size) {
                key = checked(field.unescaped_key(), path, "is not valid JSON");
                member = fields::member_of(key, next);
            }
            if (member == size) {
                others.add(key, path);
                if (metadata != nullptr && detail::is_metadata(key, options_)) {
                    detail::read_metadata(key.substr(options_.metadata_prefix.size()), field.value(),
                                          detail::Place{path, key}, *metadata, source_);
                    continue;
                }
                if (options_.ignore_unknown_fields) continue;
                detail::malformed(path + "." + detail::shown_name(key),
                                  "matches no member of the record; Options::ignore_unknown_fields skips such fields");
            }
            next = member + 1;
            if (state.seen.test(member))
                detail::malformed(path + "." + detail::shown_name(key), "appears twice in the same object");
            state.seen.set(member);
            detail::FieldRead in{field.value(), plan ? plan->members[member] : nullptr, &options_, path, key,
                                 &scratch_};
            const auto type = in.type();
            if (type == simdjson::ondemand::json_type::string && placeholders_.matches(in.value.raw_json_token())) {
                (void)in.string();
                state.unavailable.set(member);
                continue;
            }
            fields::read(member, in, row, state);
        }
    }

    // A create, update or read needs every member that is not optional; a delete only its key.
    static void require_whole(const RowState& state, const detail::Place& row) {
        for (std::size_t i = 0; i < size; ++i) {
            if (!state.nulls.test(i) && (state.seen.test(i) || fields::optional(i))) continue;
            const std::string field = row.str() + "." + std::string(info::member_names[i]);
            if (state.nulls.test(i))
                detail::malformed(field, "is null, but member " + std::string(info::member_names[i]) + " (" +
                                             fields::type_name(i) + ") is not std::optional");
            if (!state.seen.test(i) && !fields::optional(i))
                detail::malformed(field, "is missing, and member " + std::string(info::member_names[i]) + " (" +
                                             fields::type_name(i) + ") is not std::optional");
        }
    }

    // The message key's fields, into `row` and `state`; returns the path of the object read.
    std::string read_key_row(std::string_view text, Record& row, RowState& state) {
        // The payload alone when the schema is known; when that fails, the message is read whole
        // below, so an error is reported the same way whichever path met it first.
        if (auto known = key_schemas_.known(text))
            if (auto payload = detail::payload_after_schema(text, known->schema_size)) try {
                    const std::string where = "key.payload";
                    auto& document = key_document_.iterate(*payload, where);
                    auto object = checked(document.get_object(), where, "is not a JSON object");
                    read_row(object, where, known->plan, row, state, nullptr);
                    if (!detail::at_end(document)) detail::malformed("key", "has text after the payload");
                    return where;
                } catch (const detail::Malformed&) {
                    row = Record{};
                    state = RowState{};
                }
        const std::string path = "key";
        auto& document = key_document_.iterate(text, path);
        if (detail::is_null(document, path)) return path;
        auto root = checked(document.get_object(), path, "is not a JSON object");
        const auto envelope = detail::envelope_of(root, path);
        const Plan* plan = envelope.is && envelope.schema ? &key_schemas_.plan_for(*envelope.schema, path + ".schema",
                                                                                   false, schema_reader_, options_)
                                                          : nullptr;
        document.rewind();
        auto top = checked(document.get_object(), path, "is not a JSON object");
        std::string where = path;
        if (envelope.is) {
            where = path + ".payload";
            auto payload = detail::payload_of(top, path);
            if (payload) read_row(*payload, where, plan, row, state, nullptr);
            detail::read_to_end(top, path);
        } else {
            read_row(top, where, plan, row, state, nullptr);
        }
        if (!detail::at_end(document)) detail::malformed(path, "has text after the JSON");
        return where;
    }

    // Checks the message key against the row (`row_path` names it): a key field the row has must
    // hold the same value. A delete's row takes the key's fields it lacks; any other row must
    // have them all.
    void apply_key(const Message& message, Record& row, RowState& state, const detail::Place& row_path, bool remove) {
        if (!message.key) return;
        Record key_row{};
        RowState key_state;
        const auto where = read_key_row(*message.key, key_row, key_state);
        for (std::size_t i = 0; i < size; ++i) {
            if (!key_state.seen.test(i)) continue;
            const std::string name(info::member_names[i]);
            if (key_state.nulls.test(i)) detail::malformed(where + "." + name, "is a null key field");
            if (key_state.unavailable.test(i)) detail::malformed(where + "." + name, "is a key field without a value");
            const bool row_has = state.seen.test(i) && !state.nulls.test(i) && !state.unavailable.test(i);
            if (row_has) {
                if (!fields::same(i, key_row, row))
                    detail::malformed(where + "." + name, "does not match " + row_path.str() + "." + name +
                                                              ": the message key and the row name different rows");
            } else if (remove) {
                fields::copy(i, key_row, row);
                state.seen.set(i);
                state.nulls.reset(i);
            } else {
                detail::malformed(row_path.str() + "." + name,
                                  std::string(state.seen.test(i) ? "is null" : "is missing") +
                                      ", but the message key has a value for it");
            }
        }
    }

    Decoded<Record> key_only(const Message& message, Op op, Position position, const std::string& path) {
        Decoded<Record> out;
        out.change.op = op;
        out.change.position = position;
        RowState state;
        if (!message.key)
            detail::malformed(
                path, std::string("is a ") + (op == Op::tombstone ? "tombstone" : "delete") + " without a message key");
        apply_key(message, out.change.row, state, detail::Place{"key", {}}, true);
        if (state.seen.none()) detail::malformed("key", "has no field of the record: the row cannot be identified");
        out.source = std::move(source_);
        return out;
    }

    Decoded<Record> decode_message(const Message& message, Position position) {
        source_ = Source{};
        if (!message.value) return key_only(message, Op::tombstone, position, "value");
        // As for the key: the payload alone when the schema is known, the whole message when that fails.
        if (auto known = value_schemas_.known(*message.value))
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
        const Plan* plan = envelope.is && envelope.schema ? &value_schemas_.plan_for(*envelope.schema, path + ".schema",
                                                                                     true, schema_reader_, options_)
                                                          : nullptr;
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
        } else if (fields::member_of("op", 0) == size) {
            // The keys compared as written, not unescaped: simdjson unescapes into a buffer sized for each
            // string once per pass over the document, and reset() starts no new pass, so unescaping
            // every key here and again below would write past that buffer.
            for (auto entry : payload)
                if (checked(std::move(entry), path, "is not valid JSON").key() == "op") envelope = true;
            detail::checked_code(payload.reset().error(), path);
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
                    read_row(object, where.str(), plan, is_before ? before : after,
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
                }
            } else {
                if (!has_after)
                    detail::malformed(path + ".after",
                                      "is missing or null in a '" + std::string(to_string(*op)) + "' event");
                out.change.row = std::move(after);
                state = after_state;
            }
        } else {
            detail::Metadata metadata;
            read_row(payload, path, plan, out.change.row, state, &metadata);
            out.change.op = metadata.deleted ? Op::remove : metadata.op.value_or(Op::update);
        }
        const detail::Place row_path{
            path, envelope ? (out.change.op == Op::remove ? "before" : "after") : std::string_view{}};
        apply_key(message, out.change.row, state, row_path, out.change.op == Op::remove);
        if (out.change.op == Op::remove) {
            if (state.seen.none())
                detail::malformed(path,
                                  "is a delete with neither a row nor a message key: the row cannot be identified");
        } else {
            require_whole(state, row_path);
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
    detail::Placeholders placeholders_;
    detail::JsonDocument value_document_;
    detail::JsonDocument key_document_;
    detail::SchemaReader schema_reader_;
    detail::SchemaPlans<Record> value_schemas_;
    detail::SchemaPlans<Record> key_schemas_;
    std::string scratch_;
    Source source_;
};

}  // namespace redsink::debezium
