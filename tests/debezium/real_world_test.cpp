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

// ch_benchmark_db's public.customer (TPC-C) of RisingWave's e2e data, PostgreSQL real columns as
// FLOAT32.
struct TpccCustomer {
    BOOST_HANA_DEFINE_STRUCT(TpccCustomer, (std::int32_t, c_id), (std::int32_t, c_d_id), (std::int32_t, c_w_id),
                             (std::optional<std::string>, c_first), (std::optional<std::string>, c_middle),
                             (std::optional<std::string>, c_last), (std::optional<std::string>, c_street_1),
                             (std::optional<std::string>, c_street_2), (std::optional<std::string>, c_city),
                             (std::optional<std::string>, c_state), (std::optional<std::string>, c_zip),
                             (std::optional<std::string>, c_phone), (std::optional<std::string>, c_since),
                             (std::optional<std::string>, c_credit), (std::optional<float>, c_credit_lim),
                             (std::optional<float>, c_discount), (std::optional<float>, c_balance),
                             (std::optional<float>, c_ytd_payment), (std::optional<std::int32_t>, c_payment_cnt),
                             (std::optional<std::int32_t>, c_delivery_cnt), (std::optional<std::string>, c_data1),
                             (std::optional<std::string>, c_data2));
};

// The same table's key and c_discount only.
struct TpccDiscount {
    BOOST_HANA_DEFINE_STRUCT(TpccDiscount, (std::int32_t, c_id), (std::int32_t, c_d_id), (std::int32_t, c_w_id),
                             (double, c_discount));
};

// public.orders of RisingWave's messy-key topic (PostgreSQL, without schemas); order_date a
// Timestamp in ms.
struct MessyKeyOrder {
    BOOST_HANA_DEFINE_STRUCT(MessyKeyOrder, (std::int32_t, order_id), (redsink::timestamp, order_date),
                             (std::string, customer_name), (std::optional<redsink::decimal<10, 2>>, price),
                             (std::int32_t, product_id), (std::int16_t, order_status));
};

// inventory.customers with numeric columns, of Artie Transfer's tests (PostgreSQL); numeric(39, s)
// is wider than redsink's decimals and goes into strings.
struct ArtieNumeric {
    BOOST_HANA_DEFINE_STRUCT(ArtieNumeric, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::string, email), (std::optional<redsink::decimal<20, 6>>, numeric_test),
                             (std::optional<redsink::decimal<5, 0>>, numeric_5),
                             (std::optional<redsink::decimal<5, 2>>, numeric_5_2),
                             (std::optional<redsink::decimal<6, 6>>, numeric_5_6),
                             (std::optional<redsink::decimal<5, 0>>, numeric_5_0),
                             (std::optional<std::string>, numeric_39_0), (std::optional<std::string>, numeric_39_2),
                             (std::optional<std::string>, numeric_39_6));
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

