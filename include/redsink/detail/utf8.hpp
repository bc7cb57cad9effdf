#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace redsink::detail {

// Why a text is not acceptable UTF-8 for a PostgreSQL or Redshift column.
enum class Utf8Fault { none, nul_byte, invalid };

struct Utf8Check {
    Utf8Fault fault = Utf8Fault::none;
    std::size_t offset = 0;      // byte offset of the fault
    std::size_t characters = 0;  // code points, when there is no fault
};

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800-U+DFFF), nothing above
// U+10FFFF, and no NUL byte, which libpq's text parameters cannot carry.
[[nodiscard]] inline Utf8Check check_utf8(std::string_view text) noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    std::size_t characters = 0;
    while (i < size) {
        // Runs of ASCII, eight bytes at a time.
        while (i + 8 <= size) {
            std::uint64_t word = 0;
            std::memcpy(&word, bytes + i, 8);
            const bool ascii = (word & 0x8080808080808080ULL) == 0;
            const bool has_zero = ((word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL) != 0;
            if (!ascii || has_zero) break;
            i += 8;
            characters += 8;
        }
        if (i >= size) break;
        const unsigned char lead = bytes[i];
        if (lead == 0) return {Utf8Fault::nul_byte, i, 0};
        if (lead < 0x80) {
            ++i;
            ++characters;
            continue;
        }
        std::size_t length = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;   // overlong
            if (lead == 0xED) high = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;   // overlong
            if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
        } else {
            return {Utf8Fault::invalid, i, 0};
        }
        if (i + length > size) return {Utf8Fault::invalid, i, 0};
        if (bytes[i + 1] < low || bytes[i + 1] > high) return {Utf8Fault::invalid, i, 0};
        for (std::size_t k = 2; k < length; ++k)
            if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return {Utf8Fault::invalid, i, 0};
        i += length;
        ++characters;
    }
    return {Utf8Fault::none, 0, characters};
}

}  // namespace redsink::detail
