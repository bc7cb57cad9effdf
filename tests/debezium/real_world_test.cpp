// Change events as Debezium and Kafka Connect's JsonConverter really write them, copied from
// public repositories (fixtures/real/README.md names the repository, commit and path of each),
// decoded and checked value by value.
#include <debezium/support.hpp>

#include <redsink/debezium.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace redsink_test::dbz;
using redsink::Op;
using redsink::debezium::DecodeError;
using redsink::debezium::Decoder;
using redsink::debezium::Message;
using namespace std::chrono;

namespace {

// public.company of Thomas-mcinally/debezium-cdc.
struct Company {
    BOOST_HANA_DEFINE_STRUCT(Company, (std::int32_t, id), (std::optional<std::string>, name));
};

// dvdrental's public.film_actor and public.payment (floodplain-library).
struct FilmActor {
    BOOST_HANA_DEFINE_STRUCT(FilmActor, (std::int16_t, actor_id), (std::int16_t, film_id),
                             (redsink::timestamp, last_update));
};

struct Payment {
    BOOST_HANA_DEFINE_STRUCT(Payment, (std::int32_t, payment_id), (std::int16_t, customer_id), (std::int16_t, staff_id),
                             (std::int32_t, rental_id), (redsink::decimal<5, 2>, amount),
                             (redsink::timestamp, payment_date));
};

// A MySQL table with a DATETIME (io.debezium.time.Timestamp, ms) column (floodplain-library).
struct SomeRole {
    BOOST_HANA_DEFINE_STRUCT(SomeRole, (std::int64_t, id), (std::int64_t, created_by),
                             (redsink::timestamp, created_on));
};

// inventory.authors of the TOAST backfill example, without schemas.
struct Author {
    BOOST_HANA_DEFINE_STRUCT(Author, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::optional<std::string>, biography), (std::optional<redsink::timestamp>, dob));
};

// Paimon's all_types_table in three records (Boost.Hana takes at most 40 members), each decoded
// with ignore_unknown_fields from the same message.
struct AllTypesNumbers {
    BOOST_HANA_DEFINE_STRUCT(AllTypesNumbers, (std::int32_t, _id), (bool, _bit1), (std::int16_t, _tinyint1),
                             (std::int16_t, _boolean), (std::int16_t, _bool), (std::int16_t, _tinyint),
                             (std::int16_t, _tinyint_unsigned), (std::int16_t, _tinyint_unsigned_zerofill),
                             (std::int16_t, _smallint), (std::int32_t, _smallint_unsigned),
                             (std::int32_t, _smallint_unsigned_zerofill), (std::int32_t, _mediumint),
                             (std::int32_t, _mediumint_unsigned), (std::int32_t, _mediumint_unsigned_zerofill),
                             (std::int32_t, _int), (std::int64_t, _int_unsigned),
                             (std::int64_t, _int_unsigned_zerofill), (std::int64_t, _bigint), (double, _float),
                             (double, _float_unsigned), (double, _float_unsigned_zerofill), (double, _real),
                             (double, _real_unsigned), (double, _real_unsigned_zerofill), (double, _double),
                             (double, _double_unsigned), (double, _double_unsigned_zerofill),
                             (double, _double_precision), (double, _double_precision_unsigned),
                             (double, _double_precision_unsigned_zerofill), (std::int32_t, _year));
};

struct AllTypesDecimals {
    BOOST_HANA_DEFINE_STRUCT(AllTypesDecimals, (std::int32_t, _id), (redsink::decimal<2, 1>, pt),
                             (redsink::decimal<20, 0>, _bigint_unsigned),
                             (redsink::decimal<20, 0>, _bigint_unsigned_zerofill), (redsink::decimal<20, 0>, _serial),
                             (redsink::decimal<8, 3>, _numeric), (redsink::decimal<8, 3>, _numeric_unsigned),
                             (redsink::decimal<8, 3>, _numeric_unsigned_zerofill),
                             (redsink::decimal<38, 3>, _fixed),  // DECIMAL(40,3) holding 36 digits
                             (std::string, _fixed_unsigned),     // the same, as decimal text
                             (redsink::varchar<64>, _fixed_unsigned_zerofill), (redsink::decimal<8, 0>, _decimal),
                             (redsink::decimal<8, 0>, _decimal_unsigned),
                             (redsink::decimal<8, 0>, _decimal_unsigned_zerofill),
                             (redsink::decimal<38, 10>, _big_decimal));
};

