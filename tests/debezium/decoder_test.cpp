#include <debezium/support.hpp>

#include <redsink/debezium.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace redsink_test::dbz;
using redsink::Op;
using redsink::debezium::DecodeError;
using redsink::debezium::Decoder;
using namespace std::chrono;

namespace {

template <class Record>
std::vector<redsink::debezium::Decoded<Record>> decode_all(Decoder<Record>& decoder, const std::string& fixture) {
    std::vector<redsink::debezium::Decoded<Record>> out;
    for (const auto& message : read_messages(fixture_path(fixture))) out.push_back(decoder.decode(message.message()));
    return out;
}

redsink::debezium::Message value_only(const std::string& value) {
    return {"t", 0, 0, std::string_view(R"({"id":1})"), std::string_view(value)};
}

const char* const kinds_plain_prefix =
    R"({"id":1,"flag":true,"small":1,"medium":2,"ratio":0.5,"ratio32":0.25,"day":0,)";

}  // namespace

TEST_CASE("PostgreSQL envelopes with schemas: snapshot, create, update, deletes and tombstones", "[debezium]") {
    Decoder<Customer> decoder;
    const auto events = decode_all(decoder, "fixtures/postgres_customers.txt");
    REQUIRE(events.size() == 12);
    std::vector<Op> ops;
    for (const auto& event : events) ops.push_back(event.change.op);
    CHECK(ops == std::vector<Op>{Op::read, Op::read, Op::read, Op::read, Op::create, Op::update, Op::remove,
                                 Op::tombstone, Op::remove, Op::tombstone, Op::create, Op::update});
    const auto& first = events[0];
    CHECK(first.change.row.id == 1001);
    CHECK(first.change.row.first_name == "Sally");
    CHECK(first.change.row.email == "sally.thomas@acme.com");
    CHECK(first.change.position == redsink::Position{0, 0});
    CHECK(first.source.connector == "postgresql");
    CHECK(first.source.lsn == 33227720);
    CHECK(first.source.tx_id == 555);
    CHECK(first.source.snapshot == "first");
    CHECK(first.source.schema == "inventory");
    CHECK(first.source.table == "customers");
    CHECK(first.source.ts_ms == 1700000000720);
    CHECK(first.source.event_ts_ms == 1700000001220);
    CHECK(events[4].change.row.first_name == "Zo\xC3\xAB");
    CHECK(events[5].change.row.first_name == "Anne Marie");
    // Deletes and tombstones carry the key; the rest of the row stays default.
    CHECK(events[6].change.row.id == 1002);
    CHECK(events[6].change.row.first_name.empty());
    CHECK(events[6].complete());
    CHECK(events[7].change.row.id == 1002);
    CHECK(events[8].change.row.id == 1003);  // before was null: from the message key
    CHECK(events[8].source.lsn == 33228100);
    CHECK(events[9].change.row.id == 1003);  // {"schema":null,"payload":null}
    CHECK(events[10].change.row.last_name == "back\\slash \"quoted\"");
    CHECK(events[10].change.row.email == "tab\there");
    CHECK(events[11].change.position == redsink::Position{0, 11});
}

TEST_CASE("MySQL envelopes without schemas, with binlog positions", "[debezium]") {
    Decoder<Product> decoder;
    const auto events = decode_all(decoder, "fixtures/mysql_products.txt");
    REQUIRE(events.size() == 5);
    CHECK(events[0].change.op == Op::create);
    CHECK(events[0].change.row.weight == 3.14);
    CHECK(events[0].source.connector == "mysql");
    CHECK(events[0].source.file == "mysql-bin.000003");
    CHECK(events[0].source.pos == 154);
    CHECK(events[1].source.row == 1);
    CHECK(events[2].change.op == Op::update);
    CHECK(events[2].change.row.description == std::nullopt);
    CHECK(events[2].change.row.weight == 5.18);
    CHECK(events[3].change.op == Op::remove);
    CHECK(events[3].change.row.id == 102);
    CHECK(events[3].change.row.name == "car battery");  // MySQL's before is the whole row
    CHECK(events[4].change.op == Op::tombstone);
    CHECK(events[4].change.row.id == 102);
}