TEST_CASE("real: a PostgreSQL read with schema whose real columns are FLOAT32 (RisingWave's e2e data)", "[debezium]") {
    const auto messages = real("risingwave_postgres_float.txt");
    REQUIRE(messages.size() == 1);
    Decoder<TpccCustomer> decoder;
    const auto decoded = decoder.decode(messages[0].message());
    CHECK(decoded.change.op == Op::read);
    const auto& row = decoded.change.row;
    CHECK(row.c_id == 1);
    CHECK(row.c_d_id == 1);
    CHECK(row.c_w_id == 1);
    CHECK(row.c_first == "2 4Py0Rg");
    CHECK(row.c_middle == "OE");
    CHECK(row.c_last == "BARBARBAR");
    CHECK(row.c_street_1 == "PwR0ymwiRN0m2");
    CHECK(row.c_street_2 == "B60g4NwRNw6kLy");
    CHECK(row.c_city == "04y2 miNRw0y4Nki");
    CHECK(row.c_state == "22");
    CHECK(row.c_zip == "093011111");
    CHECK(row.c_phone == "490-950-6869");
    CHECK(row.c_since == "2015-11-22 00:00:00");  // a string column
    CHECK(row.c_credit == "GC");
    CHECK(row.c_credit_lim == 50000.0f);  // "type":"float"
    CHECK(row.c_discount == 0.3173f);
    CHECK(row.c_balance == -10.0f);
    CHECK(row.c_ytd_payment == 10.0f);
    CHECK(row.c_payment_cnt == 1);
    CHECK(row.c_delivery_cnt == 0);
    CHECK(row.c_data1 ==
          "6ymmkmwyLPiN66RRyggLy m4gm6N0g0wRBwiw4NwNywN RP66yPiiLi4P6B46BB2m "
          "giLw4gB22w6PmLkLyRkk0N0mikNmg0m6Ly4mgN0P2NkgPy"
          "  wwNmkkLP6g6y LPBB4P2giiw4immRikNR6w0LLRm0NwP6NP6i6gy4i0P4wB6P4By PmiiPNBL0y0 L R220Bykg2 N4wL "
          "iwm66Ng4g2yR6iy02LyBy6Ng22RwRyP L0iLmwwkL");
    CHECK(row.c_data2 ==
          "LPyPmg2gwg Ri4ikBB4B242LBmL2RP4BRg6i6BkkR L4 0B6Pw0R6BBP04m0ig4k6yBkLyL 2PNy immkNiwRm4Ry4m6B y2R2gLmmBi "
          "wNLwi6Pi0RkR00wg 6yk40N20PB R4iiwBkw4");
    CHECK(decoded.complete());
    CHECK(decoded.source.connector == "postgresql");
    CHECK(decoded.source.db == "ch_benchmark_db");
    CHECK(decoded.source.schema == "public");
    CHECK(decoded.source.table == "customer");
    CHECK(decoded.source.snapshot == "true");
    CHECK(decoded.source.lsn == 24363832);
    CHECK(decoded.source.tx_id == 1324);
    CHECK(decoded.source.ts_ms == 1664141081149);
    CHECK(decoded.source.event_ts_ms == 1664141081151);
    CHECK(decoded.source.file.empty());
    CHECK(decoded.source.pos == std::nullopt);

    // A double member takes a FLOAT32 field too.
    Decoder<TpccDiscount> doubles({.ignore_unknown_fields = true});
    const auto credit = doubles.decode(messages[0].message()).change.row;
    CHECK(credit.c_id == 1);
    CHECK(credit.c_d_id == 1);
    CHECK(credit.c_w_id == 1);
    CHECK(credit.c_discount == 0.3173);
}

TEST_CASE("real: a MySQL update and a delete whose value has its schema (RisingWave's e2e data)", "[debezium]") {
    const auto messages = real("risingwave_mysql_delete_with_schema.txt");
    REQUIRE(messages.size() == 2);
    Decoder<Customer> decoder;

    const auto update = decoder.decode(messages[0].message());
    CHECK(update.change.op == Op::update);
    CHECK(update.change.row.id == 1006);
    CHECK(update.change.row.first_name == "add1");
    CHECK(update.change.row.last_name == "add2");  // after; before was add1
    CHECK(update.change.row.email == "add1");
    CHECK(update.complete());
    CHECK(update.change.position == redsink::Position{0, 0});
    CHECK(update.source.connector == "mysql");
    CHECK(update.source.db == "inventory");
    CHECK(update.source.table == "customers");
    CHECK(update.source.schema.empty());
    CHECK(update.source.snapshot == "false");
    CHECK(update.source.file == "mysql-bin.000003");
    CHECK(update.source.pos == 1442);
    CHECK(update.source.row == 1);
    CHECK(update.source.gtid.empty());  // null
    CHECK(update.source.ts_ms == 1661328502000);
    CHECK(update.source.event_ts_ms == 1661328502928);
    CHECK(update.source.lsn == std::nullopt);

    // No key: the row comes from before.
    const auto removed = decoder.decode(messages[1].message());
    CHECK(removed.change.op == Op::remove);
    CHECK(removed.change.row.id == 1006);
    CHECK(removed.change.row.first_name == "add1");
    CHECK(removed.change.row.last_name == "add2");
    CHECK(removed.change.row.email == "add1");
    CHECK(removed.change.position == redsink::Position{0, 1});
    CHECK(removed.source.connector == "mysql");
    CHECK(removed.source.db == "inventory");
    CHECK(removed.source.table == "customers");
    CHECK(removed.source.snapshot == "false");
    CHECK(removed.source.file == "mysql-bin.000003");
    CHECK(removed.source.pos == 1831);
    CHECK(removed.source.row == 0);
    CHECK(removed.source.gtid.empty());
    CHECK(removed.source.ts_ms == 1661328550000);
    CHECK(removed.source.event_ts_ms == 1661328550620);
}

