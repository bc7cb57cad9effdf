#pragma once

#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace redsink::pq {

// A completed statement's result, in text format. Owns its PGresult.
class Result final {
public:
    Result() = default;
    explicit Result(PGresult* result) noexcept : result_(result, &PQclear) {}

    [[nodiscard]] int rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }
    [[nodiscard]] int columns() const noexcept { return result_ ? PQnfields(result_.get()) : 0; }
    [[nodiscard]] bool empty() const noexcept { return rows() == 0; }

    [[nodiscard]] std::string_view column_name(int column) const {
        check(0, column, false);
        return PQfname(result_.get(), column);
    }

    [[nodiscard]] int column_index(std::string_view name) const {
        for (int column = 0; column < columns(); ++column)
            if (name == PQfname(result_.get(), column)) return column;
        throw std::out_of_range("result has no column named '" + std::string(name) + "'");
    }

    [[nodiscard]] bool is_null(int row, int column) const {
        check(row, column, true);
        return PQgetisnull(result_.get(), row, column) != 0;
    }

    // The text of a field; empty for NULL (use is_null or optional to tell them apart).
    [[nodiscard]] std::string_view get(int row, int column) const {
        check(row, column, true);
        return {PQgetvalue(result_.get(), row, column),
                static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
    }
    [[nodiscard]] std::string_view get(int row, std::string_view column) const {
        return get(row, column_index(column));
    }

    [[nodiscard]] std::optional<std::string_view> optional(int row, int column) const {
        if (is_null(row, column)) return std::nullopt;
        return get(row, column);
    }

    // A field converted to an integer, a floating-point number, a bool or a std::string.
    template <class T>
    [[nodiscard]] T as(int row, int column) const {
        if (is_null(row, column))
            throw std::invalid_argument("field (" + std::to_string(row) + ", " + std::to_string(column) + ") is NULL");
        const auto text = get(row, column);
        if constexpr (std::is_same_v<T, bool>) {
            return text == "t" || text == "true";
        } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
            T value{};
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc{} || end != text.data() + text.size())
                throw std::invalid_argument("field '" + std::string(text) + "' is not a number of the requested type");
            return value;
        } else {
            return T(text);
        }
    }
    template <class T>
    [[nodiscard]] T as(int row, std::string_view column) const {
        return as<T>(row, column_index(column));
    }

    // Rows inserted, updated, deleted or copied by the statement (PQcmdTuples).
    [[nodiscard]] std::size_t affected_rows() const noexcept {
        if (!result_) return 0;
        const char* text = PQcmdTuples(result_.get());
        return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : 0;
    }

    [[nodiscard]] PGresult* native_handle() const noexcept { return result_.get(); }

private:
    void check(int row, int column, bool check_row) const {
        if (column < 0 || column >= columns() || (check_row && (row < 0 || row >= rows())))
            throw std::out_of_range("field (" + std::to_string(row) + ", " + std::to_string(column) +
                                    ") is outside a result of " + std::to_string(rows()) + " rows and " +
                                    std::to_string(columns()) + " columns");
    }

    std::unique_ptr<PGresult, decltype(&PQclear)> result_{nullptr, &PQclear};
};

}  // namespace redsink::pq
