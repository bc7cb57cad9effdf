#pragma once

#include <redsink/detail/json_syntax.hpp>
#include <redsink/detail/utf8.hpp>
#include <redsink/dialect.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/types.hpp>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink {

// A value that cannot be written to its column: refused before anything is sent. It names the
// column and the reason, never the value; the sink adds the table and the event position.
class BadValue : public Error {
public:
    BadValue(std::string column, std::string reason, std::string table = {},
             std::optional<Position> position = std::nullopt)
        : Error(ErrorKind::bad_data, {}, describe(column, reason, table, position)),
          column_(std::move(column)),
          reason_(std::move(reason)),
          table_(std::move(table)),
          position_(position) {}

    [[nodiscard]] const std::string& column() const noexcept { return column_; }
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
    [[nodiscard]] const std::string& table() const noexcept { return table_; }
    [[nodiscard]] const std::optional<Position>& position() const noexcept { return position_; }

    // The same error, with the table and the event it came from.
    [[nodiscard]] BadValue at(std::string table, Position position) const {
        return BadValue(column_, reason_, std::move(table), position);
    }

private:
    static std::string describe(std::string_view column, std::string_view reason, std::string_view table,
                                const std::optional<Position>& position) {
        std::string text = "bad value";
        if (!table.empty()) text.append(" for table ").append(table);
        text.append(" in column \"").append(column).append("\"");
        if (position) text.append(" at ").append(to_string(*position));
        return text.append(": ").append(reason);
    }

    std::string column_;
    std::string reason_;
    std::string table_;
    std::optional<Position> position_;
};

// Encoded bind parameters: every value's text, NUL-terminated, in one growing buffer, with
// the offset of each value. Cleared between batches, it keeps its memory: encoding allocates
// nothing per value in steady state.
class ParamBuffer {
public:
    static constexpr std::uint32_t null_value = std::numeric_limits<std::uint32_t>::max();

    struct Mark {
        std::size_t values;
        std::size_t bytes;
    };

    void clear() noexcept {
        size_ = 0;
        offsets_.clear();
    }

    [[nodiscard]] std::size_t size() const noexcept { return offsets_.size(); }
    [[nodiscard]] std::size_t bytes() const noexcept { return size_; }
    [[nodiscard]] bool is_null(std::size_t index) const noexcept { return offsets_[index] == null_value; }

    // The value's text (without its NUL), or nullptr for NULL.
    [[nodiscard]] const char* data(std::size_t index) const noexcept {
        return is_null(index) ? nullptr : buffer_.get() + offsets_[index];
    }
    [[nodiscard]] std::string_view view(std::size_t index) const noexcept {
        if (is_null(index)) return {};
        const auto begin = offsets_[index];
        const auto end = index + 1 < offsets_.size() ? next_offset(index + 1) : size_;
        return {buffer_.get() + begin, end - begin - 1};
    }

    void push_null() { offsets_.push_back(null_value); }

    void push(std::string_view text) {
        char* out = prepare(text.size());
        if (!text.empty()) std::memcpy(out, text.data(), text.size());
        commit(out + text.size());
    }

    // Room for `most` bytes at the end; `commit(end)` then records the value written there.
    [[nodiscard]] char* prepare(std::size_t most) {
        const std::size_t needed = size_ + most + 1;
        if (needed > capacity_) grow(needed);
        return buffer_.get() + size_;
    }
    void commit(char* end) {
        *end = '\0';
        offsets_.push_back(static_cast<std::uint32_t>(size_));
        size_ = static_cast<std::size_t>(end - buffer_.get()) + 1;
    }

    [[nodiscard]] Mark mark() const noexcept { return {offsets_.size(), size_}; }
    void rollback(Mark mark) noexcept {
        offsets_.resize(mark.values);
        size_ = mark.bytes;
    }

    void reserve(std::size_t values, std::size_t bytes) {
        offsets_.reserve(values);
        if (bytes > capacity_) grow(bytes);
    }

private:
    [[nodiscard]] std::size_t next_offset(std::size_t from) const noexcept {
        for (std::size_t i = from; i < offsets_.size(); ++i)
            if (offsets_[i] != null_value) return offsets_[i];
        return size_;
    }

    void grow(std::size_t needed) {
        if (needed >= null_value)
            throw Error(ErrorKind::other, {}, "a batch's encoded values passed 4 GiB; lower batch_bytes or batch_rows");
        std::size_t capacity = capacity_ == 0 ? 4096 : capacity_;
        while (capacity < needed) capacity *= 2;
        auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
        if (size_ > 0) std::memcpy(bigger.get(), buffer_.get(), size_);
        buffer_ = std::move(bigger);
        capacity_ = capacity;
    }

