#pragma once

#include <redsink/position.hpp>
#include <redsink/pq/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

}  // namespace redsink
