#pragma once

// Debezium's and Kafka Connect's change events into Rows whose columns come from each message's
// schema: any topic, any table, without a struct (docs/rows.md, "Rows from messages").
#include <redsink/change.hpp>
#include <redsink/debezium/envelope_reader.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/row_columns.hpp>
#include <redsink/debezium/row_plan.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/schema_plans.hpp>
#include <redsink/debezium/source_fields.hpp>
#include <redsink/dialect.hpp>
#include <redsink/row.hpp>
#include <redsink/row_schema.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redsink::debezium {

// A decoded message as a Row: the change (its row's schema made from the message's), where it
// came from, and the columns whose value the message did not carry (in change.keep too, unless
// a delete).
template <>
struct Decoded<Row> {
    Change<Row> change;
    Source source;
    MemberSet unavailable;  // column indexes of change.row's schema

    [[nodiscard]] bool complete() const noexcept { return unavailable.empty(); }
    // The names of the `unavailable` columns, in column order.
    [[nodiscard]] std::vector<std::string_view> unavailable_members() const {
        std::vector<std::string_view> names;
        if (const auto& schema = change.row.schema())
            for (std::size_t i = 0; i < schema->size(); ++i)
                if (unavailable.contains(i)) names.push_back(schema->column(i).name);
        return names;
    }
};

namespace detail {
// What a Row's fields said, by column index, and the plan they were read with.
struct RowFieldState {
    MemberSet seen, nulls, unavailable;
    const RowPlan* plan = nullptr;
};
}  // namespace detail

// Decodes change events (the JSON converter's, with schemas; the envelope or a flat row) into
// Rows: the columns from the value's schema (docs/types.md has the type of each), the key as
// RowKey says, every column but the key's nullable. A Sink<Row, ..., evolve_schema> creates the
// table from the first row and adds the columns later schemas bring. Messages without a schema
// are read into the columns given to columns(). Keeps its parsers and the schemas it has seen:
// one decoder per thread.
class RowDecoder : public detail::EnvelopeReader<RowDecoder, Row, detail::RowFieldState, detail::RowPlan> {
    using Plan = detail::RowPlan;
    using State = detail::RowFieldState;
    using Base = detail::EnvelopeReader<RowDecoder, Row, State, Plan>;
    friend Base;

public:
    explicit RowDecoder(Options options = {}, RowKey key = {}, Dialect dialect = Dialect::postgres)
        : Base(std::move(options)), key_(std::move(key)), dialect_(dialect) {
        if (key_.mode == KeyMode::record_value && key_.fields.empty())
            throw Error(ErrorKind::other, {},
                        "RowKey: KeyMode::record_value needs the key's fields (primary.key.fields)");
        if ((key_.mode == KeyMode::kafka || key_.mode == KeyMode::none) && !key_.fields.empty())
            throw Error(ErrorKind::other, {},
                        "RowKey: key fields are for KeyMode::record_key and KeyMode::record_value only");
    }

    // The columns a message without a schema is read into, by field name (a table's, such as
    // the sink's row_schema()). Without them, such a message is a DecodeError.
    void columns(const RowSchema& table) {
        schemaless_ = std::make_unique<Plan>();
        schemaless_->plan_columns(table);
    }

    [[nodiscard]] const RowKey& key() const noexcept { return key_; }

private:
    using Base::checked;
    using Base::options_;

    // Options::order_by: the row gains the order column, last, with the message's source position
    // (a tombstone's is 0). One RowSchema with the column per RowSchema without it.
    void add_columns(Decoded<Row>& out) {
        if (options_.order_by == OrderBy::none || !out.change.row.schema()) return;
        const bool lsn = options_.order_by == OrderBy::source_lsn;
        const auto& value = lsn ? out.source.lsn : out.source.ts_ms;
        if (!value && out.change.op != Op::tombstone)
            detail::malformed(lsn ? "source.lsn" : "source.ts_ms",
                              std::string("is missing, and rows are ordered by it (Options::order_by") +
                                  (lsn && !out.source.connector.empty() && out.source.connector != "postgresql"
                                       ? "; the " + out.source.connector + " connector writes no lsn: order by ts_ms"
                                       : "") +
                                  ")",
                              ErrorKind::schema);
        const auto& unordered = out.change.row.schema();
        auto& ordered = ordered_[unordered.get()];
        if (!ordered.second) {
            auto columns = unordered->columns();
            if (unordered->find(options_.order_column))
                detail::malformed(options_.order_column,
                                  "is a field of the row, and the name of the order column (Options::order_column)",
                                  ErrorKind::schema);
            columns.push_back(RowColumn{options_.order_column, ColumnType{SqlKind::int64}, false});
            ordered = {unordered, detail::row_schema_at(options_.order_column, [&] { return RowSchema(columns); })};
        }
        auto& row = out.change.row;
        row.rebind(ordered.second);
        row[row.size() - 1] = value.value_or(0);
    }