TEST_CASE("real: PostgreSQL events without schemas behind a key that is not JSON (RisingWave's e2e data)",
          "[debezium]") {
    const auto messages = real("risingwave_postgres_messy_key.txt");
    REQUIRE(messages.size() == 4);
    Decoder<MessyKeyOrder> decoder({.timestamp_unit = redsink::debezium::TimeUnit::millis});

    const auto first = decoder.decode(value_of(messages[0]));
    CHECK(first.change.op == Op::read);
    CHECK(first.change.row.order_id == 1);
    CHECK(first.change.row.order_date == at_micros(1558430840000000));  // ms
    CHECK(first.change.row.customer_name == "Bob");
    CHECK(first.change.row.price == std::nullopt);
    CHECK(first.change.row.product_id == 1);
    CHECK(first.change.row.order_status == 1);
    CHECK(first.complete());
    CHECK(first.source.connector == "postgresql");
    CHECK(first.source.db == "mydb");
    CHECK(first.source.schema == "public");
    CHECK(first.source.table == "orders");
    CHECK(first.source.snapshot == "true");
    CHECK(first.source.lsn == 23911624);
    CHECK(first.source.tx_id == 490);
    CHECK(first.source.ts_ms == 1685975423896);
    CHECK(first.source.event_ts_ms == 1685975424096);

    const auto second = decoder.decode(value_of(messages[1]));
    CHECK(second.change.op == Op::read);
    CHECK(second.change.row.order_id == 2);
    CHECK(second.change.row.order_date == at_micros(1558430840001000));
    CHECK(second.change.row.customer_name == "Alice");
    CHECK(second.change.row.price == std::nullopt);
    CHECK(second.change.row.product_id == 2);
    CHECK(second.change.row.order_status == 1);
    CHECK(second.source.snapshot == "true");
    CHECK(second.source.event_ts_ms == 1685975424102);

    const auto third = decoder.decode(value_of(messages[2]));
    CHECK(third.change.op == Op::read);
    CHECK(third.change.row.order_id == 3);
    CHECK(third.change.row.order_date == at_micros(1558430840002000));
    CHECK(third.change.row.customer_name == "Alice");
    CHECK(third.change.row.price == std::nullopt);
    CHECK(third.change.row.product_id == 2);
    CHECK(third.change.row.order_status == 1);
    CHECK(third.source.snapshot == "last");
    CHECK(third.source.lsn == 23911624);
    CHECK(third.source.event_ts_ms == 1685975424103);

    const auto update = decoder.decode(value_of(messages[3]));
    CHECK(update.change.op == Op::update);
    CHECK(update.change.row.order_id == 1);
    CHECK(update.change.row.order_date == at_micros(1558430840000000));
    CHECK(update.change.row.customer_name == "Bob");
    CHECK(update.change.row.price == std::nullopt);
    CHECK(update.change.row.product_id == 3);
    CHECK(update.change.row.order_status == 1);
    CHECK(update.source.snapshot == "false");
    CHECK(update.source.lsn == 23911952);
    CHECK(update.source.tx_id == 491);
    CHECK(update.source.ts_ms == 1686029203809);
    CHECK(update.source.event_ts_ms == 1686029204058);
    CHECK(update.change.position == redsink::Position{0, 3});

    // With its key "****": malformed JSON is refused, wherever it is.
    for (const auto& stored : messages) {
        try {
            (void)decoder.decode(stored.message());
            FAIL("the key **** was accepted");
        } catch (const DecodeError& error) {
            CHECK(error.position() == redsink::Position{0, stored.offset});
        }
    }
}

