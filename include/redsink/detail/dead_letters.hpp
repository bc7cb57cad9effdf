#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/detail/utf8.hpp>
#include <redsink/dialect.hpp>
#include <redsink/encode.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>
#include <redsink/types.hpp>

#include <fmt/format.h>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace redsink::detail {

// An event that cannot be written, as its row in the dead-letter table records it.
struct DeadLetter {
    Position position;
    Op op = Op::update;
    std::string column;                 // the column at fault; empty when the server did not say
    std::string sqlstate;               // the server's; empty when the client refused the value
    std::string reason;                 // without values
    std::optional<std::string> values;  // a JSON object of each column's text; none when too large
    std::string recorded_at;            // UTC, as TIMESTAMP text
};

// The dead-letter table's columns, in order (docs/dead-letters.md).
inline constexpr std::size_t dead_letter_reason_bytes = 4096;
inline constexpr std::size_t dead_letter_values_bytes = 65535;

[[nodiscard]] inline sql::TableSpec dead_letter_table_spec(sql::TableRef name, Dialect dialect) {
    sql::TableSpec spec;
    spec.name = std::move(name);
    spec.dialect = dialect;
    spec.unique_key = false;
    const auto varchar = [](std::uint32_t length, bool nullable = false) {
        return ColumnType{SqlKind::varchar, length, 0, 0, nullable};
    };
    spec.columns = {
        {"target_table", varchar(512)},
        {"source_partition", ColumnType{SqlKind::int32}},
        {"source_offset", ColumnType{SqlKind::int64}},
        {"op", varchar(16)},
        {"column_name", varchar(256, true)},
        {"sqlstate", varchar(5, true)},
        {"reason", varchar(static_cast<std::uint32_t>(dead_letter_reason_bytes))},
        {"row_values", varchar(static_cast<std::uint32_t>(dead_letter_values_bytes), true)},
        {"recorded_at", ColumnType{SqlKind::timestamp}},
    };
    return spec;
}

// The text cut to at most `bytes`, never inside a UTF-8 character.
[[nodiscard]] inline std::string truncated_utf8(std::string text, std::size_t bytes) {
    if (text.size() <= bytes) return text;
    std::size_t keep = bytes;
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
    text.resize(keep);
    return text;
}

// The time now, in UTC, as TIMESTAMP text with microseconds.
[[nodiscard]] inline std::string utc_timestamp_text() {
    using namespace std::chrono;
    const auto now = floor<microseconds>(system_clock::now());
    const auto day = floor<days>(now);
    const year_month_day date(day);
    const hh_mm_ss time(now - day);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), time.hours().count(),
                       time.minutes().count(), time.seconds().count(), time.subseconds().count());
}

// Appends `text` as a JSON string. Bytes that are not UTF-8 become the six characters \\xNN
// (a backslash, escaped, then x and two hex digits), so that the result is valid UTF-8 JSON.
inline void append_json_string(std::string& out, std::string_view text) {
    out.push_back('"');
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte >= 0x80) {
            const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
            if (i + length <= text.size() && check_utf8(text.substr(i, length)).fault == Utf8Fault::none) {
                out.append(text.substr(i, length));
                i += length;
            } else {
                out += fmt::format("\\\\x{:02X}", byte);
                ++i;
            }
            continue;
        }
        if (byte == '"' || byte == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(byte));
        } else if (byte < 0x20) {
            out += fmt::format("\\u{:04x}", byte);
        } else {
            out.push_back(static_cast<char>(byte));
        }
        ++i;
    }
    out.push_back('"');
}

// {"column": "text", ...} from one value text per column (nullptr: NULL), or none when it would
// pass the dead-letter table's row_values column.
[[nodiscard]] inline std::optional<std::string> values_json(const std::vector<std::string_view>& names,
                                                            const std::vector<std::optional<std::string>>& texts) {
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out.push_back(',');
        append_json_string(out, names[i]);
        out.push_back(':');
        if (texts[i])
            append_json_string(out, *texts[i]);
        else
            out += "null";
        if (out.size() > dead_letter_values_bytes) return std::nullopt;
    }
    out.push_back('}');
    if (out.size() > dead_letter_values_bytes) return std::nullopt;
    return out;
}