    // The EnvelopeReader's questions.
    std::optional<detail::KnownPlan<Plan>> known_plan(bool key, std::string_view message) noexcept {
        return (key ? key_schemas_ : value_schemas_).known(message);
    }
    const Plan& plan_for(bool key, std::string_view schema, const std::string& path) {
        return (key ? key_schemas_ : value_schemas_)
            .plan_for(schema, path, this->schema_reader_, [&](Plan& plan, const std::string& where) {
                plan.plan_fields(where, dialect_, options_, !key && key_.mode == KeyMode::kafka);
            });
    }
    bool has_field(std::string_view name) const { return schemaless_ && schemaless_->column_of(name) != Plan::none; }
    static bool identified(const State& state) noexcept { return !state.seen.empty(); }
    static void finish(Decoded<Row>& out, const State& state) {
        out.unavailable = state.unavailable;
        // The sink keeps the stored value of each (docs/kept-values.md).
        if (out.change.op != Op::remove) out.change.keep = state.unavailable;
    }

    const Plan& plan_or_columns(const Plan* plan, const std::string& path) const {
        if (plan != nullptr) return *plan;
        if (!schemaless_)
            detail::malformed(path,
                              "has no schema: rows take their columns from the message's schema (the JSON "
                              "converter's schemas.enable=true), or from RowDecoder::columns()",
                              ErrorKind::schema);
        return *schemaless_;
    }

    // Reads an object's fields into `row` (a Row of the plan's columns, no key yet); what is
    // missing, null or unavailable is noted in `state`.
    void read_row(simdjson::ondemand::object& object, const std::string& path, const Plan* given, Row& row,
                  State& state, detail::Metadata* metadata) {
        const auto& plan = plan_or_columns(given, path);
        row = Row(plan.unkeyed);
        state = State{};
        state.plan = &plan;
        const auto count = plan.columns.size();
        std::size_t next = 0;
        detail::UniqueKeys others;
        for (auto entry : object) {
            auto field = checked(std::move(entry), path, "is not valid JSON");
            std::size_t column = Plan::none;
            std::string_view key;
            // The fields come in the schema's order: the next column, as written, first.
            if (next < count && plan.plain[next] && detail::written_as(field.key(), plan.columns[next].name)) {
                column = next;
                key = plan.columns[next].name;
            } else {
                key = checked(field.unescaped_key(), path, "is not valid JSON");
                column = plan.column_of(key);
            }
            if (column == Plan::none) {
                others.add(key, path);
                if (metadata != nullptr && detail::is_metadata(key, options_)) {
                    detail::read_metadata(key.substr(options_.metadata_prefix.size()), field.value(),
                                          detail::Place{path, key}, *metadata, this->source_);
                    continue;
                }
                if (options_.ignore_unknown_fields || detail::is_metadata(key, options_)) continue;
                detail::malformed(path + "." + detail::shown_name(key),
                                  given != nullptr ? "is not a field of the message's schema"
                                                   : "is no column of the table (RowDecoder::columns); "
                                                     "Options::ignore_unknown_fields skips such fields");
            }
            next = column + 1;
            if (state.seen.contains(column))
                detail::malformed(path + "." + detail::shown_name(key), "appears twice in the same object");
            state.seen.insert(column);
            detail::FieldRead in{field.value(), plan.fields[column], &options_, path, key, &this->scratch_};
            if (this->placeholder(in)) {
                state.unavailable.insert(column);
                continue;
            }
            if (in.type() == simdjson::ondemand::json_type::null) {
                (void)in.get(in.value.is_null(), "null");
                state.nulls.insert(column);
                continue;
            }
            row[column] = detail::read_value(in, plan.columns[column].type);
            if (in.unavailable) {
                row[column] = std::monostate{};
                state.unavailable.insert(column);
            }
        }
    }

    // The key columns' names for this message, from the key row read (record_key).
    std::vector<std::string> key_names(const Row& key_row, const State& key_state, const std::string& where) const {
        std::vector<std::string> names;
        switch (key_.mode) {
            case KeyMode::record_key:
                if (!key_row.schema()) return names;
                if (key_.fields.empty()) {
                    for (std::size_t j = 0; j < key_row.size(); ++j)
                        if (key_state.seen.contains(j)) names.push_back(key_row.schema()->column(j).name);
                    return names;
                }
                for (const auto& name : key_.fields) {
                    const auto j = key_row.schema()->find(name);
                    if (!j || !key_state.seen.contains(*j))
                        detail::malformed(where, "has no field \"" + detail::shown_name(name) +
                                                     "\", which RowKey::fields names (primary.key.fields)");
                    names.push_back(name);
                }
                return names;
            case KeyMode::record_value: return key_.fields;
            case KeyMode::kafka: return {detail::kafka_columns.begin(), detail::kafka_columns.end()};
            case KeyMode::none: return names;
        }
        return names;
    }