struct AllTypesOthers {
    BOOST_HANA_DEFINE_STRUCT(AllTypesOthers, (std::int32_t, _id), (std::string, _bit),
                             (std::chrono::year_month_day, _date), (redsink::timestamp, _datetime),
                             (redsink::timestamp, _datetime3), (redsink::timestamp, _datetime6),
                             (redsink::timestamp, _datetime_p), (redsink::timestamp, _datetime_p2),
                             (redsink::timestamptz, _timestamp), (redsink::timestamptz, _timestamp0),
                             (std::string, _char), (redsink::varchar<13>, _varchar), (std::string, _tinytext),
                             (std::string, _text), (std::string, _mediumtext), (std::string, _longtext),
                             (std::string, _bin), (std::string, _varbin), (std::string, _tinyblob),
                             (std::string, _blob), (std::string, _mediumblob), (std::string, _longblob),
                             (redsink::json, _json), (std::string, _enum), (std::string, _time),
                             (redsink::json, _point), (redsink::json, _geometry),
                             (std::optional<redsink::json>, _linestring), (std::string, _set));
};

std::vector<StoredMessage> real(const std::string& name) {
    return read_messages(fixture_path("fixtures/real/" + name));
}

// The message without its key.
Message value_of(const StoredMessage& stored) {
    auto message = stored.message();
    message.key = std::nullopt;
    return message;
}

redsink::timestamptz utc_micros(std::int64_t micros) {
    return redsink::timestamptz(sys_time<microseconds>(microseconds(micros)));
}

}  // namespace

TEST_CASE("real: Debezium's documented PostgreSQL create event, with schema", "[debezium]") {
    const auto messages = real("debezium_postgresql_doc.txt");
    REQUIRE(messages.size() == 1);
    Decoder<Customer> decoder;
    const auto decoded = decoder.decode(messages[0].message());
    CHECK(decoded.change.op == Op::create);
    CHECK(decoded.change.row.id == 1);
    CHECK(decoded.change.row.first_name == "Anne");
    CHECK(decoded.change.row.last_name == "Kretchmar");
    CHECK(decoded.change.row.email == "annek@noanswer.org");
    CHECK(decoded.complete());
    CHECK(decoded.change.keep.empty());
    CHECK(decoded.change.position == redsink::Position{0, 0});
    CHECK(decoded.source.connector == "postgresql");
    CHECK(decoded.source.db == "postgres");
    CHECK(decoded.source.schema == "public");
    CHECK(decoded.source.table == "customers");
    CHECK(decoded.source.lsn == 24023128);
    CHECK(decoded.source.tx_id == 555);
    CHECK(decoded.source.snapshot == "true");  // a JSON boolean in this page
    CHECK(decoded.source.ts_ms == 1559033904863);
    CHECK(decoded.source.event_ts_ms == 1559033904863);
    CHECK(decoded.source.file.empty());
    CHECK(decoded.source.pos == std::nullopt);
}