TEST_CASE("ExtractNewRecordState rows, with and without __op and __deleted", "[debezium]") {
    Decoder<Customer> decoder;
    const auto events = decode_all(decoder, "fixtures/unwrapped_customers.txt");
    REQUIRE(events.size() == 5);
    CHECK(events[0].change.op == Op::read);
    CHECK(events[0].source.lsn == 100);
    CHECK(events[0].source.ts_ms == 1700000000001);
    CHECK(events[1].change.op == Op::create);  // with a schema
    CHECK(events[1].change.row.first_name == "Ada");
    CHECK(events[2].change.op == Op::remove);  // rewrite: __deleted "true", nulls allowed
    CHECK(events[2].change.row.id == 1001);
    CHECK(events[3].change.op == Op::tombstone);
    CHECK(events[4].change.op == Op::update);  // no metadata: the row as it now is
    CHECK(events[4].change.row.email == "grace@navy.mil");
}

TEST_CASE("every logical type at its edges, with schemas", "[debezium]") {
    Decoder<Kinds> decoder;
    const auto events = decode_all(decoder, "fixtures/postgres_kinds.txt");
    REQUIRE(events.size() == 3);
    const auto& zero = events[0].change.row;
    CHECK(zero.amount.units == 0);
    CHECK(zero.vsd->units == 0);
    CHECK(zero.day == year_month_day(year(1970), month(1), day(1)));
    CHECK(zero.at_ms == 0);
    CHECK(zero.at_us == "00:00:00.000000");
    CHECK(zero.at_ns == 0);
    CHECK(zero.ts_ms == at_micros(0));
    CHECK(zero.ts_us == at_micros(0));
    CHECK(zero.ts_ns == at_micros(0));
    CHECK(zero.zoned->value.time_since_epoch().count() == 0);
    CHECK(zero.zoned_time == "00:00:00Z");
    CHECK(zero.doc->text == "{}");
    CHECK(zero.uid->value == "00000000-0000-0000-0000-000000000000");
    CHECK(zero.mood == "ok");
    CHECK(zero.raw == "");
    CHECK(zero.tags->text == "[]");

    const auto& low = events[1].change.row;
    CHECK(!low.flag);
    CHECK(low.small == -32768);
    CHECK(low.medium == -2147483648);
    CHECK(low.ratio == -1.5e300);
    CHECK(low.ratio32 == -3.5f);
    CHECK(low.amount == redsink::decimal<12, 2>("-0.05"));
    CHECK(low.big == redsink::decimal<38, 0>("-99999999999999999999999999999999999999"));
    CHECK(low.vsd == redsink::decimal<20, 4>("-123.456"));
    CHECK(low.day == year_month_day(year(1), month(1), day(1)));
    CHECK(low.at_us == "23:59:59.999999");
    CHECK(low.at_ns == 86399999999999);
    CHECK(low.ts_ms == at_micros(-1000));
    CHECK(low.ts_us == at_micros(-62135596800000000));
    CHECK(low.ts_ns == at_micros(-1));  // -1 ns: floored to the microsecond before the epoch
    CHECK(low.zoned->value.time_since_epoch().count() == -1);
    CHECK(low.zoned_time == "23:59:59.999999+02:00");
    CHECK(low.doc->text == R"({"a":[1,2,{"b":null}],"s":"\u00e9"})");
    CHECK(low.raw == "AP8Q");  // bytes keep their base64 text
    CHECK(low.tags->text == R"(["x","y"])");

    const auto& high = events[2].change.row;
    CHECK(high.small == 32767);
    CHECK(high.amount == redsink::decimal<12, 2>("999999999.99"));
    CHECK(high.big == redsink::decimal<38, 0>("99999999999999999999999999999999999999"));
    CHECK(high.vsd == redsink::decimal<20, 4>(700));
    CHECK(high.day == year_month_day(year(9999), month(12), day(31)));
    CHECK(high.ts_ms == at_micros(253402300799999000));
    CHECK(high.ts_us == at_micros(253402300799999999));
    CHECK(high.ts_ns == at_micros(1700000000123456));
    CHECK(high.zoned->value.time_since_epoch().count() == 253402300799999999);
    CHECK(high.doc == std::nullopt);
}

