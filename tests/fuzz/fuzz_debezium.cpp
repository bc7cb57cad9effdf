// libFuzzer target: the Debezium decoders (Decoder<Record> and RowDecoder), under AddressSanitizer
// and UndefinedBehaviorSanitizer.
// Built with clang by scripts/test (REDSINK_FUZZ with redsink::debezium), run for a bounded time
// over tests/fuzz/corpus_debezium. The first input byte picks the record and the options; then
// the key (when bit 4 is set) up to a 0x01 byte, then the value (none when bit 5 is set).
// Properties, beyond not crashing:
// - every failure is a DecodeError (anything else escapes and is reported);
// - a decoded row's text members are valid UTF-8, and members marked unavailable hold their default;
//   a Row has one value per column of its schema, a value in each key column, NULL in each
//   unavailable one;
// - decoding the same message again (schemas now cached) gives the same outcome.
#include <redsink/debezium.hpp>
#include <redsink/detail/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int32_t, id), (std::string, first_name),
                             (std::optional<std::string>, email), (std::optional<redsink::json>, doc));
};

struct Kinds {
    BOOST_HANA_DEFINE_STRUCT(Kinds, (std::int64_t, id), (std::optional<bool>, flag),
                             (std::optional<std::int16_t>, small), (std::optional<float>, ratio32),
                             (std::optional<double>, ratio), (std::optional<redsink::decimal<12, 2>>, amount),
                             (std::optional<redsink::decimal<38, 0>>, big),
                             (std::optional<redsink::decimal<20, 4>>, vsd),
                             (std::optional<std::chrono::year_month_day>, day), (std::optional<std::string>, at_us),
                             (std::optional<redsink::timestamp>, ts_us), (std::optional<redsink::timestamptz>, zoned),
                             (std::optional<redsink::varchar<36>>, uid), (std::optional<redsink::json>, tags));
};

void require(bool holds) {
    if (!holds) std::abort();
}

bool valid_text(std::string_view text) {
    return redsink::detail::check_utf8(text).fault != redsink::detail::Utf8Fault::invalid;
}

void check_row(const Customer& row, const std::bitset<4>& unavailable) {
    require(valid_text(row.first_name));
    if (row.email) require(valid_text(*row.email));
    if (unavailable.test(1)) require(row.first_name.empty());
    if (unavailable.test(2)) require(!row.email);
}

void check_row(const Kinds& row, const std::bitset<14>& unavailable) {
    if (row.at_us) require(valid_text(*row.at_us));
    if (row.uid) require(valid_text(row.uid->value));
    if (unavailable.test(13)) require(!row.tags);
}

template <class Record>
void run(const redsink::debezium::Options& options, const redsink::debezium::Message& message) {
    redsink::debezium::Decoder<Record> decoder(options);
    std::optional<std::string> first_error;
    std::optional<redsink::Op> first_op;
    for (int round = 0; round < 2; ++round) {
        try {
            const auto decoded = decoder.decode(message);
            check_row(decoded.change.row, decoded.unavailable);
            require(decoded.change.position == redsink::Position{message.partition, message.offset});
            if (round == 0)
                first_op = decoded.change.op;
            else
                require(first_op == decoded.change.op);
        } catch (const redsink::debezium::DecodeError& error) {
            require(std::string_view(error.what()).find("partition 4, offset 2") != std::string_view::npos);
            if (round == 0)
                first_error = error.what();
            else
                require(first_error == error.what());
        }
    }
}

// The same message as a Row, its columns from the message's schema; with bit 7 of the mode, the
// key is the row's `id` (record_value) and a message without a schema is read into given columns.
void run_rows(const redsink::debezium::Options& options, const redsink::debezium::Message& message, bool by_value) {
    using redsink::debezium::KeyMode;
    redsink::debezium::RowDecoder decoder(options,
                                          {by_value ? KeyMode::record_value : KeyMode::record_key,
                                           by_value ? std::vector<std::string>{"id"} : std::vector<std::string>{}});
    if (by_value) {
        using redsink::ColumnType;
        using redsink::SqlKind;
        decoder.columns(redsink::RowSchema({{"id", ColumnType{SqlKind::int64}, true},
                                            {"first_name", ColumnType{SqlKind::text}},
                                            {"amount", ColumnType{SqlKind::decimal, 0, 12, 2}},
                                            {"ts_us", ColumnType{SqlKind::timestamp}},
                                            {"doc", ColumnType{SqlKind::json}}}));
    }
    std::optional<std::string> first_error;
    for (int round = 0; round < 2; ++round) {
        try {
            const auto decoded = decoder.decode(message);
            const auto& row = decoded.change.row;
            require(row.schema() != nullptr && row.size() == row.schema()->size());
            for (std::size_t i = 0; i < row.size(); ++i) {
                if (const auto* text = std::get_if<std::string>(&row[i])) require(valid_text(*text));
                if (decoded.unavailable.contains(i)) require(std::holds_alternative<std::monostate>(row[i]));
            }
            for (const auto i : row.schema()->key_indexes()) require(!std::holds_alternative<std::monostate>(row[i]));
            require(round == 0 || !first_error);
        } catch (const redsink::debezium::DecodeError& error) {
            if (round == 0)
                first_error = error.what();
            else
                require(first_error == error.what());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size == 0) return 0;
    const auto mode = bytes[0];
    std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
    redsink::debezium::Message message{"fuzz", 4, 2, std::nullopt, std::nullopt};
    if (mode & 0x10) {
        const auto split = data.find('\x01');
        message.key = data.substr(0, split);
        data = split == std::string_view::npos ? std::string_view{} : data.substr(split + 1);
    }
    if (!(mode & 0x20)) message.value = data;
    redsink::debezium::Options options;
    options.ignore_unknown_fields = (mode & 0x02) != 0;
    if (mode & 0x04) options.infinity = redsink::debezium::Infinity::clamp;
    if (mode & 0x08) options.decimal_strings = redsink::debezium::DecimalStrings::text;
    if (mode & 0x40) options.timestamp_unit = redsink::debezium::TimeUnit::nanos;
    if (mode & 0x01)
        run<Kinds>(options, message);
    else
        run<Customer>(options, message);
    run_rows(options, message, (mode & 0x80) != 0);
    return 0;
}
