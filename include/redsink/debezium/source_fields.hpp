#pragma once

// The fields around a row: an envelope's op and source block, and the metadata fields that
// ExtractNewRecordState adds to a flat row.
#include <redsink/change.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/schema.hpp>

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium::detail {

// The metadata fields ExtractNewRecordState adds to a flat row.
struct Metadata {
    std::optional<Op> op;
    bool deleted = false;
};

// Whether a field is one of those metadata fields (Options::metadata_prefix).
[[nodiscard]] inline bool is_metadata(std::string_view field, const Options& options) noexcept {
    return !options.metadata_prefix.empty() && field.starts_with(options.metadata_prefix);
}

// An integer field that may be null.
inline std::optional<std::int64_t> optional_integer(simdjson::ondemand::value value, const Place& path) {
    if (checked(value.type(), path, "is not valid JSON") == simdjson::ondemand::json_type::null) {
        (void)checked(value.is_null(), path, "is not valid JSON");
        return std::nullopt;
    }
    return checked(value.get_int64(), path, "is not an integer");
}

// A text field that may be null (then empty).
inline std::string optional_text(simdjson::ondemand::value value, const Place& path) {
    if (checked(value.type(), path, "is not valid JSON") == simdjson::ondemand::json_type::null) {
        (void)checked(value.is_null(), path, "is not valid JSON");
        return {};
    }
    return std::string(checked(value.get_string(), path, "is not a string"));
}

// The change an op names; the ops that are no row change are refused.
[[nodiscard]] inline Op op_of(std::string_view op, const Place& place) {
    if (op == "c") return Op::create;
    if (op == "u") return Op::update;
    if (op == "r") return Op::read;
    if (op == "d") return Op::remove;
    const auto path = place.str();
    if (op == "t") malformed(path, "is 't', a truncate, which is no row change");
    if (op == "m") malformed(path, "is 'm', a logical decoding message, which is no row change");
    malformed(path, "is '" + shown_name(op) + "', not one of c, u, d, r");
}

// One of the metadata fields ExtractNewRecordState adds (`name` without its prefix).
inline void read_metadata(std::string_view name, simdjson::ondemand::value value, const Place& place,
                          Metadata& metadata, Source& source) {
    const auto& path = place;
    using simdjson::ondemand::json_type;
    if (name == "op") {
        metadata.op = op_of(checked(value.get_string(), path, "is not a string"), path);
    } else if (name == "deleted") {
        const auto type = checked(value.type(), path, "is not valid JSON");
        if (type == json_type::boolean) {
            metadata.deleted = checked(value.get_bool(), path, "is not a boolean");
        } else {
            const auto text = checked(value.get_string(), path, "is not \"true\" or \"false\"");
            if (text != "true" && text != "false") malformed(path.str(), "is not \"true\" or \"false\"");
            metadata.deleted = text == "true";
        }
    } else if (name == "lsn") {
        source.lsn = optional_integer(value, path);
    } else if (name == "source_ts_ms") {
        source.ts_ms = optional_integer(value, path);
    } else if (name == "ts_ms") {
        source.event_ts_ms = optional_integer(value, path);
    } else if (name == "table") {
        source.table = optional_text(value, path);
    } else if (name == "db") {
        source.db = optional_text(value, path);
    } else if (name == "schema") {
        source.schema = optional_text(value, path);
    }
}

// An envelope's source block. The names read are told apart by a table, so that a repeat of one
// is found by a bit; the others (version, name, sequence, ...) are compared with each other.
inline void read_source(simdjson::ondemand::value value, const std::string& path, Source& source) {
    using simdjson::ondemand::json_type;
    static constexpr std::array<std::string_view, 12> names{"connector", "db",  "schema", "table", "lsn",   "txId",
                                                            "file",      "pos", "row",    "gtid",  "ts_ms", "snapshot"};
    if (checked(value.type(), path, "is not valid JSON") == json_type::null) return;
    auto object = checked(value.get_object(), path, "is not an object");
    std::uint32_t seen = 0;
    UniqueKeys others;
    for (auto entry : object) {
        auto field = checked(std::move(entry), path, "is not valid JSON");
        const auto [index, key] = member_name(field, names, path);
        if (index == names.size()) {
            others.add(key, path);
            continue;
        }
        if ((seen >> index & 1U) != 0) malformed(path + "." + std::string(key), "appears twice in the same object");
        seen |= 1U << index;
        const Place where{path, key};
        switch (index) {
            case 0: source.connector = optional_text(field.value(), where); break;
            case 1: source.db = optional_text(field.value(), where); break;
            case 2: source.schema = optional_text(field.value(), where); break;
            case 3: source.table = optional_text(field.value(), where); break;
            case 4: source.lsn = optional_integer(field.value(), where); break;
            case 5: source.tx_id = optional_integer(field.value(), where); break;
            case 6: source.file = optional_text(field.value(), where); break;
            case 7: source.pos = optional_integer(field.value(), where); break;
            case 8: source.row = optional_integer(field.value(), where); break;
            case 9: source.gtid = optional_text(field.value(), where); break;
            case 10: source.ts_ms = optional_integer(field.value(), where); break;
            default: {
                auto snapshot = field.value();
                const auto type = checked(snapshot.type(), where, "is not valid JSON");
                if (type == json_type::boolean)
                    source.snapshot = checked(snapshot.get_bool(), where, "is not a boolean") ? "true" : "false";
                else
                    source.snapshot = optional_text(snapshot, where);
            }
        }
    }
}

}  // namespace redsink::debezium::detail
