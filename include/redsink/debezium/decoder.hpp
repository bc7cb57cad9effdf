#pragma once

// Debezium's change events into Changes of one record type: the envelope or a flat row, the
// message key for deletes and tombstones.
#include <redsink/change.hpp>
#include <redsink/debezium/envelope_reader.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/placeholder.hpp>
#include <redsink/debezium/record_fields.hpp>
#include <redsink/debezium/record_plan.hpp>
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
class Decoder : public detail::EnvelopeReader<Decoder<Record>, Record, typename detail::RecordFields<Record>::State,
                                              detail::Plan<Record>> {
    using info = record_info<Record>;
    using fields = detail::RecordFields<Record>;
    using Plan = detail::Plan<Record>;
    using RowState = typename fields::State;
    using Base = detail::EnvelopeReader<Decoder, Record, RowState, Plan>;
    friend Base;
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
    explicit Decoder(Options options = {}) : Base(std::move(options)) {
        if (options_.order_by != OrderBy::none)
            throw Error(ErrorKind::other, {},
                        "debezium::Options::order_by is for the RowDecoder: a record orders its events by a "
                        "member of its own (newest_wins<\"member\">), which the decoder fills from the message");
    }

private:
    using Base::checked;
    using Base::options_;
    using Base::scratch_;
    using Base::source_;

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
            if (this->placeholder(in)) {
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

    // Checks the message key against the row (`row_path` names it): a key field the row has must
    // hold the same value. A delete's row takes the key's fields it lacks; any other row must
    // have them all.
    void apply_key(const Message& message, Record& row, RowState& state, const detail::Place& row_path, bool remove) {
        if (!message.key) return;
        Record key_row{};
        RowState key_state;
        const auto where = this->read_key_row(*message.key, key_row, key_state);
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

    // The EnvelopeReader's questions.
    std::optional<detail::KnownPlan<Plan>> known_plan(bool key, std::string_view message) noexcept {
        return (key ? key_schemas_ : value_schemas_).known(message);
    }
    const Plan& plan_for(bool key, std::string_view schema, const std::string& path) {
        return (key ? key_schemas_ : value_schemas_)
            .plan_for(schema, path, this->schema_reader_, [&](Plan& plan, const std::string& where) {
                detail::plan_record(plan, where, !key, this->options_);
            });
    }
    static bool has_field(std::string_view name) noexcept { return fields::member_of(name, 0) != size; }
    static bool identified(const RowState& state) noexcept { return state.seen.any(); }
    static void finish(Decoded<Record>& out, const RowState& state) {
        out.unavailable = state.unavailable;
        // The sink keeps the stored value of each (docs/kept-values.md).
        if (out.change.op != Op::remove)
            for (std::size_t member = 0; member < out.unavailable.size(); ++member)
                if (out.unavailable.test(member)) out.change.keep.insert(member);
    }

    detail::SchemaPlans<Plan> value_schemas_;
    detail::SchemaPlans<Plan> key_schemas_;
};

}  // namespace redsink::debezium