TEST_CASE("real: Debezium's MySQL tutorial: snapshot read, creates and a tombstone, keys with schemas", "[debezium]") {
    const auto messages = real("debezium_mysql_tutorial.txt");
    REQUIRE(messages.size() == 4);
    Decoder<Customer> decoder;

    const auto read = decoder.decode(messages[0].message());
    CHECK(read.change.op == Op::read);
    CHECK(read.change.row.id == 1004);
    CHECK(read.change.row.first_name == "Anne");
    CHECK(read.change.row.last_name == "Kretchmar");
    CHECK(read.change.row.email == "annek@noanswer.org");
    CHECK(read.complete());
    CHECK(read.source.connector.empty());  // this tutorial's source has no connector field
    CHECK(read.source.file == "mysql-bin.000003");
    CHECK(read.source.pos == 154);
    CHECK(read.source.row == 0);
    CHECK(read.source.gtid.empty());
    CHECK(read.source.snapshot == "true");
    CHECK(read.source.db == "inventory");
    CHECK(read.source.table == "customers");
    CHECK(read.source.ts_ms == std::nullopt);  // ts_sec, not ts_ms
    CHECK(read.source.event_ts_ms == 1486500577691);
    CHECK(read.source.lsn == std::nullopt);

    const auto sarah = decoder.decode(messages[1].message());
    CHECK(sarah.change.op == Op::create);
    CHECK(sarah.change.row.id == 1005);
    CHECK(sarah.change.row.first_name == "Sarah");
    CHECK(sarah.change.row.last_name == "Thompson");
    CHECK(sarah.change.row.email == "kitt@acme.com");
    CHECK(sarah.change.position == redsink::Position{0, 1});
    CHECK(sarah.source.file == "mysql-bin.000003");
    CHECK(sarah.source.pos == 1046);
    CHECK(sarah.source.row == 0);
    CHECK(sarah.source.snapshot.empty());  // null
    CHECK(sarah.source.event_ts_ms == 1490635181455);

    const auto kenneth = decoder.decode(messages[2].message());
    CHECK(kenneth.change.op == Op::create);
    CHECK(kenneth.change.row.id == 1006);
    CHECK(kenneth.change.row.first_name == "Kenneth");
    CHECK(kenneth.change.row.last_name == "Anderson");
    CHECK(kenneth.change.row.email == "kander@acme.com");
    CHECK(kenneth.source.pos == 1356);
    CHECK(kenneth.source.event_ts_ms == 1490635181456);

    const auto tombstone = decoder.decode(messages[3].message());
    CHECK(tombstone.change.op == Op::tombstone);
    CHECK(tombstone.change.row.id == 1004);
    CHECK(tombstone.change.row.first_name.empty());
    CHECK(tombstone.change.row.email == std::nullopt);
    CHECK(tombstone.change.position == redsink::Position{0, 3});
}

TEST_CASE("real: Debezium's documented SQL Server create event repeats ts_ms and is refused", "[debezium]") {
    const auto messages = real("debezium_sqlserver_doc.txt");
    REQUIRE(messages.size() == 1);
    Decoder<Customer> decoder;
    // The page's envelope has "ts_ms" three times (for ts_ms, ts_us, ts_ns): with or without the
    // key (which is another example's, id 1004 for the row 1005), the message is refused.
    for (const auto& message : {value_of(messages[0]), messages[0].message()}) {
        try {
            (void)decoder.decode(message);
            FAIL("a repeated ts_ms was accepted");
        } catch (const DecodeError& error) {
            CHECK(error.position() == redsink::Position{0, 0});
            CHECK_THAT(error.field(), Catch::Contains("ts_ms") || Catch::Contains("id"));
        }
    }
}

