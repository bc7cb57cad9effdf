#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace redsink::detail {

// RFC 8259 syntax check for a JSON document, so that a malformed document is refused with its
// column named before a batch is sent. `allow_nul_escape` is false for PostgreSQL's JSONB,
// which refuses \u0000.
class JsonSyntax {
public:
    JsonSyntax(std::string_view text, bool allow_nul_escape) noexcept
        : text_(text), allow_nul_escape_(allow_nul_escape) {}

    // The longest string (a value or a member's name) of the document checked, in bytes once
    // its escapes are read: Redshift's SUPER takes strings up to a limit.
    [[nodiscard]] std::size_t longest_string() const noexcept { return longest_; }

    // Empty when the document is valid, else why and where it is not.
    [[nodiscard]] std::string check() {
        skip_space();
        if (!value(0)) return error_;
        skip_space();
        if (pos_ != text_.size()) return fail("unexpected text after the document");
        return {};
    }

private:
    static constexpr int max_depth = 512;

    bool fail_bool(const char* why) {
        fail(why);
        return false;
    }
    std::string fail(const char* why) {
        if (error_.empty()) error_ = std::string(why) + " at byte " + std::to_string(pos_);
        return error_;
    }

    void skip_space() noexcept {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }

    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return fail_bool("invalid literal");
        pos_ += word.size();
        return true;
    }

    bool value(int depth) {
        if (depth > max_depth) return fail_bool("nesting deeper than 512 levels");
        if (pos_ >= text_.size()) return fail_bool("unexpected end of the document");
        switch (text_[pos_]) {
            case '{': return object(depth + 1);
            case '[': return array(depth + 1);
            case '"': return string();
            case 't': return literal("true");
            case 'f': return literal("false");
            case 'n': return literal("null");
            default: return number();
        }
    }

    bool object(int depth) {
        ++pos_;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
        while (true) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') return fail_bool("expected a member name");
            if (!string()) return false;
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') return fail_bool("expected ':'");
            ++pos_;
            skip_space();
            if (!value(depth)) return false;
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
            return fail_bool("expected ',' or '}'");
        }
    }

    bool array(int depth) {
        ++pos_;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
        while (true) {
            skip_space();
            if (!value(depth)) return false;
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
            return fail_bool("expected ',' or ']'");
        }
    }

    [[nodiscard]] int hex4() {
        if (pos_ + 4 > text_.size()) return -1;
        int code = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_ + static_cast<std::size_t>(i)];
            code *= 16;
            if (c >= '0' && c <= '9')
                code += c - '0';
            else if (c >= 'a' && c <= 'f')
                code += c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                code += c - 'A' + 10;
            else
                return -1;
        }
        pos_ += 4;
        return code;
    }

    bool string() {
        ++pos_;
        std::size_t bytes = 0;  // the string's bytes once its escapes are read
        while (pos_ < text_.size()) {
            const auto c = static_cast<unsigned char>(text_[pos_]);
            if (c == '"') {
                if (bytes > longest_) longest_ = bytes;
                return ++pos_, true;
            }
            if (c < 0x20) return fail_bool("control character in a string");
            if (c != '\\') {
                ++pos_;
                ++bytes;
                continue;
            }
            if (++pos_ >= text_.size()) break;
            const char escape = text_[pos_++];
            if (escape == 'u') {
                const int code = hex4();
                if (code < 0) return fail_bool("invalid \\u escape");
                if (code == 0 && !allow_nul_escape_) return fail_bool("\\u0000 is not accepted by JSONB");
                if (code >= 0xDC00 && code <= 0xDFFF) return fail_bool("unpaired low surrogate escape");
                bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
                if (code >= 0xD800 && code <= 0xDBFF) {
                    if (text_.substr(pos_, 2) != "\\u") return fail_bool("unpaired high surrogate escape");
                    pos_ += 2;
                    const int low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF) return fail_bool("unpaired high surrogate escape");
                    ++bytes;  // a pair is 4 bytes of UTF-8
                }
            } else if (std::string_view("\"\\/bfnrt").find(escape) == std::string_view::npos) {
                return fail_bool("invalid escape in a string");
            } else {
                ++bytes;
            }
        }
        return fail_bool("unterminated string");
    }

    bool digits() {
        const auto start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        return pos_ > start;
    }

    bool number() {
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '0') {
            ++pos_;
        } else if (!digits()) {
            return fail_bool("invalid value");
        }
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            if (!digits()) return fail_bool("invalid number");
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            if (!digits()) return fail_bool("invalid number");
        }
        return true;
    }

    std::string_view text_;
    bool allow_nul_escape_;
    std::size_t pos_ = 0;
    std::size_t longest_ = 0;
    std::string error_;
};

}  // namespace redsink::detail
