#pragma once

#include <redsink/bad_value.hpp>
#include <redsink/encode.hpp>
#include <redsink/record.hpp>
#include <redsink/row.hpp>
#include <redsink/sql/table.hpp>

#include <algorithm>
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

// A Row: the sink's RowSchema. A row of another schema fits by column name: a column it lacks
// is NULL, the order does not matter; a column whose type differs (VARCHAR's length included) and
// a different key do not fit (a BadValue naming the column and both types), and a column the
// sink's schema lacks is one the sink must add first (new_columns) or, without evolve_schema, a
// BadValue. How a schema fits is worked out once and kept until a row of another schema comes.
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

    // Calls f(index, value) for each of the sink's columns in order, with the row's value of it
    // (NULL when the row's schema lacks it). The row fits (check).
    template <class F>
    void for_each(const Row& row, F&& f) const {
        if (row.schema() == schema_) {
            for (std::size_t i = 0; i < columns_.size(); ++i) f(i, row[i]);
            return;
        }
        static const Value null;
        const auto& from = fit(row).from;
        for (std::size_t i = 0; i < columns_.size(); ++i) f(i, from[i] == none ? null : row[from[i]]);
    }

    // A row that does not fit is a BadValue naming the column.
    void check(const Row& row) const {
        if (row.schema() == schema_) return;
        if (!row.schema()) throw BadValue("(row)", "has no row schema");
        const auto& found = fit(row);
        if (!found.column.empty()) throw BadValue(found.column, found.problem);
        if (!found.added.empty())
            throw BadValue(found.added.front().name,
                           "is in the row's schema and not in the table's: the sink adds columns with evolve_schema");
    }

    // The columns of the row's schema that the sink's lacks, when the rest of it fits: what the
    // sink adds (evolve_schema) before it takes the row.
    [[nodiscard]] std::vector<RowColumn> new_columns(const Row& row) const {
        if (row.schema() == schema_ || !row.schema()) return {};
        const auto& found = fit(row);
        return found.column.empty() ? found.added : std::vector<RowColumn>{};
    }

    [[nodiscard]] sql::TableSpec table_spec(sql::TableRef name, sql::RedshiftLayout layout) const {
        return schema_->table_spec(std::move(name), dialect(), std::move(layout));
    }

private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    // How a row schema fits the sink's: per sink column, the row's column or none; the columns
    // the sink's lacks; or the first column that does not fit, and why.
    struct Fit {
        std::shared_ptr<const RowSchema> schema;
        std::vector<std::size_t> from;
        std::vector<RowColumn> added;
        std::string column;
        std::string problem;
    };

    // The fit of the row's schema, worked out once: the last few other schemas are kept (during a
    // rollout, producers of an older and a newer schema interleave, and each switch would
    // otherwise work it out again).
    const Fit& fit(const Row& row) const {
        for (std::size_t i = 0; i < fits_.size(); ++i) {
            if (fits_[i].schema != row.schema()) continue;
            if (i > 0)
                std::rotate(fits_.begin(), fits_.begin() + static_cast<std::ptrdiff_t>(i),
                            fits_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            return fits_.front();
        }
        const auto& theirs = *row.schema();
        Fit out{row.schema(), std::vector<std::size_t>(columns_.size(), none), {}, {}, {}};
        const auto refuse = [&](const std::string& column, std::string why) {
            if (out.column.empty()) {
                out.column = column;
                out.problem = std::move(why);
            }
        };
        for (std::size_t j = 0; j < theirs.size(); ++j) {
            const auto& column = theirs.column(j);
            const auto ours = schema_->find(column.name);
            if (!ours) {
                if (column.key)
                    refuse(column.name,
                           "is a key column of the row's schema and not of the sink's: the sink never "
                           "changes a table's key");
                else
                    out.added.push_back(column);
                continue;
            }
            const auto& expected = schema_->column(*ours);
            auto type = column.type;
            type.nullable = expected.type.nullable;
            if (type != expected.type)
                refuse(column.name, "is " + sql_type_name(column.type, dialect()) + " in the row's schema and " +
                                        sql_type_name(expected.type, dialect()) +
                                        " in the sink's: the sink never changes a column's type");
            else if (column.key != expected.key)
                refuse(column.name, std::string(column.key ? "is" : "is not") +
                                        " a key column of the row's schema and" + (expected.key ? " is" : " not") +
                                        " of the sink's: the sink never changes a table's key");
            out.from[*ours] = j;
        }
        for (std::size_t i = 0; i < columns_.size(); ++i)
            if (out.from[i] == none && schema_->is_key(i))
                refuse(schema_->column(i).name,
                       "is a key column of the sink's and not in the row's schema: the "
                       "sink never changes a table's key");
        if (fits_.size() == kept_fits) fits_.pop_back();
        fits_.insert(fits_.begin(), std::move(out));
        return fits_.front();
    }

    std::shared_ptr<const RowSchema> schema_;
    std::vector<ColumnContext> columns_;
    static constexpr std::size_t kept_fits = 4;
    mutable std::vector<Fit> fits_;  // the other schemas seen last, most recent first (the app's thread)
};

}  // namespace redsink::detail