// A value's text when the encoder refused it: what it holds, as closely as text can show it
// (strings as they are, a decimal of too many digits in full), or none.
template <class T>
[[nodiscard]] std::optional<std::string> raw_text(const T& value) {
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return std::string(std::string_view(value));
    } else if constexpr (requires {
                             value.has_value();
                             *value;
                         }) {
        if (!value.has_value()) return std::nullopt;
        return raw_text(*value);
    } else if constexpr (std::is_same_v<T, json>) {
        return value.text;
    } else if constexpr (requires {
                             T::precision;
                             T::scale;
                             value.units;
                         }) {
        ParamBuffer out;
        encode_value(decimal<38, T::scale>::from_units(value.units), out, ColumnContext{});
        return std::string(out.view(0));
    } else if constexpr (std::is_floating_point_v<T>) {
        return fmt::format("{}", value);
    } else if constexpr (requires {
                             { value.value } -> std::convertible_to<std::string_view>;
                         }) {
        return std::string(std::string_view(value.value));
    } else {
        return std::nullopt;
    }
}

// A Row's value when the encoder refused it (raw_text of what it holds).
[[nodiscard]] inline std::optional<std::string> raw_text(const Value& value) {
    return std::visit(
        [](const auto& held) -> std::optional<std::string> {
            using T = std::decay_t<decltype(held)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                return std::nullopt;
            } else if constexpr (std::is_same_v<T, decimal_value>) {
                ParamBuffer out;
                encode_decimal(held.units, 38, held.scale, out, ColumnContext{});
                return std::string(out.view(0));
            } else if constexpr (std::is_integral_v<T>) {
                return std::to_string(held);
            } else {
                return raw_text(held);
            }
        },
        value);
}

// The dead letter of an event the client refused: each column's text as the sink would have
// sent it, or as raw_text shows a value it refused (a delete: its key members only).
template <class R, class Model>
[[nodiscard]] DeadLetter refused_event(const Change<R>& change, const BadValue& bad, const Model& model) {
    const bool removes = is_delete(change.op);
    std::vector<std::string_view> names;
    std::vector<std::optional<std::string>> texts;
    ParamBuffer scratch;
    const auto add = [&](std::size_t index, const auto& value) {
        const auto& column = model.column(index);
        names.push_back(column.name);
        if (removes && !model.is_key(index)) {
            texts.emplace_back();
            return;
        }
        scratch.clear();
        try {
            encode_value(value, scratch, column);
            texts.push_back(scratch.is_null(0) ? std::nullopt : std::optional<std::string>(scratch.view(0)));
        } catch (const BadValue&) {
            texts.push_back(raw_text(value));
        }
    };
    // A row of another schema (a Row) shows its own columns, by their names.
    bool fits = true;
    try {
        model.check(change.row);
    } catch (const BadValue&) {
        fits = false;
    }
    if constexpr (runtime_record<R>) {
        if (!fits && change.row.schema()) {
            const auto& theirs = *change.row.schema();
            for (std::size_t i = 0; i < theirs.size(); ++i) {
                names.push_back(theirs.table_column(i));
                texts.push_back(raw_text(change.row[i]));
            }
        }
    }
    if (fits) model.for_each(change.row, add);
    return {change.position,
            change.op,
            bad.column(),
            {},
            truncated_utf8(bad.reason(), dead_letter_reason_bytes),
            values_json(names, texts),
            utc_timestamp_text()};
}

// The reason a server gave for refusing a row: its message and detail as the connection built
// them (from the error's fields, without the server's text unless SinkOptions::verbatim_server_text).
[[nodiscard]] inline std::string server_reason(const Error& error) {
    std::string reason = error.message();
    if (!error.detail().empty()) reason += "; " + error.detail();
    return truncated_utf8(std::move(reason), dead_letter_reason_bytes);
}

}  // namespace redsink::detail
