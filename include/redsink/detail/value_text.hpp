#pragma once

// The checks and text forms the built-in column types share: text length and UTF-8, numbers,
// dates and timestamps.
#include <redsink/bad_value.hpp>
#include <redsink/detail/utf8.hpp>
#include <redsink/dialect.hpp>
#include <redsink/param_buffer.hpp>
#include <redsink/types.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::detail {

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

}  // namespace redsink::detail
