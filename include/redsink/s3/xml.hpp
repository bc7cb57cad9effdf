#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// A small XML reader for S3's responses (ListBucketResult, DeleteResult, Error): elements, text
// and entities. Attributes, comments, processing instructions and the DOCTYPE are skipped; names
// lose their namespace prefix. Not a validating parser: it refuses what it cannot read.
namespace redsink::s3::xml {

struct Element {
    std::string name;
    std::string text;  // the element's own character data, entities decoded
    std::vector<Element> children;

    // The first child of that name, or nullptr.
    [[nodiscard]] const Element* child(std::string_view child_name) const noexcept {
        for (const auto& c : children)
            if (c.name == child_name) return &c;
        return nullptr;
    }
    // The first child's text, or empty.
    [[nodiscard]] std::string child_text(std::string_view child_name) const {
        const auto* c = child(child_name);
        return c != nullptr ? c->text : std::string();
    }
};

class ParseError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        throw ParseError("XML: a character reference names no character");
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

class Reader {
public:
    explicit Reader(std::string_view input) : in_(input) {}

    Element document() {
        skip_misc();
        if (!starts("<")) fail("no root element");
        Element root = element();
        skip_misc();
        if (pos_ != in_.size()) fail("content after the root element");
        return root;
    }

private:
    [[noreturn]] void fail(std::string_view what) const {
        throw ParseError("XML: " + std::string(what) + " at byte " + std::to_string(pos_));
    }
    [[nodiscard]] bool starts(std::string_view s) const noexcept { return in_.substr(pos_, s.size()) == s; }
    void skip_space() noexcept {
        while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\r' || in_[pos_] == '\n'))
            ++pos_;
    }
    void skip_past(std::string_view end) {
        const auto at = in_.find(end, pos_);
        if (at == std::string_view::npos) fail("unterminated markup");
        pos_ = at + end.size();
    }
    // Whitespace, comments, processing instructions (the XML declaration) and a DOCTYPE.
    void skip_misc() {
        for (;;) {
            skip_space();
            if (starts("<?")) {
                skip_past("?>");
            } else if (starts("<!--")) {
                skip_past("-->");
            } else if (starts("<!DOCTYPE")) {
                skip_past(">");
            } else {
                return;
            }
        }
    }
    std::string_view name() {
        const auto begin = pos_;
        while (pos_ < in_.size()) {
            const char c = in_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>' || c == '=') break;
            ++pos_;
        }
        if (pos_ == begin) fail("a name was expected");
        return in_.substr(begin, pos_ - begin);
    }
    static std::string_view local(std::string_view qualified) noexcept {
        const auto colon = qualified.find(':');
        return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
    }
    void skip_attributes() {
        for (;;) {
            skip_space();
            if (pos_ >= in_.size()) fail("unterminated start tag");
            if (in_[pos_] == '>' || starts("/>")) return;
            (void)name();
            skip_space();
            if (!starts("=")) fail("an attribute without a value");
            ++pos_;
            skip_space();
            if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) fail("an unquoted attribute value");
            const char quote = in_[pos_++];
            const auto end = in_.find(quote, pos_);
            if (end == std::string_view::npos) fail("an unterminated attribute value");
            pos_ = end + 1;
        }
    }
    void entity(std::string& out) {
        const auto end = in_.find(';', pos_);
        if (end == std::string_view::npos || end - pos_ > 12) fail("an unterminated entity");
        const auto ref = in_.substr(pos_ + 1, end - pos_ - 1);
        pos_ = end + 1;
        if (ref == "amp") return out.push_back('&');
        if (ref == "lt") return out.push_back('<');
        if (ref == "gt") return out.push_back('>');
        if (ref == "quot") return out.push_back('"');
        if (ref == "apos") return out.push_back('\'');
        if (ref.size() >= 2 && ref[0] == '#') {
            const bool hex = ref[1] == 'x' || ref[1] == 'X';
            const auto digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) fail("an empty character reference");
            std::uint32_t cp = 0;
            for (const char c : digits) {
                std::uint32_t digit = 0;
                if (c >= '0' && c <= '9')
                    digit = static_cast<std::uint32_t>(c - '0');
                else if (hex && c >= 'a' && c <= 'f')
                    digit = static_cast<std::uint32_t>(c - 'a' + 10);
                else if (hex && c >= 'A' && c <= 'F')
                    digit = static_cast<std::uint32_t>(c - 'A' + 10);
                else
                    fail("a bad character reference");
                cp = cp * (hex ? 16U : 10U) + digit;
                if (cp > 0x10FFFF) fail("a character reference out of range");
            }
            return append_utf8(out, cp);
        }
        fail("an unknown entity");
    }
    Element element() {
        ++pos_;  // '<'
        Element e;
        const auto qualified = name();
        e.name = std::string(local(qualified));
        skip_attributes();
        if (starts("/>")) {
            pos_ += 2;
            return e;
        }
        ++pos_;  // '>'
        for (;;) {
            if (pos_ >= in_.size()) fail("an unterminated element <" + e.name + ">");
            const char c = in_[pos_];
            if (c == '&') {
                entity(e.text);
            } else if (c != '<') {
                e.text.push_back(c);
                ++pos_;
            } else if (starts("</")) {
                pos_ += 2;
                if (name() != qualified) fail("a mismatched end tag for <" + e.name + ">");
                skip_space();
                if (!starts(">")) fail("a malformed end tag");
                ++pos_;
                return e;
            } else if (starts("<![CDATA[")) {
                pos_ += 9;
                const auto end = in_.find("]]>", pos_);
                if (end == std::string_view::npos) fail("an unterminated CDATA section");
                e.text.append(in_.substr(pos_, end - pos_));
                pos_ = end + 3;
            } else if (starts("<!--")) {
                skip_past("-->");
            } else if (starts("<?")) {
                skip_past("?>");
            } else {
                if (++depth_ > 64) fail("elements nested too deep");
                e.children.push_back(element());
                --depth_;
            }
        }
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    int depth_ = 0;
};

}  // namespace detail

// Parses a whole document; throws ParseError on what it cannot read.
[[nodiscard]] inline Element parse(std::string_view document) {
    return detail::Reader(document).document();
}

// Escapes text for an element's content or an attribute value.
[[nodiscard]] inline std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&': out.append("&amp;"); break;
            case '<': out.append("&lt;"); break;
            case '>': out.append("&gt;"); break;
            case '"': out.append("&quot;"); break;
            case '\'': out.append("&apos;"); break;
            default: out.push_back(c);
        }
    }
    return out;
}

}  // namespace redsink::s3::xml