TEST_CASE("real: PostgreSQL with REPLICA IDENTITY FULL, without schemas: updates and a delete with before",
          "[debezium]") {
    const auto messages = real("flink_postgres_replica_identity_full.txt");
    REQUIRE(messages.size() == 4);
    Decoder<Product> decoder;

    const auto read = decoder.decode(messages[0].message());
    CHECK(read.change.op == Op::read);
    CHECK(read.change.row.id == 101);
    CHECK(read.change.row.name == "scooter");
    CHECK(read.change.row.description == "Small 2-wheel scooter");
    CHECK(read.change.row.weight == 3.14);
    CHECK(read.complete());
    CHECK(read.source.connector == "postgresql");
    CHECK(read.source.db == "postgres");
    CHECK(read.source.schema == "inventory");
    CHECK(read.source.table == "products");
    CHECK(read.source.snapshot == "true");
    CHECK(read.source.lsn == 34078720);
    CHECK(read.source.tx_id == 601);
    CHECK(read.source.ts_ms == 1596001099434);
    CHECK(read.source.event_ts_ms == 1596001099434);

    const auto hammer = decoder.decode(messages[1].message());
    CHECK(hammer.change.op == Op::update);
    CHECK(hammer.change.row.id == 106);
    CHECK(hammer.change.row.name == "hammer");
    CHECK(hammer.change.row.description == "18oz carpenter hammer");  // after; before 16oz carpenter's hammer
    CHECK(hammer.change.row.weight == 1.0);
    CHECK(hammer.complete());
    CHECK(hammer.source.snapshot == "false");
    CHECK(hammer.source.lsn == 34131104);
    CHECK(hammer.source.tx_id == 602);
    CHECK(hammer.source.ts_ms == 1596010889629);
    CHECK(hammer.source.event_ts_ms == 1596010890411);

    const auto scooter = decoder.decode(messages[2].message());
    CHECK(scooter.change.op == Op::update);
    CHECK(scooter.change.row.id == 111);
    CHECK(scooter.change.row.name == "scooter");
    CHECK(scooter.change.row.description == "Big 2-wheel scooter ");
    CHECK(scooter.change.row.weight == 5.17);  // after; before 5.18
    CHECK(scooter.source.lsn == 34133584);
    CHECK(scooter.source.tx_id == 607);
    CHECK(scooter.source.ts_ms == 1596010985627);
    CHECK(scooter.source.event_ts_ms == 1596010986047);

    const auto removed = decoder.decode(messages[3].message());
    CHECK(removed.change.op == Op::remove);
    CHECK(removed.change.row.id == 111);
    CHECK(removed.change.row.name == "scooter");
    CHECK(removed.change.row.description == "Big 2-wheel scooter ");
    CHECK(removed.change.row.weight == 5.17);
    CHECK(removed.change.position == redsink::Position{0, 3});
    CHECK(removed.source.connector == "postgresql");
    CHECK(removed.source.schema == "inventory");
    CHECK(removed.source.table == "products");
    CHECK(removed.source.snapshot == "false");
    CHECK(removed.source.lsn == 34133800);
    CHECK(removed.source.tx_id == 608);
    CHECK(removed.source.ts_ms == 1596010988168);
    CHECK(removed.source.event_ts_ms == 1596010988596);
}

TEST_CASE("real: a PostgreSQL numeric without precision (VariableScaleDecimal) and numeric(39, s), with schema",
          "[debezium]") {
    const auto messages = real("artie_postgres_numeric.txt");
    REQUIRE(messages.size() == 1);
    Decoder<ArtieNumeric> decoder;
    const auto decoded = decoder.decode(messages[0].message());
    CHECK(decoded.change.op == Op::update);
    const auto& row = decoded.change.row;
    CHECK(row.id == 1001);
    CHECK(row.first_name == "Sally");
    CHECK(row.last_name == "Thomas");
    CHECK(row.email == "sally.thomas@acme.com");
    CHECK(row.numeric_test == redsink::decimal<20, 6>("123456.789"));  // {"scale":3,"value":"B1vNFQ=="}
    CHECK(row.numeric_5 == redsink::decimal<5, 0>("1234"));
    CHECK(row.numeric_5_2 == redsink::decimal<5, 2>("568.01"));
    CHECK(row.numeric_5_6 == redsink::decimal<6, 6>("0.023456"));  // numeric(5,6)
    CHECK(row.numeric_5_0 == redsink::decimal<5, 0>("5"));
    CHECK(row.numeric_39_0 == "58569102859845154622791691858438258688");
    CHECK(row.numeric_39_2 == "5856910285984515462279169185843825868.22");
    CHECK(row.numeric_39_6 == "585691028598451546227958438258688.123456");
    CHECK(decoded.complete());
    CHECK(decoded.source.connector == "postgresql");
    CHECK(decoded.source.db == "postgres");
    CHECK(decoded.source.schema == "inventory");
    CHECK(decoded.source.table == "customers");
    CHECK(decoded.source.snapshot == "false");
    CHECK(decoded.source.lsn == 34393728);
    CHECK(decoded.source.tx_id == 765);
    CHECK(decoded.source.ts_ms == 1686688855364);
    CHECK(decoded.source.event_ts_ms == 1686688856118);
}
