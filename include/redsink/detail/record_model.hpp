#pragma once

#include <redsink/bad_value.hpp>
#include <redsink/encode.hpp>
#include <redsink/record.hpp>
#include <redsink/row.hpp>
#include <redsink/sql/table.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink::detail {

// A record whose columns are known at run time (Row), not by reflection.
template <class R>
inline constexpr bool runtime_record = std::is_same_v<R, Row>;

// What the engine knows of a record type's columns, one model per kind of record: each column's
// encoder context, the key columns, how to visit a row's values in column order, whether a row
// fits, and the table the rows go to. The Batcher encodes through it, the start plans with it;
// past the encoding, a batch is text and nothing depends on the kind of record.
//
// A reflected struct: everything is known at compile time (record_info, key_info).
template <class R, class Key>
class RecordModel {
    using info = record_info<R>;
    using keys = key_info<R, Key>;

public:
    RecordModel(Dialect dialect, std::size_t super_string_limit)
        : columns_(column_contexts<R>(dialect, super_string_limit)) {}

    [[nodiscard]] static constexpr std::size_t size() noexcept { return info::size; }
    [[nodiscard]] const ColumnContext& column(std::size_t index) const noexcept { return columns_[index]; }
    [[nodiscard]] Dialect dialect() const noexcept { return columns_[0].dialect; }
    [[nodiscard]] static constexpr std::span<const std::size_t> key_indexes() noexcept { return keys::indexes; }
    [[nodiscard]] static constexpr bool is_key(std::size_t index) noexcept { return keys::is_key(index); }

    // Calls f(index, value) for each member in order (index: a std::integral_constant).
    template <class F>
    static void for_each(const R& row, F&& f) {
        info::for_each(row, std::forward<F>(f));
    }
    // A struct's rows always fit.
    static constexpr void check(const R&) noexcept {}

    [[nodiscard]] sql::TableSpec table_spec(sql::TableRef name, sql::RedshiftLayout layout) const {
        return redsink::table_spec<R, Key>(std::move(name), dialect(), std::move(layout));
    }

private:
    std::array<ColumnContext, info::size> columns_;
};

// A Row: the sink's RowSchema, given when it starts. A row of another schema does not fit (a
// BadValue naming the first column that differs).
template <>
class RecordModel<Row, void> {
public:
    RecordModel(std::shared_ptr<const RowSchema> schema, Dialect dialect, std::size_t super_string_limit)
        : schema_(std::move(schema)) {
        if (!schema_) throw Error(ErrorKind::other, {}, "Sink<Row>: no row schema");
        columns_.reserve(schema_->size());
        for (std::size_t i = 0; i < schema_->size(); ++i)
            columns_.push_back(
                ColumnContext{schema_->table_column(i), schema_->column(i).type, dialect, super_string_limit});
    }

    [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }
    [[nodiscard]] const ColumnContext& column(std::size_t index) const noexcept { return columns_[index]; }
    [[nodiscard]] Dialect dialect() const noexcept { return columns_[0].dialect; }
    [[nodiscard]] std::span<const std::size_t> key_indexes() const noexcept { return schema_->key_indexes(); }
    [[nodiscard]] bool is_key(std::size_t index) const noexcept { return schema_->is_key(index); }
    [[nodiscard]] const std::shared_ptr<const RowSchema>& schema() const noexcept { return schema_; }

    // Calls f(index, value) for each of the row's values in column order.
    template <class F>
    void for_each(const Row& row, F&& f) const {
        for (std::size_t i = 0; i < columns_.size(); ++i) f(i, row[i]);
    }

    // A row of another schema than the sink's is a BadValue naming the first column that differs.
    void check(const Row& row) const {
        const auto& theirs = row.schema();
        if (theirs == schema_) return;
        if (!theirs) throw BadValue("(row)", "has no row schema");
        if (*theirs == *schema_) return;
        for (std::size_t i = 0; i < theirs->size(); ++i) {
            const auto& column = theirs->column(i);
            const auto ours = schema_->find(column.name);
            if (!ours)
                throw BadValue(column.name,
                               "is in the row's schema and not in the sink's (the sink writes the "
                               "columns of its own RowSchema)");
            const auto& expected = schema_->column(*ours);
            if (expected.type != column.type || expected.key != column.key)
                throw BadValue(column.name, "is " + describe(column) + " in the row's schema and " +
                                                describe(expected) + " in the sink's");
        }
        for (const auto& column : schema_->columns())
            if (!theirs->find(column.name))
                throw BadValue(column.name, "is in the sink's row schema and not in the row's");
        throw BadValue("(row)", "has its columns in another order than the sink's row schema");
    }

    [[nodiscard]] sql::TableSpec table_spec(sql::TableRef name, sql::RedshiftLayout layout) const {
        return schema_->table_spec(std::move(name), dialect(), std::move(layout));
    }

private:
    [[nodiscard]] std::string describe(const RowColumn& column) const {
        return sql_type_name(column.type, dialect()) + (column.type.nullable ? " NULL" : " NOT NULL") +
               (column.key ? " (key)" : "");
    }

    std::shared_ptr<const RowSchema> schema_;
    std::vector<ColumnContext> columns_;
};

}  // namespace redsink::detail
