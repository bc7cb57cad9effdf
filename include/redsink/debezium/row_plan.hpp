#pragma once

// What a message's schema makes of a Row: its columns (one per field, in the schema's order, the
// metadata fields left out), where the key comes from, and the RowSchemas the rows get, made once
// per schema and key.
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/row_columns.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/source_fields.hpp>
#include <redsink/dialect.hpp>
#include <redsink/error.hpp>
#include <redsink/row_schema.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace redsink::debezium {

// Where a row's key comes from: Kafka Connect's primary.key.mode.
enum class KeyMode {
    record_key,    // the message key's fields (all, or RowKey::fields of them): Debezium's primary key
    record_value,  // RowKey::fields of the row
    kafka,         // the message's topic, partition and offset, in three columns of their own
    none,          // no key: rows for an append sink
};

struct RowKey {
    KeyMode mode = KeyMode::record_key;
    // record_value: the key's fields (at least one); record_key: the message key's fields to use
    // (empty: all of them).
    std::vector<std::string> fields;
};

namespace detail {

// The columns KeyMode::kafka adds, as Kafka Connect's JDBC sinks name them.
inline constexpr std::array<std::string_view, 3> kafka_columns{"__connect_topic", "__connect_partition",
                                                               "__connect_offset"};

// A RowSchema's construction error as a schema error of the message at `path`.
template <class Make>
std::shared_ptr<const RowSchema> row_schema_at(const std::string& path, Make&& make) {
    try {
        return std::make_shared<const RowSchema>(make());
    } catch (const Error& failure) {
        malformed(path, failure.what(), ErrorKind::schema);
    }
}

// The row a schema describes. For a message without a schema, the plan is made from the
// columns the decoder was given (RowDecoder::columns): fields are then found by column name.
struct RowPlan {
    MessageSchema schema;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    // Per column, in order: its field's schema (null without one), its name, whether the name is
    // plain (compared as written, unescaped).
    std::vector<const FieldSchema*> fields;
    std::vector<RowColumn> columns;  // no key, every column nullable
    std::vector<bool> plain;
    std::unordered_map<std::string, std::size_t> by_name;  // a field's name -> its column, or none (metadata)
    std::shared_ptr<const RowSchema> unkeyed;

    // Columns from the schema's fields; the kafka mode's three after them.
    void plan_fields(const std::string& path, Dialect dialect, const Options& options, bool coordinates) {
        for (const auto& field : schema.fields) {
            if (is_metadata(field.field, options)) {
                by_name.emplace(field.field, none);
                continue;
            }
            add(field.field, column_type_of(field, dialect), &field);
        }
        if (coordinates) {
            add(std::string(kafka_columns[0]), ColumnType{SqlKind::text}, nullptr);
            add(std::string(kafka_columns[1]), ColumnType{SqlKind::int32}, nullptr);
            add(std::string(kafka_columns[2]), ColumnType{SqlKind::int64}, nullptr);
        }
        unkeyed = row_schema_at(path, [&] { return RowSchema(columns); });
    }

    // Columns from a table's (a message without a schema).
    void plan_columns(const RowSchema& table) {
        for (const auto& column : table.columns()) {
            auto type = column.type;
            type.nullable = true;
            add(column.name, type, nullptr);
        }
        unkeyed = std::make_shared<const RowSchema>(columns);
    }

    [[nodiscard]] std::size_t column_of(std::string_view name) const {
        const auto found = by_name.find(std::string(name));
        return found == by_name.end() ? none : found->second;
    }

    // The RowSchema of these columns with `key` (column names) as the key (NOT NULL).
    const std::shared_ptr<const RowSchema>& with_key(const std::vector<std::string>& key,
                                                     const std::string& path) const {
        if (key.empty()) return unkeyed;
        for (const auto& [names, keyed_schema] : keyed_)
            if (names == key) return keyed_schema;
        auto keyed = columns;
        for (const auto& name : key) {
            const auto column = column_of(name);
            if (column == none)
                malformed(path + "." + shown_name(name), "is a key field that is not a field of the row",
                          ErrorKind::schema);
            keyed[column].key = true;
            keyed[column].type.nullable = false;
        }
        keyed_.emplace_back(key, row_schema_at(path, [&] { return RowSchema(keyed); }));
        return keyed_.back().second;
    }

private:
    void add(std::string name, ColumnType type, const FieldSchema* field) {
        type.nullable = true;
        plain.push_back(plain_name(name));
        by_name.emplace(name, columns.size());
        fields.push_back(field);
        columns.push_back(RowColumn{std::move(name), type, false});
    }

    mutable std::vector<std::pair<std::vector<std::string>, std::shared_ptr<const RowSchema>>> keyed_;
};

}  // namespace detail
}  // namespace redsink::debezium