TEST_CASE("real: the inputs of Debezium's JSON Serde tests, with and without schemas", "[debezium]") {
    const auto messages = real("debezium_serde.txt");
    REQUIRE(messages.size() == 4);
    Decoder<Customer> decoder;

    const auto with_schema = decoder.decode(messages[0].message());
    CHECK(with_schema.change.op == Op::create);
    CHECK(with_schema.change.row.id == 1004);
    CHECK(with_schema.change.row.first_name == "Anne");
    CHECK(with_schema.change.row.last_name == "Kretchmar");
    CHECK(with_schema.change.row.email == "annek@noanswer.org");
    CHECK(with_schema.source.connector == "mysql");
    CHECK(with_schema.source.file == "mysql-bin.000003");
    CHECK(with_schema.source.pos == 154);
    CHECK(with_schema.source.row == 0);
    CHECK(with_schema.source.snapshot == "false");
    CHECK(with_schema.source.ts_ms == 0);
    CHECK(with_schema.source.event_ts_ms == 1465491411815);

    const auto plain = decoder.decode(messages[1].message());
    CHECK(plain.change.op == Op::create);
    CHECK(plain.change.row.id == 1004);
    CHECK(plain.change.row.first_name == "Anne");
    CHECK(plain.change.row.last_name == "Kretchmar");
    CHECK(plain.change.row.email == "annek@noanswer.org");
    CHECK(plain.source.connector == "mysql");
    CHECK(plain.source.db == "inventory");
    CHECK(plain.source.table == "customers");
    CHECK(plain.source.file == "mysql-bin.000003");
    CHECK(plain.source.pos == 154);
    CHECK(plain.source.row == 0);
    CHECK(plain.source.gtid.empty());
    CHECK(plain.source.snapshot == "false");
    CHECK(plain.source.event_ts_ms == 1465491411815);

    const auto update = decoder.decode(messages[2].message());
    CHECK(update.change.op == Op::update);
    CHECK(update.change.row.id == 1004);
    CHECK(update.change.row.first_name == "Anne");  // after; before was Anne-Marie
    CHECK(update.change.row.last_name == "Kretchmar");
    CHECK(update.change.row.email == "annek@noanswer.org");

    // A column the record does not have: an error, unless asked to skip it.
    try {
        (void)decoder.decode(messages[3].message());
        FAIL("the unknown middle_name was accepted");
    } catch (const DecodeError& error) {
        CHECK_THAT(error.field(), Catch::EndsWith("middle_name"));
    }
    Decoder<Customer> skipping({.ignore_unknown_fields = true});
    const auto unknown = skipping.decode(messages[3].message());
    CHECK(unknown.change.op == Op::update);
    CHECK(unknown.change.row.id == 1004);
    CHECK(unknown.change.row.first_name == "Anne");
    CHECK(unknown.change.row.last_name == "Kretchmar");
    CHECK(unknown.change.row.email == "annek@noanswer.org");
}

TEST_CASE("real: the Debezium engine's MySQL events without schemas (debezium-examples)", "[debezium]") {
    const auto messages = real("debezium_examples_engine_wasm.txt");
    REQUIRE(messages.size() == 2);
    Decoder<Customer> decoder;

    const auto read = decoder.decode(messages[0].message());
    CHECK(read.change.op == Op::read);
    CHECK(read.change.row.id == 1004);
    CHECK(read.change.row.first_name == "Anne");
    CHECK(read.change.row.last_name == "Kretchmar");
    CHECK(read.change.row.email == "annek@noanswer.org");
    CHECK(read.source.connector == "mysql");
    CHECK(read.source.db == "inventory");
    CHECK(read.source.table == "customers");
    CHECK(read.source.snapshot == "true");
    CHECK(read.source.file == "mysql-bin.000003");
    CHECK(read.source.pos == 797);
    CHECK(read.source.row == 0);
    CHECK(read.source.gtid.empty());
    CHECK(read.source.ts_ms == 1731327511000);
    CHECK(read.source.event_ts_ms == 1731327512006);

    const auto update = decoder.decode(messages[1].message());
    CHECK(update.change.op == Op::update);
    CHECK(update.change.row.id == 1001);
    CHECK(update.change.row.first_name == "Sarah");
    CHECK(update.change.row.last_name == "Thomas");
    CHECK(update.change.row.email == "sally.thomas@acme.com");
    CHECK(update.source.snapshot == "false");
    CHECK(update.source.pos == 1041);
    CHECK(update.source.ts_ms == 1731327659000);
    CHECK(update.source.event_ts_ms == 1731327659957);
}

TEST_CASE("real: PostgreSQL create and update with schemas (kafkacat output, Debezium 2.4)", "[debezium]") {
    const auto messages = real("debezium_cdc_postgres_company.txt");
    REQUIRE(messages.size() == 2);
    Decoder<Company> decoder;

    const auto create = decoder.decode(messages[0].message());
    CHECK(create.change.op == Op::create);
    CHECK(create.change.row.id == 1);
    CHECK(create.change.row.name == "thomas");
    CHECK(create.source.connector == "postgresql");
    CHECK(create.source.db == "cdc-test");
    CHECK(create.source.schema == "public");
    CHECK(create.source.table == "company");
    CHECK(create.source.snapshot == "false");
    CHECK(create.source.lsn == 26658848);
    CHECK(create.source.tx_id == 740);
    CHECK(create.source.ts_ms == 1741525236341);
    CHECK(create.source.event_ts_ms == 1741525237562);

    const auto update = decoder.decode(messages[1].message());
    CHECK(update.change.op == Op::update);
    CHECK(update.change.row.id == 1);
    CHECK(update.change.row.name == "thomas_updated");
    CHECK(update.source.lsn == 26659184);
    CHECK(update.source.tx_id == 741);
    CHECK(update.source.ts_ms == 1741525267135);
    CHECK(update.source.event_ts_ms == 1741525267412);
    CHECK(update.change.position == redsink::Position{0, 1});
}

