#pragma once

#include <redsink/error.hpp>
#include <redsink/position.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium {

// A Kafka message that cannot be decoded into its record: malformed JSON, a wrong type, a number
// out of range for its member, bad base64, invalid UTF-8, a schema that does not fit the record.
// It names the topic, partition, offset and the field's path; nothing of the message was kept.
class DecodeError : public Error {
public:
    DecodeError(ErrorKind kind, std::string topic, Position position, std::string field, std::string reason)
        : Error(kind, {}, describe(topic, position, field, reason)),
          topic_(std::move(topic)),
          position_(position),
          field_(std::move(field)),
          reason_(std::move(reason)) {}

    [[nodiscard]] const std::string& topic() const noexcept { return topic_; }
    [[nodiscard]] Position position() const noexcept { return position_; }
    // The field's path in the message: "value.payload.after.total", "key.id".
    [[nodiscard]] const std::string& field() const noexcept { return field_; }
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

private:
    static std::string describe(std::string_view topic, Position position, std::string_view field,
                                std::string_view reason) {
        std::string text = "cannot decode the message at topic ";
        text.append(topic).append(", ").append(to_string(position));
        if (!field.empty()) text.append(", field ").append(field);
        return text.append(": ").append(reason);
    }

    std::string topic_;
    Position position_;
    std::string field_;
    std::string reason_;
};

}  // namespace redsink::debezium
