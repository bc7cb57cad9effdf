#pragma once

// The conversions from Debezium's value encodings to redsink's types, independent of any JSON
// parser: base64, two's complement decimals, exact decimal text, epoch counts, ISO-8601 text.
// Each returns an empty optional or an error text; the decoder adds where the value was.
#include <redsink/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace redsink::debezium {

// The unit of an integer time value: Debezium's Timestamp/Time (ms), MicroTimestamp/MicroTime
// (µs), NanoTimestamp/NanoTime (ns).
enum class TimeUnit { millis, micros, nanos };

namespace detail {

// A result or why there is none.
template <class T>
struct Converted {
    std::optional<T> value;
    std::string error;

    static Converted fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

[[nodiscard]] constexpr int base64_digit(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Standard base64 with padding (RFC 4648), as Kafka's JSON converter writes bytes. Empty error
// text on success.
[[nodiscard]] inline std::string base64_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 != 0) return "is not base64: its length is not a multiple of 4";
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int digits[4];
        int padding = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = text[i + k];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                digits[k] = 0;
                ++padding;
                continue;
            }
            if (padding > 0 || (digits[k] = base64_digit(c)) < 0)
                return "is not base64: unexpected character at " + std::to_string(i + k);
        }
        const auto word = static_cast<std::uint32_t>(digits[0] << 18 | digits[1] << 12 | digits[2] << 6 | digits[3]);
        out.push_back(static_cast<char>(word >> 16));
        if (padding < 2) out.push_back(static_cast<char>((word >> 8) & 0xFF));
        if (padding < 1) out.push_back(static_cast<char>(word & 0xFF));
    }
    return {};
}

// PostgreSQL's infinite timestamps as Debezium sends them: the JDBC driver's constants (ms), and
// since Debezium 1.4 the largest and smallest 64-bit integers (µs).
[[nodiscard]] constexpr int infinity_sign(std::int64_t value) noexcept {
    if (value == 9223372036825200000 || value == std::numeric_limits<std::int64_t>::max()) return 1;
    if (value == -9223372036832400000 || value == std::numeric_limits<std::int64_t>::min()) return -1;
    return 0;
}

using micros = std::chrono::sys_time<std::chrono::microseconds>;

// 0001-01-01 00:00:00 and 9999-12-31 23:59:59.999999: what both dialects read the same way.
inline constexpr std::int64_t min_micros = -62135596800000000;
inline constexpr std::int64_t max_micros = 253402300799999999;

[[nodiscard]] inline Converted<micros> epoch_micros(std::int64_t count, TimeUnit unit) {
    std::int64_t us = 0;
    switch (unit) {
        case TimeUnit::millis:
            if (__builtin_mul_overflow(count, std::int64_t{1000}, &us))
                return Converted<micros>::fail("is a timestamp outside the years 1 to 9999");
            break;
        case TimeUnit::micros: us = count; break;
        case TimeUnit::nanos: us = count / 1000 - (count % 1000 < 0 ? 1 : 0); break;
    }
    if (us < min_micros || us > max_micros)
        return Converted<micros>::fail("is a timestamp outside the years 1 to 9999");
    return {micros(std::chrono::microseconds(us)), {}};
}

[[nodiscard]] inline Converted<std::chrono::year_month_day> epoch_date(std::int64_t days) {
    // 0001-01-01 and 9999-12-31 in days since 1970-01-01.
    if (days < -719162 || days > 2932896)
        return Converted<std::chrono::year_month_day>::fail("is a date outside the years 1 to 9999");
    return {std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(days))), {}};
}

