#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace redsink::debezium::detail {

// Debezium's unavailable.value.placeholder, as the raw JSON tokens it arrives as.
class Placeholders {
public:
    explicit Placeholders(const std::string& placeholder) {
        std::string encoded;
        static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < placeholder.size(); i += 3) {
            const auto byte = [&](std::size_t k) {
                return k < placeholder.size() ? static_cast<unsigned char>(placeholder[k]) : 0u;
            };
            const unsigned word = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
            for (std::size_t k = 0; k < 4; ++k)
                encoded.push_back(k <= placeholder.size() - i ? alphabet[(word >> (18 - 6 * k)) & 63] : '=');
        }
        std::string hex;
        for (const char c : placeholder) {
            hex.push_back("0123456789abcdef"[static_cast<unsigned char>(c) >> 4]);
            hex.push_back("0123456789abcdef"[static_cast<unsigned char>(c) & 15]);
        }
        // As raw JSON tokens: the text, its base64 (bytea) and hex (binary.handling.mode=hex) forms.
        tokens_ = {"\"" + placeholder + "\"", "\"" + encoded + "\"", "\"" + hex + "\""};
    }

    // Whether a string's raw JSON token (as simdjson gives it, maybe with trailing space) is one.
    [[nodiscard]] bool matches(std::string_view token) const noexcept {
        while (!token.empty() &&
               (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' || token.back() == '\t'))
            token.remove_suffix(1);
        for (const auto& placeholder : tokens_)
            if (token == placeholder) return true;
        return false;
    }

private:
    std::array<std::string, 3> tokens_;
};

}  // namespace redsink::debezium::detail
