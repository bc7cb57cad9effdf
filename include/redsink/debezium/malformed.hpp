#pragma once

// How the decoder's parts report a message they cannot read: Malformed (the field and why),
// simdjson's results checked, and a JSON object's member names checked for repeats.
#include <redsink/debezium/error.hpp>

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::debezium::detail {

// Thrown inside the decoder; decode() turns it into a DecodeError with the message's place.
struct Malformed {
    ErrorKind kind = ErrorKind::bad_data;
    std::string field;
    std::string reason;
};

[[noreturn]] inline void malformed(std::string field, std::string reason, ErrorKind kind = ErrorKind::bad_data) {
    throw Malformed{kind, std::move(field), std::move(reason)};
}

template <class T>
T checked(simdjson::simdjson_result<T>&& result, std::string_view field, std::string_view what) {
    T value;
    if (const auto error = std::move(result).get(value); error != simdjson::SUCCESS)
        malformed(std::string(field), std::string(what) + ": " + simdjson::error_message(error));
    return value;
}

// Where a value is, written out only for an error: an object's path and a member's name.
struct Place {
    std::string_view object;
    std::string_view name;

    [[nodiscard]] std::string str() const {
        return name.empty() ? std::string(object) : std::string(object) + "." + std::string(name);
    }
};

template <class T>
T checked(simdjson::simdjson_result<T>&& result, const Place& place, std::string_view what) {
    T value;
    if (const auto error = std::move(result).get(value); error != simdjson::SUCCESS)
        malformed(place.str(), std::string(what) + ": " + simdjson::error_message(error));
    return value;
}

// A simdjson error as the Malformed it means.
inline void checked_code(simdjson::error_code code, const std::string& path) {
    if (code != simdjson::SUCCESS) malformed(path, std::string("is not valid JSON: ") + simdjson::error_message(code));
}

// Whether the whole document was read (simdjson 3.0's document has no at_end()).
inline bool at_end(simdjson::ondemand::document& document) noexcept {
    return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// A member name longer than this is cut in errors: an error names the field, it does not echo it.
inline constexpr std::size_t max_name_in_error = 64;

[[nodiscard]] inline std::string shown_name(std::string_view name) {
    if (name.size() <= max_name_in_error) return std::string(name);
    return std::string(name.substr(0, max_name_in_error)) + "...";
}

// The member names of one JSON object, so that a name given twice is an error naming it (RFC
// 8259 leaves repeats to the reader; a last-one-wins reading would let `"op":"c", ..., "op":"d"`
// decode as a delete). The views point into the parser's string buffer, valid for the document.
class UniqueKeys {
public:
    void add(std::string_view key, std::string_view object) {
        for (std::size_t i = 0; i < count_ && i < inline_.size(); ++i)
            if (inline_[i] == key) repeated(key, object);
        for (const auto seen : more_)
            if (seen == key) repeated(key, object);
        if (count_ < inline_.size())
            inline_[count_] = key;
        else
            more_.push_back(key);
        ++count_;
    }

private:
    [[noreturn]] static void repeated(std::string_view key, std::string_view object) {
        malformed(std::string(object) + "." + shown_name(key), "appears twice in the same object");
    }

    std::array<std::string_view, 16> inline_{};
    std::size_t count_ = 0;
    std::vector<std::string_view> more_;
};

}  // namespace redsink::debezium::detail