TEST_CASE("PostgreSQL infinity: refused by default, clamped when asked", "[debezium]") {
    const auto messages = read_messages(fixture_path("fixtures/postgres_infinity.txt"));
    REQUIRE(messages.size() == 1);
    Decoder<Kinds> refusing;
    try {
        (void)refusing.decode(messages[0].message());
        FAIL("infinity was accepted");
    } catch (const DecodeError& error) {
        CHECK(error.field() == "value.payload.after.ts_ms");
        CHECK_THAT(error.what(), Catch::Contains("is PostgreSQL's infinity"));
    }
    Decoder<Kinds> clamping({.infinity = redsink::debezium::Infinity::clamp});
    const auto row = clamping.decode(messages[0].message()).change.row;
    const auto latest = at_micros(253402300799999999);
    const auto earliest = at_micros(-62135596800000000);
    CHECK(row.ts_ms == latest);
    CHECK(row.ts_us == earliest);  // -9223372036832400000
    CHECK(row.ts_ns == latest);    // Long.MAX_VALUE
    CHECK(row.zoned->value == earliest.value);
}

TEST_CASE("TOAST placeholders mark members unavailable and are never decoded", "[debezium]") {
    Decoder<Kinds> decoder;
    const auto messages = read_messages(fixture_path("fixtures/postgres_toast.txt"));
    REQUIRE(messages.size() == 1);
    const auto decoded = decoder.decode(messages[0].message());
    CHECK(decoded.change.op == Op::update);
    CHECK(!decoded.complete());
    CHECK(decoded.unavailable_members() == std::vector<std::string_view>{"doc", "mood", "raw", "tags"});
    CHECK(decoded.change.row.doc == std::nullopt);
    CHECK(decoded.change.row.mood == std::nullopt);
    CHECK(decoded.change.row.raw == std::nullopt);
    CHECK(decoded.change.row.tags == std::nullopt);
    CHECK(decoded.change.row.id == 1);
    // The sink keeps their stored values: they are the change's kept members.
    for (std::size_t member = 0; member < redsink::record_info<Kinds>::size; ++member)
        CHECK(decoded.change.keep.contains(member) == decoded.unavailable.test(member));

    // A placeholder of its own (unavailable.value.placeholder), in a non-optional member.
    Decoder<Customer> custom({.unavailable_placeholder = "<toasted>"});
    const auto row = custom.decode(value_only(
        R"({"before":null,"after":{"id":1,"first_name":"<toasted>","last_name":"L","email":"__debezium_unavailable_value"},"op":"u"})"));
    CHECK(row.unavailable_members() == std::vector<std::string_view>{"first_name"});
    CHECK(row.change.keep.contains(1));
    CHECK(!row.change.keep.contains(0));
    CHECK(row.change.row.first_name.empty());
    CHECK(row.change.row.email == "__debezium_unavailable_value");  // not the placeholder of this decoder
}

TEST_CASE("a changed schema is checked again; a known one comes from the cache", "[debezium]") {
    const auto messages = read_messages(fixture_path("fixtures/changed_schema.txt"));
    REQUIRE(messages.size() == 3);
    Decoder<Customer> strict;
    CHECK(strict.decode(messages[0].message()).change.row.id == 1001);
    try {
        (void)strict.decode(messages[1].message());
        FAIL("the new column was accepted");
    } catch (const DecodeError& error) {
        CHECK(error.kind() == redsink::ErrorKind::schema);
        CHECK(error.field() == "value.schema.phone");
        CHECK(error.position() == redsink::Position{2, 1});
    }
    CHECK(strict.decode(messages[2].message()).change.row.id == 1003);

    Decoder<Customer> lenient({.ignore_unknown_fields = true});
    for (const auto& message : messages) CHECK(lenient.decode(message.message()).change.op == Op::create);

    struct WithPhone {
        BOOST_HANA_DEFINE_STRUCT(WithPhone, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                                 (std::optional<std::string>, email), (std::optional<std::string>, phone));
    };
    Decoder<WithPhone> wider;
    CHECK(wider.decode(messages[0].message()).change.row.phone == std::nullopt);
    CHECK(wider.decode(messages[1].message()).change.row.phone == "+1 555");
}