TEST_CASE("real: dvdrental events with schemas: a delete, a Decimal(5,2), MicroTimestamp and Timestamp", "[debezium]") {
    const auto messages = real("floodplain_dvdrental.txt");
    REQUIRE(messages.size() == 3);

    Decoder<FilmActor> film_actors;
    const auto removed = film_actors.decode(messages[0].message());
    CHECK(removed.change.op == Op::remove);
    CHECK(removed.change.row.actor_id == 1);
    CHECK(removed.change.row.film_id == 23);
    CHECK(removed.change.row.last_update == at_micros(0));
    CHECK(removed.complete());
    CHECK(removed.source.connector == "postgresql");
    CHECK(removed.source.db == "dvdrental");
    CHECK(removed.source.schema == "public");
    CHECK(removed.source.table == "film_actor");
    CHECK(removed.source.snapshot == "false");
    CHECK(removed.source.lsn == 31246736);
    CHECK(removed.source.tx_id == 767);
    CHECK(removed.source.ts_ms == 1595113586918);
    CHECK(removed.source.event_ts_ms == 1595113586976);

    Decoder<Payment> payments;
    const auto payment = payments.decode(messages[1].message());
    CHECK(payment.change.op == Op::read);
    CHECK(payment.change.row.payment_id == 32098);
    CHECK(payment.change.row.customer_id == 264);
    CHECK(payment.change.row.staff_id == 2);
    CHECK(payment.change.row.rental_id == 14243);
    CHECK(payment.change.row.amount == redsink::decimal<5, 2>("2.99"));     // "ASs=": 299
    CHECK(payment.change.row.payment_date == at_micros(1179150269996577));  // 2007-05-14 13:44:29.996577
    CHECK(payment.source.snapshot == "last");
    CHECK(payment.source.table == "payment");
    CHECK(payment.source.lsn == 31227904);
    CHECK(payment.source.tx_id == 765);
    CHECK(payment.source.ts_ms == 1582920002719);
    CHECK(payment.source.event_ts_ms == 1582920002719);

    Decoder<SomeRole> roles;
    const auto role = roles.decode(messages[2].message());
    CHECK(role.change.op == Op::read);
    CHECK(role.change.row.id == 274);
    CHECK(role.change.row.created_by == 29);
    CHECK(role.change.row.created_on == at_micros(1627377701000000));  // ms: 2021-07-27 09:21:41
    CHECK(role.source.connector == "mysql");
    CHECK(role.source.db == "sourcedatabase");
    CHECK(role.source.table == "somerole");
    CHECK(role.source.file == "mysql-bin-changelog.11111");
    CHECK(role.source.pos == 888);
    CHECK(role.source.row == 0);
    CHECK(role.source.snapshot == "true");
    CHECK(role.source.ts_ms == 1640944010419);
    CHECK(role.source.event_ts_ms == 1640944010429);
}