    std::unique_ptr<char[]> buffer_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::vector<std::uint32_t> offsets_;
};

// What an encoder needs to know about the column it writes.
struct ColumnContext {
    std::string_view name;
    ColumnType type;
    Dialect dialect = Dialect::redshift;
};

namespace detail {

// PostgreSQL's largest field; Redshift's SUPER holds at most 16 MB.
inline constexpr std::size_t postgres_max_text = (std::size_t{1} << 30) - 1;
inline constexpr std::size_t redshift_max_super = std::size_t{16} << 20;

[[noreturn]] inline void refuse(const ColumnContext& column, std::string reason) {
    throw BadValue(std::string(column.name), std::move(reason));
}

inline std::size_t checked_characters(std::string_view text, const ColumnContext& column) {
    const auto check = check_utf8(text);
    if (check.fault == Utf8Fault::nul_byte)
        refuse(column, "contains a NUL byte at byte " + std::to_string(check.offset) +
                           ", which neither PostgreSQL nor Redshift text can hold");
    if (check.fault == Utf8Fault::invalid) refuse(column, "is not valid UTF-8 at byte " + std::to_string(check.offset));
    return check.characters;
}

inline void encode_text(std::string_view text, ParamBuffer& out, const ColumnContext& column) {
    const auto characters = checked_characters(text, column);
    const bool redshift = column.dialect == Dialect::redshift;
    if (column.type.kind == SqlKind::varchar) {
        const auto length = redshift ? text.size() : characters;
        if (length > column.type.length)
            refuse(column, "is " + std::to_string(length) + (redshift ? " bytes" : " characters") +
                               " long, longer than its VARCHAR(" + std::to_string(column.type.length) + ")");
    } else if (redshift && text.size() > redshift_max_varchar) {
        refuse(column, "is " + std::to_string(text.size()) +
                           " bytes long, longer than Redshift's VARCHAR(65535); use a shorter value");
    } else if (text.size() > postgres_max_text) {
        refuse(column, "is longer than PostgreSQL's 1 GB field limit");
    }
    out.push(text);
}

template <class T>
void encode_number(T value, ParamBuffer& out) {
    char* begin = out.prepare(32);
    const auto result = std::to_chars(begin, begin + 32, value);
    out.commit(result.ptr);
}

template <class T>
void encode_float(T value, ParamBuffer& out, const ColumnContext& column) {
    if (std::isfinite(value)) return encode_number(value, out);
    if (column.dialect == Dialect::redshift)
        refuse(column, std::string(std::isnan(value) ? "is NaN" : "is infinite") +
                           ", which the Redshift dialect does not write");
    out.push(std::isnan(value) ? "NaN" : (value > 0 ? "Infinity" : "-Infinity"));
}

inline char* put_digits(char* out, unsigned value, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

// "YYYY-MM-DD" for years 1 to 9999, the range both dialects read the same way.
inline char* put_date(char* out, const std::chrono::year_month_day& date, const ColumnContext& column) {
    if (!date.ok()) refuse(column, "is not a valid calendar date");
    const int year = static_cast<int>(date.year());
    if (year < 1 || year > 9999) refuse(column, "has year " + std::to_string(year) + ", outside 1 to 9999");
    out = put_digits(out, static_cast<unsigned>(year), 4);
    *out++ = '-';
    out = put_digits(out, static_cast<unsigned>(date.month()), 2);
    *out++ = '-';
    return put_digits(out, static_cast<unsigned>(date.day()), 2);
}

inline void encode_time(std::chrono::sys_time<std::chrono::microseconds> time, bool utc, ParamBuffer& out,
                        const ColumnContext& column) {
    // Far out (some 146,000 years), turning the microseconds into days and back would overflow:
    // refused before any arithmetic. Nearer, put_date refuses the year itself.
    constexpr auto far = std::chrono::microseconds(std::int64_t{1} << 62);
    if (time.time_since_epoch() < -far || time.time_since_epoch() > far) refuse(column, "has a year outside 1 to 9999");
    const auto day = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::hh_mm_ss<std::chrono::microseconds> clock(time - day);
    char* p = out.prepare(32);
    p = put_date(p, std::chrono::year_month_day(day), column);
    *p++ = ' ';
    p = put_digits(p, static_cast<unsigned>(clock.hours().count()), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<unsigned>(clock.minutes().count()), 2);
    *p++ = ':';
    p = put_digits(p, static_cast<unsigned>(clock.seconds().count()), 2);
    *p++ = '.';
    p = put_digits(p, static_cast<unsigned>(clock.subseconds().count()), 6);
    if (utc) {
        std::memcpy(p, "+00", 3);
        p += 3;
    }
    out.commit(p);
}

}  // namespace detail

// ---- The built-in column types: one column_traits specialization each -----------------------

template <>
struct column_traits<bool> {
    static constexpr ColumnType type{SqlKind::boolean};
    static void encode(bool value, ParamBuffer& out, const ColumnContext&) { out.push(value ? "t" : "f"); }
};

namespace detail {
template <class I, SqlKind Kind>
struct integer_column {
    static constexpr ColumnType type{Kind};
    static void encode(I value, ParamBuffer& out, const ColumnContext&) { encode_number(value, out); }
};
template <class F, SqlKind Kind>
struct float_column {
    static constexpr ColumnType type{Kind};
    static void encode(F value, ParamBuffer& out, const ColumnContext& column) { encode_float(value, out, column); }
};
}  // namespace detail

template <>
struct column_traits<std::int16_t> : detail::integer_column<std::int16_t, SqlKind::int16> {};
template <>
struct column_traits<std::int32_t> : detail::integer_column<std::int32_t, SqlKind::int32> {};
template <>
struct column_traits<std::int64_t> : detail::integer_column<std::int64_t, SqlKind::int64> {};
template <>
struct column_traits<float> : detail::float_column<float, SqlKind::real> {};
template <>
struct column_traits<double> : detail::float_column<double, SqlKind::double_precision> {};

template <>
struct column_traits<std::string> {
    static constexpr ColumnType type{SqlKind::text};
    static void encode(const std::string& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_text(value, out, column);
    }
};

template <std::size_t N>
struct column_traits<varchar<N>> {
    static constexpr ColumnType type{SqlKind::varchar, static_cast<std::uint32_t>(N)};
    static void encode(const varchar<N>& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_text(value.value, out, column);
    }
};

template <int P, int S>
struct column_traits<decimal<P, S>> {
    static constexpr ColumnType type{SqlKind::decimal, 0, static_cast<std::uint8_t>(P), static_cast<std::uint8_t>(S)};
    static void encode(const decimal<P, S>& value, ParamBuffer& out, const ColumnContext& column) {
        const bool negative = value.units < 0;
        auto magnitude = static_cast<uint128>(negative ? -value.units : value.units);
        if (magnitude >= static_cast<uint128>(decimal<P, S>::pow10(P)))
            detail::refuse(column, "does not fit in DECIMAL(" + std::to_string(P) + "," + std::to_string(S) + ")");
        std::array<char, 48> digits{};
        int count = 0;
        // 128-bit division is slow: most values fit in 64 bits.
        const auto next = [&](auto& rest) {
            digits[static_cast<std::size_t>(count++)] = static_cast<char>('0' + static_cast<int>(rest % 10));
            rest /= 10;
        };
        while (magnitude > UINT64_MAX) next(magnitude);
        auto small = static_cast<std::uint64_t>(magnitude);
        do next(small);
        while (small != 0 || count <= S);
        char* p = out.prepare(48);
        if (negative) *p++ = '-';
        for (int i = count - 1; i >= 0; --i) {
            *p++ = digits[static_cast<std::size_t>(i)];
            if (i == S && S > 0) *p++ = '.';
        }
        out.commit(p);
    }
};

template <>
struct column_traits<std::chrono::year_month_day> {
    static constexpr ColumnType type{SqlKind::date};
    static void encode(const std::chrono::year_month_day& value, ParamBuffer& out, const ColumnContext& column) {
        char* p = out.prepare(16);
        out.commit(detail::put_date(p, value, column));
    }
};

template <>
struct column_traits<timestamp> {
    static constexpr ColumnType type{SqlKind::timestamp};
    static void encode(const timestamp& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_time(value.value, false, out, column);
    }
};

template <>
struct column_traits<timestamptz> {
    static constexpr ColumnType type{SqlKind::timestamptz};
    static void encode(const timestamptz& value, ParamBuffer& out, const ColumnContext& column) {
        detail::encode_time(value.value, true, out, column);
    }
};

template <>
struct column_traits<json> {
    static constexpr ColumnType type{SqlKind::json};
    static void encode(const json& value, ParamBuffer& out, const ColumnContext& column) {
        detail::checked_characters(value.text, column);
        const bool redshift = column.dialect == Dialect::redshift;
        if (redshift && value.text.size() > detail::redshift_max_super)
            detail::refuse(column, "is a JSON document of " + std::to_string(value.text.size()) +
                                       " bytes, larger than Redshift's 16 MB SUPER limit");
        if (auto problem = detail::JsonSyntax(value.text, redshift).check(); !problem.empty())
            detail::refuse(column, "is not valid JSON: " + problem);
        out.push(value.text);
    }
};

// ---- What redsink reads from column_traits ----------------------------------------------------

namespace detail {
template <class T>
concept complete_traits = requires(const T& value, ParamBuffer& out, const ColumnContext& column) {
    { column_traits<T>::type } -> std::convertible_to<ColumnType>;
    column_traits<T>::encode(value, out, column);
};
template <class T>
concept stored_as_traits = requires(const T& value) {
    typename column_traits<T>::stored_as;
    { column_traits<T>::to_column(value) } -> std::convertible_to<typename column_traits<T>::stored_as>;
};
}  // namespace detail

// A C++ type as a column, whichever form its column_traits takes: `type` and `encode`. Empty for
// a type that is no column.
template <class T>
struct column_of {};

template <class T>
requires detail::complete_traits<T>
struct column_of<T> {
    static constexpr ColumnType type = column_traits<T>::type;
    static void encode(const T& value, ParamBuffer& out, const ColumnContext& column) {
        column_traits<T>::encode(value, out, column);
    }
};

template <class T>
requires(detail::stored_as_traits<T> && !detail::complete_traits<T>) struct column_of<T> {
    using stored = typename column_traits<T>::stored_as;
    static constexpr ColumnType type = column_of<stored>::type;
    static void encode(const T& value, ParamBuffer& out, const ColumnContext& column) {
        column_of<stored>::encode(static_cast<const stored&>(column_traits<T>::to_column(value)), out, column);
    }
};

// A type that can be a record member: it has a column_traits specialization of either form.
template <class T>
concept Column = requires(const T& value, ParamBuffer& out, const ColumnContext& context) {
    { column_of<T>::type } -> std::convertible_to<ColumnType>;
    column_of<T>::encode(value, out, context);
};

// Any column type nullable: NULL when empty.
template <Column T>
struct column_traits<std::optional<T>> {
    static constexpr ColumnType type = [] {
        auto nullable = column_of<T>::type;
        nullable.nullable = true;
        return nullable;
    }();
    static void encode(const std::optional<T>& value, ParamBuffer& out, const ColumnContext& column) {
        if (value)
            column_of<T>::encode(*value, out, column);
        else
            out.push_null();
    }
};

// Appends `value`'s text parameter to `out`; a bad value is a BadValue naming the column.
template <Column T>
void encode_value(const T& value, ParamBuffer& out, const ColumnContext& column) {
    column_of<T>::encode(value, out, column);
}

// Appends value `index` of `params` as one field in COPY's text format: \N for NULL, and a
// backslash escape for each backslash, newline, carriage return and tab.
inline void append_copy_field(std::string& out, const ParamBuffer& params, std::size_t index) {
    if (params.is_null(index)) {
        out.append("\\N", 2);
        return;
    }
    const std::string_view text = params.view(index);
    const char* data = text.data();
    const std::size_t size = text.size();
    std::size_t done = 0;  // bytes of text already appended
    std::size_t i = 0;
    while (i < size) {
        // Eight bytes at a time while none is below 0x0E (tab, newline, carriage return) or a backslash.
        while (i + 8 <= size) {
            std::uint64_t word = 0;
            std::memcpy(&word, data + i, 8);
            const std::uint64_t low = (word - 0x0E0E0E0E0E0E0E0EULL) & ~word & 0x8080808080808080ULL;
            const std::uint64_t slash = word ^ 0x5C5C5C5C5C5C5C5CULL;
            const std::uint64_t backslash = (slash - 0x0101010101010101ULL) & ~slash & 0x8080808080808080ULL;
            if ((low | backslash) != 0) break;
            i += 8;
        }
        const std::size_t stop = std::min(size, i + 8);
        for (; i < stop; ++i) {
            const char c = data[i];
            const char* escape = c == '\\'   ? "\\\\"
                                 : c == '\n' ? "\\n"
                                 : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t"
                                             : nullptr;
            if (escape == nullptr) continue;
            out.append(data + done, i - done).append(escape, 2);
            done = i + 1;
        }
    }
    out.append(data + done, size - done);
}

}  // namespace redsink