TEST_CASE("decimals without a schema: exact JSON numbers, base64, text", "[debezium]") {
    Decoder<Kinds> decoder;
    const auto row = [&](const std::string& fields) {
        return decoder.decode(value_only(R"({"op":"c","after":)" + std::string(kinds_plain_prefix) + fields + "}}"))
            .change.row;
    };
    CHECK(row(R"("amount":1234567890.12)").amount == redsink::decimal<12, 2>("1234567890.12"));
    CHECK(row(R"("amount":-0.10)").amount == redsink::decimal<12, 2>("-0.1"));
    CHECK(row(R"("amount":1E+3)").amount == redsink::decimal<12, 2>(1000));
    CHECK(row(R"("amount":"MDk=")").amount == redsink::decimal<12, 2>("123.45"));  // scale from the member
    CHECK(row(R"("amount":0,"big":12345678901234567890123456789012345678)").big ==
          redsink::decimal<38, 0>("12345678901234567890123456789012345678"));
    CHECK(row(R"("amount":0,"vsd":{"scale":5,"value":"9g=="})").vsd == redsink::decimal<20, 4>("-0.0001"));
    CHECK_THROWS_WITH(row(R"("amount":0,"vsd":{"scale":5,"value":"/w=="})"),
                      Catch::Contains("has 5 digits after the point, more than the 4 of redsink::decimal<20, 4>"));
    CHECK(row(R"("amount":0,"ts_us":1700000000123456)").ts_us == at_micros(1700000000123456));

    Decoder<Kinds> text({.decimal_strings = redsink::debezium::DecimalStrings::text,
                         .timestamp_unit = redsink::debezium::TimeUnit::millis});
    const auto decoded =
        text.decode(value_only(R"({"op":"r","after":)" + std::string(kinds_plain_prefix) +
                               R"("amount":"-12.50","ts_ms":1700000000123,"zoned":"2024-02-29T12:00:00+01:00"}})"))
            .change.row;
    CHECK(decoded.amount == redsink::decimal<12, 2>("-12.5"));
    CHECK(decoded.ts_ms == at_micros(1700000000123000));
    CHECK(decoded.zoned->value == at_micros(1709204400000000).value);
}

TEST_CASE("unknown fields: an error naming them, or skipped when asked", "[debezium]") {
    const std::string value =
        R"({"before":null,"after":{"id":1,"first_name":"a","last_name":"b","email":null,"phone":"x"},"op":"c"})";
    Decoder<Customer> strict;
    CHECK_THROWS_WITH(strict.decode(value_only(value)), Catch::Contains("field value.after.phone: matches no member"));
    Decoder<Customer> lenient({.ignore_unknown_fields = true});
    CHECK(lenient.decode(value_only(value)).change.row.first_name == "a");
}

TEST_CASE("a failed message leaves nothing behind: the next one decodes whole", "[debezium]") {
    Decoder<Customer> decoder;
    CHECK_THROWS_AS(decoder.decode(value_only(R"({"before":null,"after":{"id":1,"first_name":"a")")), DecodeError);
    CHECK_THROWS_AS(decoder.decode(value_only(R"({"after":{"id":"x"},"op":"c"})")), DecodeError);
    const auto decoded = decoder.decode(
        value_only(R"({"before":null,"after":{"id":1,"first_name":"a","last_name":"b","email":null},"op":"c"})"));
    CHECK(decoded.change.row.id == 1);
    CHECK(decoded.source.lsn == std::nullopt);
    CHECK(decoded.complete());
}

// A flat row is scanned for "op" before it is read; the scan compares keys as written, so a row
// whose keys outweigh its values is unescaped once per pass (twice would overrun simdjson's string
// buffer: the fuzzer's corpus holds the input that found it).
TEST_CASE("a flat row of long unknown keys: read whole, each key unescaped once", "[debezium]") {
    std::string value = "{";
    for (int i = 0; i < 60; ++i) value += "\"" + std::string(100, 'k') + std::to_string(i) + "\":1,";
    value += R"("id":1,"first_name":"x","last_name":"y","email":null})";
    Decoder<Customer> lenient({.ignore_unknown_fields = true});
    const auto decoded = lenient.decode(value_only(value));
    CHECK(decoded.change.op == Op::update);  // no metadata: the row as it now is
    CHECK(decoded.change.row.id == 1);
    CHECK(decoded.change.row.first_name == "x");
    Decoder<Customer> strict;
    CHECK_THROWS_WITH(strict.decode(value_only(value)), Catch::Contains("matches no member"));
    // An escaped "op" is not the envelope's: the row stays flat, and the field is unknown.
    CHECK_THROWS_WITH(
        strict.decode(value_only(R"({"\u006fp":"c","id":1,"first_name":"a","last_name":"b","email":null})")),
        Catch::Contains("matches no member"));
}
