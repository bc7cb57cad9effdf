#pragma once

#include <redsink/dialect.hpp>

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace redsink {

// ---- Value types with no exact C++ standard counterpart -------------------------------------

// A string column of at most N: bytes on Redshift, characters on PostgreSQL.
template <std::size_t N>
struct varchar {
    static_assert(N >= 1 && N <= 65535, "redsink: varchar<N> needs 1 <= N <= 65535 (Redshift's VARCHAR(MAX))");
    std::string value;

    varchar() = default;
    varchar(std::string text) : value(std::move(text)) {}
    varchar(std::string_view text) : value(text) {}
    varchar(const char* text) : value(text) {}
    friend auto operator<=>(const varchar&, const varchar&) = default;
};

__extension__ using int128 = __int128;
__extension__ using uint128 = unsigned __int128;

namespace detail {

// Decimal text ("-12.5", "0.01"): digits, one sign, one point, at most 38 digits in all (the
// whole part's leading zeros not counted); its value as a count of 10^-scale units. Anything else
// is refused with std::invalid_argument, `what` first.
struct DecimalText {
    int128 units = 0;
    int scale = 0;
};

[[nodiscard]] inline DecimalText parse_decimal_text(std::string_view text, std::string_view what) {
    const auto fail = [&](const char* why) {
        throw std::invalid_argument(std::string(what) + ": '" + std::string(text) + "' " + why);
    };
    std::string_view digits = text;
    const bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
    const auto point = digits.find('.');
    const auto whole = digits.substr(0, point);
    const auto fraction = point == std::string_view::npos ? std::string_view{} : digits.substr(point + 1);
    const auto all_digits = [](std::string_view part) {
        return part.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if ((whole.empty() && fraction.empty()) || !all_digits(whole) || !all_digits(fraction))
        fail("is not a decimal number");
    const auto first = whole.find_first_not_of('0');
    const auto significant = first == std::string_view::npos ? 0 : whole.size() - first;
    if (significant + fraction.size() > 38) fail("has more than 38 digits");
    DecimalText out;
    for (const char c : whole) out.units = out.units * 10 + (c - '0');
    for (const char c : fraction) out.units = out.units * 10 + (c - '0');
    if (negative) out.units = -out.units;
    out.scale = static_cast<int>(fraction.size());
    return out;
}

}  // namespace detail

// An exact number with P significant digits, S of them after the point, held as an integer
// count of 10^-S units. Whether it fits in P digits is checked when it is encoded.
template <int P, int S>
struct decimal {
    static_assert(P >= 1 && P <= 38, "redsink: decimal<P, S> needs 1 <= P <= 38 (Redshift's limit)");
    static_assert(S >= 0 && S <= P, "redsink: decimal<P, S> needs 0 <= S <= P");
    static constexpr int precision = P;
    static constexpr int scale = S;

    int128 units = 0;

    constexpr decimal() = default;
    // A whole number: decimal<12, 2>{42} is 42.00.
    template <class I>
    requires std::is_integral_v<I>
    constexpr decimal(I whole) : units(static_cast<int128>(whole) * pow10(S)) {}
    // Decimal text ("-12.5", "0.01"); more than S fractional digits or anything else than
    // digits, one sign and one point is refused with std::invalid_argument.
    explicit decimal(std::string_view text) : units(parse_units(text)) {}

    [[nodiscard]] static constexpr decimal from_units(int128 units) noexcept {
        decimal value;
        value.units = units;
        return value;
    }
    [[nodiscard]] static constexpr int128 pow10(int exponent) noexcept {
        int128 result = 1;
        for (int i = 0; i < exponent; ++i) result *= 10;
        return result;
    }

    friend constexpr auto operator<=>(const decimal&, const decimal&) = default;

private:
    static int128 parse_units(std::string_view text) {
        const auto what = "redsink::decimal<" + std::to_string(P) + ", " + std::to_string(S) + ">";
        const auto parsed = detail::parse_decimal_text(text, what);
        if (parsed.scale > S)
            throw std::invalid_argument(what + ": '" + std::string(text) +
                                        "' has more fractional digits than the scale allows");
        // At this scale the value takes its whole digits and S more.
        if (parsed.units / pow10(parsed.scale) >= pow10(38 - S) || -parsed.units / pow10(parsed.scale) >= pow10(38 - S))
            throw std::invalid_argument(what + ": '" + std::string(text) + "' has more than 38 digits at this scale");
        return parsed.units * pow10(S - parsed.scale);
    }
};

// TIMESTAMP (without time zone), microsecond resolution.
struct timestamp {
    std::chrono::sys_time<std::chrono::microseconds> value{};

    constexpr timestamp() = default;
    constexpr timestamp(std::chrono::sys_time<std::chrono::microseconds> time) : value(time) {}
    // Any clock resolution, truncated toward the past to whole microseconds.
    template <class Duration>
    [[nodiscard]] static constexpr timestamp from(std::chrono::sys_time<Duration> time) {
        return timestamp{std::chrono::floor<std::chrono::microseconds>(time)};
    }
    friend constexpr auto operator<=>(const timestamp&, const timestamp&) = default;
};

// TIMESTAMPTZ: an instant, sent as UTC, microsecond resolution. A type of its own (not an alias)
// so that the two columns cannot be mixed up.
struct timestamptz {
    std::chrono::sys_time<std::chrono::microseconds> value{};

    constexpr timestamptz() = default;
    constexpr timestamptz(std::chrono::sys_time<std::chrono::microseconds> time) : value(time) {}
    template <class Duration>
    [[nodiscard]] static constexpr timestamptz from(std::chrono::sys_time<Duration> time) {
        return timestamptz{std::chrono::floor<std::chrono::microseconds>(time)};
    }
    friend constexpr auto operator<=>(const timestamptz&, const timestamptz&) = default;
};

// A JSON document: SUPER (through JSON_PARSE) on Redshift, JSONB on PostgreSQL. Its syntax is
// checked when it is encoded.
struct json {
    std::string text;

    json() = default;
    json(std::string document) : text(std::move(document)) {}
    json(const char* document) : text(document) {}
    friend auto operator<=>(const json&, const json&) = default;
};

// ---- The SQL side ---------------------------------------------------------------------------

enum class SqlKind {
    boolean,
    int16,
    int32,
    int64,
    real,
    double_precision,
    text,  // unbounded string: VARCHAR(65535) on Redshift, TEXT on PostgreSQL
    varchar,
    decimal,
    date,
    timestamp,
    timestamptz,
    json,
};

// A column's SQL type, independent of the dialect that spells it.
struct ColumnType {
    SqlKind kind = SqlKind::text;
    std::uint32_t length = 0;    // varchar
    std::uint8_t precision = 0;  // decimal
    std::uint8_t scale = 0;      // decimal
    bool nullable = false;

    friend constexpr bool operator==(const ColumnType&, const ColumnType&) = default;
};

// The longest text a Redshift VARCHAR holds, in bytes.
inline constexpr std::uint32_t redshift_max_varchar = 65535;

[[nodiscard]] inline std::string sql_type_name(const ColumnType& type, Dialect dialect) {
    const bool redshift = dialect == Dialect::redshift;
    switch (type.kind) {
        case SqlKind::boolean: return "BOOLEAN";
        case SqlKind::int16: return "SMALLINT";
        case SqlKind::int32: return "INTEGER";
        case SqlKind::int64: return "BIGINT";
        case SqlKind::real: return "REAL";
        case SqlKind::double_precision: return "DOUBLE PRECISION";
        case SqlKind::text: return redshift ? "VARCHAR(65535)" : "TEXT";
        case SqlKind::varchar: return "VARCHAR(" + std::to_string(type.length) + ")";
        case SqlKind::decimal:
            return std::string(redshift ? "DECIMAL(" : "NUMERIC(") + std::to_string(type.precision) + "," +
                   std::to_string(type.scale) + ")";
        case SqlKind::date: return "DATE";
        case SqlKind::timestamp: return "TIMESTAMP";
        case SqlKind::timestamptz: return "TIMESTAMPTZ";
        case SqlKind::json: return redshift ? "SUPER" : "JSONB";
    }
    return "?";
}

// ---- C++ type -> column ---------------------------------------------------------------------

// The one customization point for a C++ type as a column (docs/types.md). Every supported type,
// built in or an app's own, has one specialization, in one of two forms:
// - complete:
//     static constexpr ColumnType type;   // the SQL type; its spelling in each dialect
//                                         // (sql_type_name) and the table columns that can take
//                                         // it (sql::incompatibility) follow from it
//     static void encode(const T&, ParamBuffer&, const ColumnContext&);  // the text parameter
//   (the built-in specializations are in builtin_columns.hpp);
// - by another type:
//     using stored_as = <a supported type>;
//     static stored_as to_column(const T&);
//   and T is written as stored_as.
// The size a value takes in a batch is what it encodes to.
template <class T>
struct column_traits;

// What an encoder needs to know about the column it writes.
struct ColumnContext {
    std::string_view name;
    ColumnType type;
    Dialect dialect = Dialect::redshift;
    // The longest string a SUPER document may hold on Redshift, in bytes (SinkOptions).
    std::size_t super_string_limit = 65535;
};

}  // namespace redsink
