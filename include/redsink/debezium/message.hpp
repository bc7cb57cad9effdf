#pragma once

#include <redsink/change.hpp>
#include <redsink/debezium/values.hpp>
#include <redsink/position.hpp>
#include <redsink/record.hpp>

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redsink::debezium {

// One Kafka message as the consumer read it. The key and value are the JSON converter's bytes;
// an absent value is a tombstone. The views must stay valid during decode().
struct Message {
    std::string_view topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string_view> key;
    std::optional<std::string_view> value;
};

// Where the change happened in the database, as far as the message says (source.* of an
// envelope, or the __lsn / __source_ts_ms fields of an unwrapped row).
struct Source {
    std::string connector;                    // "postgresql", "mysql"
    std::string db, schema, table;            // schema: PostgreSQL only
    std::optional<std::int64_t> lsn;          // PostgreSQL
    std::optional<std::int64_t> tx_id;        // PostgreSQL txId
    std::string file;                         // MySQL binlog file
    std::optional<std::int64_t> pos;          // MySQL binlog position
    std::optional<std::int64_t> row;          // MySQL row within the binlog event
    std::string gtid;                         // MySQL, when GTIDs are on
    std::string snapshot;                     // "true", "last", "false", ... (a boolean in old versions)
    std::optional<std::int64_t> ts_ms;        // when the database made the change
    std::optional<std::int64_t> event_ts_ms;  // payload.ts_ms: when Debezium processed it
};

// What to do with PostgreSQL's infinite timestamps, which redsink's timestamps cannot hold.
enum class Infinity {
    refuse,  // a DecodeError naming the field
    clamp,   // 9999-12-31 23:59:59.999999 and 0001-01-01 00:00:00
};

// How a string in a decimal member is read when the message carries no schema.
enum class DecimalStrings {
    base64,  // decimal.handling.mode=precise (Debezium's default): the unscaled value, base64
    text,    // decimal.handling.mode=string: "-12.50"
};

// RowDecoder: the source position each row carries in a column of its own, for newest_wins.
enum class OrderBy {
    none,
    source_lsn,    // source.lsn (PostgreSQL's WAL position; __lsn in a flat row)
    source_ts_ms,  // source.ts_ms (when the database made the change; __source_ts_ms in a flat row)
};

struct Options {
    // Fields that match no member: a DecodeError (false), or skipped (true).
    bool ignore_unknown_fields = false;
    // Without a schema: how decimal strings and integer timestamps are read.
    DecimalStrings decimal_strings = DecimalStrings::base64;
    TimeUnit timestamp_unit = TimeUnit::micros;
    Infinity infinity = Infinity::refuse;
    // Debezium's unavailable.value.placeholder (toasted.value.placeholder in old versions).
    std::string unavailable_placeholder = "__debezium_unavailable_value";
    // The prefix of the metadata fields ExtractNewRecordState adds (add.fields.prefix).
    std::string metadata_prefix = "__";
    // RowDecoder only (a struct has a member of its own for it): each row gains the column
    // `order_column` (BIGINT NOT NULL, last) holding the position `order_by` names, for a
    // Sink<Row, newest_wins<"__source_position">> (docs/rows.md). A tombstone carries no source:
    // its position is 0, older than any event, so it removes nothing its delete did not.
    OrderBy order_by = OrderBy::none;
    std::string order_column = "__source_position";
};

// A decoded message: the change, where it came from, and the members whose value the message
// did not carry (PostgreSQL TOAST: an unchanged large value arrives as a placeholder). Those
// members hold their default, and are in change.keep: a sink with one row per key keeps their
// stored values (docs/kept-values.md).
template <class Record>
struct Decoded {
    static constexpr std::size_t members = record_info<Record>::size;

    Change<Record> change;
    Source source;
    std::bitset<members> unavailable;

    [[nodiscard]] bool complete() const noexcept { return unavailable.none(); }
    // The member names of `unavailable`, in member order.
    [[nodiscard]] std::vector<std::string_view> unavailable_members() const {
        std::vector<std::string_view> names;
        for (std::size_t i = 0; i < members; ++i)
            if (unavailable.test(i)) names.push_back(record_info<Record>::member_names[i]);
        return names;
    }
};

}  // namespace redsink::debezium
