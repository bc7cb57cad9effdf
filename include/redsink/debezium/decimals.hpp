#pragma once

// Debezium's decimals, exactly: Kafka Connect's Decimal (big-endian two's complement of any
// size), decimal text and JSON numbers, as 38-digit units for redsink::decimal or as text of
// any length for a text member.
#include <redsink/debezium/values.hpp>
#include <redsink/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace redsink::debezium::detail {

inline constexpr int max_digits = 38;

[[nodiscard]] constexpr int128 pow10(int exponent) noexcept {
    int128 result = 1;
    for (int i = 0; i < exponent; ++i) result *= 10;
    return result;
}

[[nodiscard]] constexpr bool fits_digits(int128 units, int digits) noexcept {
    const auto bound = pow10(digits);
    return units > -bound && units < bound;
}

// An exact decimal: units of 10^-scale, at most 38 digits.
struct Exact {
    int128 units = 0;
    int scale = 0;
};

// An exact decimal of any size: its digits without leading zeros (empty for zero) and a scale.
struct Digits {
    bool negative = false;
    std::string digits;
    int scale = 0;

    // "a decimal of 41 digits, 2 after the point": what an error says of a value, not the value.
    [[nodiscard]] std::string describe() const {
        const auto count = std::max<long>(static_cast<long>(digits.size()), scale);
        return "a decimal of " + std::to_string(count) + " digits, " + std::to_string(std::max(scale, 0)) +
               " after the point";
    }
};

// The digits of a two's complement unscaled value of any size (Kafka Connect's Decimal).
[[nodiscard]] inline Digits twos_complement_digits(std::string_view bytes, int scale) {
    Digits out;
    out.scale = scale;
    if (bytes.empty()) return out;
    out.negative = (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;
    std::vector<std::uint8_t> magnitude(bytes.begin(), bytes.end());
    if (out.negative) {
        for (auto& byte : magnitude) byte = static_cast<std::uint8_t>(~byte);
        for (auto i = magnitude.size(); i-- > 0;)
            if (++magnitude[i] != 0) break;
    }
    // Nine decimal digits at a time, least significant first.
    std::string reversed;
    std::size_t first = 0;
    for (;;) {
        while (first < magnitude.size() && magnitude[first] == 0) ++first;
        if (first == magnitude.size()) break;
        std::uint64_t remainder = 0;
        for (std::size_t i = first; i < magnitude.size(); ++i) {
            const auto current = remainder * 256 + magnitude[i];
            magnitude[i] = static_cast<std::uint8_t>(current / 1000000000);
            remainder = current % 1000000000;
        }
        for (int k = 0; k < 9; ++k, remainder /= 10) reversed.push_back(static_cast<char>('0' + remainder % 10));
    }
    while (!reversed.empty() && reversed.back() == '0') reversed.pop_back();
    out.digits.assign(reversed.rbegin(), reversed.rend());
    return out;
}

// Decimal text, exactly: an optional sign, digits with an optional point, an optional exponent
// (JSON numbers, BigDecimal's "1E+3", decimal.handling.mode=string).
[[nodiscard]] inline Converted<Digits> parse_digits(std::string_view text, bool allow_plus = false) {
    using Result = Converted<Digits>;
    Digits out;
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '-' || (allow_plus && text[i] == '+'))) out.negative = text[i++] == '-';
    const auto digit = [&](std::size_t at) { return at < text.size() && text[at] >= '0' && text[at] <= '9'; };
    const auto start = i;
    while (digit(i)) out.digits.push_back(text[i++]);
    const bool whole = i > start;
    bool fraction = false;
    if (i < text.size() && text[i] == '.') {
        ++i;
        const auto from = i;
        while (digit(i)) {
            out.digits.push_back(text[i++]);
            ++out.scale;
        }
        fraction = i > from;
    }
    if (!whole && !fraction) return Result::fail("is not a decimal number");
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool negative_exponent = false;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative_exponent = text[i++] == '-';
        if (!digit(i)) return Result::fail("is not a decimal number");
        long exponent = 0;
        while (digit(i)) {
            exponent = exponent * 10 + (text[i++] - '0');
            if (exponent > 100000) return Result::fail("has an exponent out of range");
        }
        out.scale -= static_cast<int>(negative_exponent ? -exponent : exponent);
    }
    if (i != text.size()) return Result::fail("is not a decimal number");
    out.digits.erase(0, std::min(out.digits.find_first_not_of('0'), out.digits.size()));
    if (out.digits.empty()) out.negative = false;
    return {std::move(out), {}};
}