    // Checks the message key against the row (`row_path` names it), as the struct decoder does:
    // a key field the row has must hold the same value; a delete's row takes the key's fields it
    // lacks. Then gives the row its key: the RowSchema of its columns with the key's marked.
    void apply_key(const Message& message, Row& row, State& state, const detail::Place& row_path, bool remove) {
        Row key_row;
        State key_state;
        std::string where = "key";
        if (message.key) where = this->read_key_row(*message.key, key_row, key_state);
        const auto schema = row.schema();
        for (std::size_t j = 0; key_row.schema() && j < key_row.size(); ++j) {
            if (!key_state.seen.contains(j)) continue;
            const auto& name = key_row.schema()->column(j).name;
            const auto field = where + "." + detail::shown_name(name);
            if (key_state.nulls.contains(j)) detail::malformed(field, "is a null key field");
            if (key_state.unavailable.contains(j)) detail::malformed(field, "is a key field without a value");
            if (!schema) continue;  // a tombstone: the key row becomes the row
            const auto i = schema->find(name);
            if (!i) detail::malformed(field, "is a key field that is not a field of " + row_path.str());
            const bool row_has =
                state.seen.contains(*i) && !state.nulls.contains(*i) && !state.unavailable.contains(*i);
            if (row_has) {
                if (row[*i].index() != key_row[j].index())
                    detail::malformed(field, "is " + std::string(redsink::detail::value_kind(key_row[j])) +
                                                 " in the message key and " +
                                                 std::string(redsink::detail::value_kind(row[*i])) + " in " +
                                                 row_path.str() + ": their schemas give the field other types");
                if (row[*i] != key_row[j])
                    detail::malformed(field, "does not match " + row_path.str() + "." + detail::shown_name(name) +
                                                 ": the message key and the row name different rows");
            } else if (remove) {
                row[*i] = key_row[j];
                state.seen.insert(*i);
                state.nulls.erase(*i);
                state.unavailable.erase(*i);
            } else {
                detail::malformed(row_path.str() + "." + detail::shown_name(name),
                                  std::string(state.seen.contains(*i) ? "is null" : "is missing") +
                                      ", but the message key has a value for it");
            }
        }
        if (key_.mode == KeyMode::record_key && !message.key)
            detail::malformed("key",
                              "is missing, and the row's key is the message key's fields "
                              "(KeyMode::record_key; RowKey::mode chooses another)");
        auto names = key_names(key_row, key_state, where);
        if (!schema) {
            // A tombstone, or a delete without its row: the message key's fields are the row.
            if (!key_row.schema()) return;
            if (key_.mode == KeyMode::kafka) names.clear();
            auto keyed = key_state.plan->with_key(names, where);
            key_row.rebind(std::move(keyed));
            row = std::move(key_row);
            state = std::move(key_state);
            return;
        }
        if (key_.mode == KeyMode::kafka) {
            const auto n = row.size();
            row[n - 3] = std::string(message.topic);
            row[n - 2] = std::int32_t{message.partition};
            row[n - 1] = std::int64_t{message.offset};
            for (std::size_t i = n - 3; i < n; ++i) state.seen.insert(i);
        }
        auto keyed = state.plan->with_key(names, row_path.str());
        row.rebind(std::move(keyed));
        for (const auto i : row.schema()->key_indexes())
            if (std::holds_alternative<std::monostate>(row[i]))
                detail::malformed(row_path.str() + "." + detail::shown_name(row.schema()->column(i).name),
                                  std::string(state.unavailable.contains(i) ? "has no value"
                                              : state.seen.contains(i)      ? "is null"
                                                                            : "is missing") +
                                      ", and it is a key field (RowKey::fields)");
    }

    // Nothing more for a create, update or read: a column the row lacks is NULL, and apply_key
    // found the key's.
    static void require_whole(const State&, const detail::Place&) noexcept {}

    RowKey key_;
    Dialect dialect_;
    detail::SchemaPlans<Plan> value_schemas_;
    detail::SchemaPlans<Plan> key_schemas_;
    std::unique_ptr<Plan> schemaless_;
    // Options::order_by: per row schema, the one with the order column (the first kept alive).
    std::unordered_map<const RowSchema*, std::pair<std::shared_ptr<const RowSchema>, std::shared_ptr<const RowSchema>>>
        ordered_;
};

}  // namespace redsink::debezium