[[nodiscard]] inline bool read_digits(std::string_view text, std::size_t& at, std::size_t count, int& out) noexcept {
    if (at + count > text.size()) return false;
    out = 0;
    for (std::size_t k = 0; k < count; ++k) {
        const char c = text[at + k];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    at += count;
    return true;
}

// ISO-8601 date and time as Debezium writes ZonedTimestamp ("2018-06-20T13:37:03.123456Z") and
// isostring timestamps: 'T' or a space, up to 9 fractional digits (truncated to µs), and "Z", an
// offset (+hh:mm, +hhmm, +hh) or, when `zone_optional`, nothing (read as UTC).
[[nodiscard]] inline Converted<micros> parse_iso_timestamp(std::string_view text, bool zone_optional) {
    using Result = Converted<micros>;
    const auto bad = [&] { return Result::fail("is not an ISO-8601 timestamp"); };
    std::size_t at = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_digits(text, at, 4, year) || at >= text.size() || text[at++] != '-') return bad();
    if (!read_digits(text, at, 2, month) || at >= text.size() || text[at++] != '-') return bad();
    if (!read_digits(text, at, 2, day) || at >= text.size() || (text[at] != 'T' && text[at] != ' ')) return bad();
    ++at;
    if (!read_digits(text, at, 2, hour) || at >= text.size() || text[at++] != ':') return bad();
    if (!read_digits(text, at, 2, minute) || at >= text.size() || text[at++] != ':') return bad();
    if (!read_digits(text, at, 2, second)) return bad();
    std::int64_t fraction = 0;
    if (at < text.size() && text[at] == '.') {
        ++at;
        int count = 0;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
            if (count < 6) fraction = fraction * 10 + (text[at] - '0');
            ++count;
            ++at;
        }
        if (count == 0 || count > 9) return bad();
        for (int k = count; k < 6; ++k) fraction *= 10;
    }
    std::int64_t offset_minutes = 0;
    if (at < text.size() && text[at] == 'Z') {
        ++at;
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        const bool negative = text[at++] == '-';
        int hours = 0, minutes = 0;
        if (!read_digits(text, at, 2, hours)) return bad();
        if (at < text.size() && text[at] == ':') ++at;
        if (at < text.size() && !read_digits(text, at, 2, minutes)) return bad();
        if (hours > 18 || minutes > 59) return bad();
        offset_minutes = (negative ? -1 : 1) * (hours * 60 + minutes);
    } else if (!zone_optional) {
        return Result::fail("is an ISO-8601 timestamp without a zone");
    }
    if (at != text.size()) return bad();
    const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok() || year < 1 || hour > 23 || minute > 59 || second > 59) return bad();
    const auto time = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                      std::chrono::seconds(second) + std::chrono::microseconds(fraction) -
                      std::chrono::minutes(offset_minutes);
    const auto count = time.time_since_epoch().count();
    if (count < min_micros || count > max_micros) return Result::fail("is a timestamp outside the years 1 to 9999");
    return {micros(std::chrono::microseconds(count)), {}};
}

// A time of day (Debezium's Time, MicroTime, NanoTime) as "HH:MM:SS.fff[fff[fff]]"; PostgreSQL's
// 24:00:00 included.
[[nodiscard]] inline Converted<std::string> time_of_day_text(std::int64_t count, TimeUnit unit) {
    const std::int64_t per_second = unit == TimeUnit::millis ? 1000 : unit == TimeUnit::micros ? 1000000 : 1000000000;
    const int width = unit == TimeUnit::millis ? 3 : unit == TimeUnit::micros ? 6 : 9;
    if (count < 0 || count > 86400 * per_second) return Converted<std::string>::fail("is a time of day out of range");
    const auto seconds = count / per_second;
    auto fraction = std::to_string(count % per_second);
    fraction.insert(0, static_cast<std::size_t>(width) - fraction.size(), '0');
    const auto two = [](std::int64_t value) { return std::string(value < 10 ? "0" : "") + std::to_string(value); };
    return {two(seconds / 3600) + ":" + two(seconds / 60 % 60) + ":" + two(seconds % 60) + "." + fraction, {}};
}

}  // namespace detail
}  // namespace redsink::debezium