TEST_CASE("real: a PostgreSQL update with an unchanged TOAST column, without schemas", "[debezium]") {
    const auto messages = real("streaming_examples_postgres_toast.txt");
    REQUIRE(messages.size() == 1);
    Decoder<Author> decoder;  // dob: an integer in µs, the default timestamp_unit
    const auto decoded = decoder.decode(messages[0].message());
    CHECK(decoded.change.op == Op::update);
    CHECK(decoded.change.row.id == 1001);
    CHECK(decoded.change.row.first_name == "Tom");
    CHECK(decoded.change.row.last_name == "Wolfe");
    CHECK(decoded.change.row.biography == std::nullopt);
    CHECK(decoded.change.row.dob == at_micros(-1257206400000000));  // 1930-03-01 00:00:00
    CHECK(!decoded.complete());
    CHECK(decoded.unavailable_members() == std::vector<std::string_view>{"biography"});
    for (std::size_t member = 0; member < redsink::record_info<Author>::size; ++member)
        CHECK(decoded.change.keep.contains(member) == (member == 3));
    CHECK(decoded.source.connector == "postgresql");
    CHECK(decoded.source.db == "postgres");
    CHECK(decoded.source.schema == "inventory");
    CHECK(decoded.source.table == "authors");
    CHECK(decoded.source.snapshot == "false");
    CHECK(decoded.source.lsn == 34415840);
    CHECK(decoded.source.tx_id == 777);
    CHECK(decoded.source.ts_ms == 1746440315942);
    CHECK(decoded.source.event_ts_ms == 1746440316214);
}