// The value as 38-digit units; trailing zeros after the point are dropped ("1.500" is 15 units
// at scale 1). Fails, saying how many digits, when it has more.
[[nodiscard]] inline Converted<Exact> exact_of(Digits value) {
    if (value.digits.empty()) return {Exact{0, 0}, {}};
    while (value.scale > 0 && value.digits.back() == '0') {
        value.digits.pop_back();
        --value.scale;
    }
    if (value.digits.size() > static_cast<std::size_t>(max_digits) ||
        static_cast<long>(value.digits.size()) - value.scale > max_digits)
        return Converted<Exact>::fail("is " + value.describe());
    int128 units = 0;
    for (const char c : value.digits) units = units * 10 + (c - '0');
    // A negative scale is a whole number with zeros to append.
    for (; value.scale < 0; ++value.scale) units *= 10;
    return {Exact{value.negative ? -units : units, value.scale}, {}};
}

[[nodiscard]] inline Converted<Exact> parse_exact(std::string_view text, bool allow_plus = false) {
    auto digits = parse_digits(text, allow_plus);
    if (!digits.value) return Converted<Exact>::fail(std::move(digits.error));
    return exact_of(std::move(*digits.value));
}

// The unscaled value of Kafka Connect's Decimal as 38-digit units.
[[nodiscard]] inline Converted<int128> twos_complement(std::string_view bytes) {
    std::size_t first = 0;
    const bool negative = !bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;
    const char extension = negative ? '\xFF' : '\0';
    // Leading sign-extension bytes carry no value.
    while (bytes.size() - first > 16 && bytes[first] == extension) ++first;
    const auto wide = [&] { return Converted<int128>::fail("is " + twos_complement_digits(bytes, 0).describe()); };
    if (bytes.size() - first > 16) return wide();
    uint128 bits = negative ? ~uint128{0} : 0;
    for (std::size_t i = first; i < bytes.size(); ++i) bits = (bits << 8) | static_cast<unsigned char>(bytes[i]);
    const auto units = static_cast<int128>(bits);
    if (!fits_digits(units, max_digits)) return wide();
    return {units, {}};
}

[[nodiscard]] inline int digit_count(int128 units) noexcept {
    int count = 0;
    for (; units != 0; units /= 10) ++count;
    return count;
}

// `value` at scale `to`, exactly, within `precision` digits; `member` names the member's type in
// the errors, which say how many digits the value has, never the value.
[[nodiscard]] inline Converted<int128> rescale(Exact value, int to, int precision, std::string_view member) {
    using Result = Converted<int128>;
    auto units = value.units;
    auto scale = value.scale;
    while (scale > to) {
        if (units % 10 != 0)
            return Result::fail("has " + std::to_string(value.scale) + " digits after the point, more than the " +
                                std::to_string(to) + " of " + std::string(member));
        units /= 10;
        --scale;
    }
    const auto whole = digit_count(units) - scale;
    if (whole > precision - to)
        return Result::fail("has " + std::to_string(whole) + " digits before the point, more than the " +
                            std::to_string(precision - to) + " of " + std::string(member));
    for (; scale < to; ++scale) units *= 10;
    return {units, {}};
}

// Exact decimal text of any size ("-12.50", "1200"): the scale's digits after the point.
[[nodiscard]] inline std::string plain_text(const Digits& value) {
    std::string digits = value.digits.empty() ? "0" : value.digits;
    if (value.scale <= 0) {
        if (digits != "0") digits.append(static_cast<std::size_t>(-value.scale), '0');
    } else {
        const auto scale = static_cast<std::size_t>(value.scale);
        if (digits.size() <= scale) digits.insert(0, scale - digits.size() + 1, '0');
        digits.insert(digits.size() - scale, 1, '.');
    }
    return (value.negative ? "-" : "") + digits;
}

}  // namespace redsink::debezium::detail