TEST_CASE("real: every MySQL column type with schema (Paimon's all_types_table)", "[debezium]") {
    const auto messages = real("paimon_mysql_all_types.txt");
    REQUIRE(messages.size() == 1);
    const auto message = messages[0].message();

    SECTION("integers, booleans, doubles") {
        Decoder<AllTypesNumbers> decoder({.ignore_unknown_fields = true});
        const auto decoded = decoder.decode(message);
        CHECK(decoded.change.op == Op::read);
        const auto& row = decoded.change.row;
        CHECK(row._id == 1);
        CHECK(row._bit1);
        CHECK(row._tinyint1 == 1);
        CHECK(row._boolean == 1);
        CHECK(row._bool == 0);
        CHECK(row._tinyint == 1);
        CHECK(row._tinyint_unsigned == 2);
        CHECK(row._tinyint_unsigned_zerofill == 3);
        CHECK(row._smallint == 1000);
        CHECK(row._smallint_unsigned == 2000);
        CHECK(row._smallint_unsigned_zerofill == 3000);
        CHECK(row._mediumint == 100000);
        CHECK(row._mediumint_unsigned == 200000);
        CHECK(row._mediumint_unsigned_zerofill == 300000);
        CHECK(row._int == 1000000);
        CHECK(row._int_unsigned == 2000000);
        CHECK(row._int_unsigned_zerofill == 3000000);
        CHECK(row._bigint == 10000000000);
        CHECK(row._float == 1.5);
        CHECK(row._float_unsigned == 2.5);
        CHECK(row._float_unsigned_zerofill == 3.5);
        CHECK(row._real == 1.000001);
        CHECK(row._real_unsigned == 2.000002);
        CHECK(row._real_unsigned_zerofill == 3.000003);
        CHECK(row._double == 1.000011);
        CHECK(row._double_unsigned == 2.000022);
        CHECK(row._double_unsigned_zerofill == 3.000033);
        CHECK(row._double_precision == 1.000111);
        CHECK(row._double_precision_unsigned == 2.000222);
        CHECK(row._double_precision_unsigned_zerofill == 3.000333);
        CHECK(row._year == 2023);
        CHECK(decoded.source.connector == "mysql");
        CHECK(decoded.source.db == "paimon_sync_table");
        CHECK(decoded.source.table == "all_types_table");
        CHECK(decoded.source.file.empty());
        CHECK(decoded.source.pos == 0);
        CHECK(decoded.source.row == 0);
        CHECK(decoded.source.snapshot == "false");
        CHECK(decoded.source.ts_ms == 0);
        CHECK(decoded.source.event_ts_ms == 1706167086275);
    }

    SECTION("Decimals of precision 2 to 40, and without precision") {
        Decoder<AllTypesDecimals> decoder({.ignore_unknown_fields = true});
        const auto row = decoder.decode(message).change.row;
        CHECK(row._id == 1);
        CHECK(row.pt == redsink::decimal<2, 1>("1.1"));
        CHECK(row._bigint_unsigned == redsink::decimal<20, 0>(20000000000));
        CHECK(row._bigint_unsigned_zerofill == redsink::decimal<20, 0>(30000000000));
        CHECK(row._serial == redsink::decimal<20, 0>(40000000000));
        CHECK(row._numeric == redsink::decimal<8, 3>("12345.11"));
        CHECK(row._numeric_unsigned == redsink::decimal<8, 3>("12345.22"));
        CHECK(row._numeric_unsigned_zerofill == redsink::decimal<8, 3>("12345.33"));
        CHECK(row._fixed == redsink::decimal<38, 3>("123456789876543212345678987654321.11"));
        CHECK(row._fixed_unsigned == "123456789876543212345678987654321.220");
        CHECK(row._fixed_unsigned_zerofill.value == "123456789876543212345678987654321.330");
        CHECK(row._decimal == redsink::decimal<8, 0>(11111));
        CHECK(row._decimal_unsigned == redsink::decimal<8, 0>(22222));
        CHECK(row._decimal_unsigned_zerofill == redsink::decimal<8, 0>(33333));
        CHECK(row._big_decimal == redsink::decimal<38, 10>("2222222222222222400000000000"));
    }

    SECTION("times, text, bytes, JSON, Enum, EnumSet, geometry") {
        Decoder<AllTypesOthers> decoder({.ignore_unknown_fields = true});
        const auto row = decoder.decode(message).change.row;
        CHECK(row._id == 1);
        CHECK(row._bit == "xwcAAAAAAAA=");
        CHECK(row._date == year_month_day(year(2023), month(3), day(23)));  // 19439
        CHECK(row._datetime == at_micros(1679581805000000));                // ms
        CHECK(row._datetime3 == at_micros(1679581805123000));
        CHECK(row._datetime6 == at_micros(1679581805123456));  // µs
        CHECK(row._datetime_p == at_micros(1679668200000000));
        CHECK(row._datetime_p2 == at_micros(1679668205120000));
        CHECK(row._timestamp == utc_micros(1679608810123456));   // 2023-03-23T22:00:10.123456Z
        CHECK(row._timestamp0 == utc_micros(1679555400000000));  // 2023-03-23T07:10:00Z
        CHECK(row._char == "Paimon");
        CHECK(row._varchar.value == "Apache Paimon");
        CHECK(row._tinytext == "Apache Paimon MySQL TINYTEXT Test Data");
        CHECK(row._text == "Apache Paimon MySQL Test Data");
        CHECK(row._mediumtext == "Apache Paimon MySQL MEDIUMTEXT Test Data");
        CHECK(row._longtext == "Apache Paimon MySQL Long Test Data");
        CHECK(row._bin == "Ynl0ZXMAAAAAAA==");
        CHECK(row._varbin == "bW9yZSBieXRlcw==");
        CHECK(row._tinyblob == "VElOWUJMT0IgdHlwZSB0ZXN0IGRhdGE=");
        CHECK(row._blob == "QkxPQiB0eXBlIHRlc3QgZGF0YQ==");
        CHECK(row._mediumblob == "TUVESVVNQkxPQiB0eXBlIHRlc3QgZGF0YQ==");
        CHECK(row._longblob == "TE9OR0JMT0IgIGJ5dGVzIHRlc3QgZGF0YQ==");
        CHECK(row._json.text == R"({"a": "b"})");
        CHECK(row._enum == "value1");
        CHECK(row._time == "10:13:23.000000");  // MicroTime 36803000000
        CHECK(row._point.text == R"({"x":1.0,"y":1.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAPA/","srid":null})");
        CHECK(
            row._geometry.text ==
            R"({"wkb":"AQMAAAABAAAABQAAAAAAAAAAAPA/AAAAAAAA8D8AAAAAAAAAQAAAAAAAAPA/AAAAAAAAAEAAAAAAAAAAQAAAAAAAAPA/AAAAAAAAAEAAAAAAAADwPwAAAAAAAPA/","srid":null})");
        CHECK(row._linestring->text ==
              R"({"wkb":"AQIAAAADAAAAAAAAAAAACEAAAAAAAAAAAAAAAAAAAAhAAAAAAAAACEAAAAAAAAAIQAAAAAAAABRA","srid":null})");
        CHECK(row._set == "a,b");
    }
}
