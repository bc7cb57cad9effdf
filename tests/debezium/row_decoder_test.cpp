// Rows whose columns come from the message's schema: the type table (every Kafka Connect and
// Debezium type decoded, written by a Sink<Row>, read back from PostgreSQL), tables created and
// grown from the messages against a model, the key modes, messages without a schema.
#include <debezium/support.hpp>
#include <support/compare.hpp>
#include <support/sink.hpp>
#include <support/stream.hpp>

#include <redsink/debezium.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace redsink_test::dbz;
using redsink::Row;
using redsink::debezium::KeyMode;
using redsink::debezium::RowDecoder;
using redsink::debezium::RowKey;

namespace {

std::vector<redsink::debezium::Decoded<Row>> decode_all(RowDecoder& decoder,
                                                        const std::vector<StoredMessage>& messages) {
    std::vector<redsink::debezium::Decoded<Row>> out;
    for (const auto& message : messages) out.push_back(decoder.decode(message.message()));
    return out;
}

std::vector<std::string> column_names(const Row& row) {
    std::vector<std::string> names;
    for (const auto& column : row.schema()->columns()) names.push_back(column.name + (column.key ? "*" : ""));
    return names;
}

redsink::pq::Connection connect(bool redshift) {
    return redshift ? redsink::pq::Connection(redsink_test::serializable_config()) : redsink_test::reader();
}

// The postgres_kinds fixture (one field per type) through a Sink<Row> of `Dialect`.
template <class Dialect>
void check_type_table(const std::string& table) {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, Dialect>;
    const bool redshift = Sink::dialect == redsink::Dialect::redshift;
    {
        auto conn = connect(redshift);
        conn.exec("DROP TABLE IF EXISTS " + redsink_test::qualified(table));
        if (redshift) redsink_test::install_super_stand_in(conn);
    }
    RowDecoder decoder({}, {}, Sink::dialect);
    const auto decoded = decode_all(decoder, read_messages(fixture_path("fixtures/postgres_kinds.txt")));
    REQUIRE(decoded.size() == 3);
    Sink sink(redshift ? redsink_test::serializable_config() : redsink_test::test_config(),
              {.schema = redsink_test::sink_schema, .table = table, .trace = redsink_test::sink_trace<Sink>()},
              decoded.front().change.row.schema());
    for (const auto& message : decoded) sink.write(message.change);
    sink.flush();

    auto conn = connect(redshift);
    const std::vector<std::string> expected_columns{
        "id bigint NOT NULL",
        "flag boolean",
        "small smallint",
        "medium integer",
        "ratio double precision",
        "ratio32 real",
        "amount numeric(12,2)",
        "big numeric(38,0)",
        redshift ? "vsd character varying(65535)" : "vsd text",
        "day date",
        redshift ? "at_ms character varying(65535)" : "at_ms text",
        redshift ? "at_us character varying(65535)" : "at_us text",
        redshift ? "at_ns character varying(65535)" : "at_ns text",
        "ts_ms timestamp without time zone",
        "ts_us timestamp without time zone",
        "ts_ns timestamp without time zone",
        "zoned timestamp with time zone",
        redshift ? "zoned_time character varying(65535)" : "zoned_time text",
        redshift ? "doc super" : "doc jsonb",
        redshift ? "uid character varying(65535)" : "uid text",
        redshift ? "mood character varying(65535)" : "mood text",
        redshift ? "raw character varying(65535)" : "raw text",
        redshift ? "tags super" : "tags jsonb"};
    CHECK(redsink_test::catalog_columns(conn, table) == expected_columns);

    conn.exec("SET TIME ZONE 'UTC'");
    std::string select = "SELECT ";
    for (std::size_t i = 0; i < expected_columns.size(); ++i) {
        const auto name = expected_columns[i].substr(0, expected_columns[i].find(' '));
        select += (i > 0 ? ", " : "") + name + "::text";
    }
    const auto rows = redsink_test::query_rows(conn, select + " FROM " + redsink_test::qualified(table));
    // What the fixture's values are (tests/debezium/fixtures/make_fixtures.py writes them), as
    // PostgreSQL shows them.
    redsink_test::check_same_rows(
        rows, {"1|true|1|2|0.5|0.25|0.00|0|0|1970-01-01|00:00:00.000|00:00:00.000000|"
               "00:00:00.000000000|1970-01-01 00:00:00|"
               "1970-01-01 00:00:00|1970-01-01 00:00:00|1970-01-01 00:00:00+00|00:00:00Z|{}|"
               "00000000-0000-0000-0000-000000000000|ok||[]",
               "2|false|-32768|-2147483648|-1.5e+300|-3.5|-0.05|-99999999999999999999999999999999999999|-123.456|"
               "0001-01-01|23:59:59.999|23:59:59.999999|23:59:59.999999999|1969-12-31 23:59:59.999|"
               "0001-01-01 00:00:00|1969-12-31 23:59:59.999999|1969-12-31 23:59:59.999999+00|"
               "23:59:59.999999+02:00|{\"a\": [1, 2, {\"b\": null}], \"s\": \"\xc3\xa9\"}|"
               "0d5c6a3e-0f37-4c2b-9d0e-d3c3a0b1c2d3|sad|AP8Q|[\"x\", \"y\"]",
               "3|true|32767|2147483647|0.5|0.25|999999999.99|99999999999999999999999999999999999999|700|9999-12-31|"
               "<NULL>|<NULL>|<NULL>|9999-12-31 23:59:59.999|9999-12-31 23:59:59.999999|2023-11-14 22:13:20.123456|"
               "9999-12-31 23:59:59.999999+00|<NULL>|<NULL>|<NULL>|happy|<NULL>|<NULL>"});
}

}  // namespace

TEST_CASE("RowDecoder: every Kafka Connect and Debezium type becomes its column, written and read back",
          "[debezium][pg][rowdecoder]") {
    SECTION("postgres") {
        check_type_table<redsink::postgres>("row_types_pg");
    }
    SECTION("redshift") {
        check_type_table<redsink::redshift>("row_types_rs");
    }
}

namespace {

// inventory.customers with the column the changed_schema fixture adds: the struct decoder's
// reading of the stream is the model's (the RowDecoder is what is tested).
struct CustomerPhone {
    BOOST_HANA_DEFINE_STRUCT(CustomerPhone, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::optional<std::string>, email), (std::optional<std::string>, phone));
};

template <class Dialect>
void check_growing_table(const std::string& table, std::size_t tasks) {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, Dialect>;
    const bool redshift = Sink::dialect == redsink::Dialect::redshift;
    connect(redshift).exec("DROP TABLE IF EXISTS " + redsink_test::qualified(table));
    auto messages = read_messages(fixture_path("fixtures/postgres_customers.txt"));
    for (auto& message : read_messages(fixture_path("fixtures/changed_schema.txt"))) messages.push_back(message);

    RowDecoder decoder({}, {}, Sink::dialect);
    redsink::debezium::Decoder<CustomerPhone> reference;
    std::map<std::int32_t, CustomerPhone> model;
    std::unique_ptr<Sink> sink;
    for (const auto& message : messages) {
        const auto decoded = decoder.decode(message.message());
        const auto expected = reference.decode(message.message()).change;
        if (redsink::is_delete(expected.op))
            model.erase(expected.row.id);
        else
            model[expected.row.id] = expected.row;
        // The table comes from the first message's schema.
        if (!sink)
            sink = std::make_unique<Sink>(redshift ? redsink_test::serializable_config() : redsink_test::test_config(),
                                          redsink::SinkOptions{.schema = redsink_test::sink_schema,
                                                               .table = table,
                                                               .batch_rows = 3,
                                                               .tasks = tasks,
                                                               .trace = redsink_test::sink_trace<Sink>()},
                                          decoded.change.row.schema());
        sink->write(decoded.change);
    }
    sink->flush();
    CHECK(sink->row_schema()->size() == 5);  // phone added

    std::vector<std::string> expected;
    for (const auto& [id, row] : model)
        expected.push_back(std::to_string(row.id) + "|" + row.first_name + "|" + row.last_name + "|" +
                           row.email.value_or("<NULL>") + "|" + row.phone.value_or("<NULL>"));
    std::sort(expected.begin(), expected.end());
    auto conn = connect(redshift);
    redsink_test::check_same_rows(
        redsink_test::query_rows(
            conn, "SELECT id, first_name, last_name, email, phone FROM " + redsink_test::qualified(table)),
        expected);
    CHECK(std::any_of(model.begin(), model.end(), [](const auto& entry) { return entry.second.phone.has_value(); }));
}

}  // namespace

TEST_CASE(
    "RowDecoder into Sink<Row, evolve_schema>: the table made from the first message, the column the "
    "source adds added, against a model",
    "[debezium][pg][rowdecoder]") {
    const std::size_t tasks = GENERATE(1, 4);
    SECTION("postgres") {
        check_growing_table<redsink::postgres>("row_grow_pg_" + std::to_string(tasks), tasks);
    }
    SECTION("redshift") {
        check_growing_table<redsink::redshift>("row_grow_rs_" + std::to_string(tasks), tasks);
    }
}

TEST_CASE("RowDecoder: the key from the message key, the row's fields, Kafka's coordinates, or none",
          "[debezium][rowdecoder]") {
    const auto messages = read_messages(fixture_path("fixtures/end_to_end.txt"));
    const auto& create = messages.at(4);  // a create of 1005

    SECTION("record_key: the message key's fields, NOT NULL; the rest nullable") {
        RowDecoder decoder;
        const auto decoded = decoder.decode(create.message());
        CHECK(column_names(decoded.change.row) == std::vector<std::string>{"id*", "first_name", "last_name", "email"});
        CHECK_FALSE(decoded.change.row.schema()->column(0).type.nullable);
        CHECK(decoded.change.row.schema()->column(1).type.nullable);
        CHECK(decoded.change.row.get("id") == redsink::Value(std::int32_t{1005}));
    }
    SECTION("record_key without a message key is an error naming the key") {
        RowDecoder decoder;
        auto message = create.message();
        message.key.reset();
        try {
            (void)decoder.decode(message);
            FAIL("decoded");
        } catch (const redsink::debezium::DecodeError& error) {
            CHECK(error.field() == "key");
            CHECK_THAT(error.what(), Catch::Contains("KeyMode::record_key"));
        }
    }
    SECTION("record_key: a message key that names another row") {
        RowDecoder decoder;
        auto other = create;
        const auto at = other.key->find("1005");
        REQUIRE(at != std::string::npos);
        other.key->replace(at, 4, "1999");
        CHECK_THROWS_WITH(decoder.decode(other.message()),
                          Catch::Contains("key.payload.id") && Catch::Contains("does not match"));
    }
    SECTION("record_value: the named fields") {
        RowDecoder decoder({}, RowKey{KeyMode::record_value, {"email"}});
        const auto decoded = decoder.decode(create.message());
        CHECK(column_names(decoded.change.row) == std::vector<std::string>{"id", "first_name", "last_name", "email*"});
        RowDecoder unknown({}, RowKey{KeyMode::record_value, {"nope"}});
        CHECK_THROWS_WITH(unknown.decode(create.message()),
                          Catch::Contains("nope") && Catch::Contains("not a field of the row"));
        CHECK_THROWS(RowDecoder({}, RowKey{KeyMode::record_value, {}}));
    }
    SECTION("kafka: topic, partition and offset in three key columns") {
        RowDecoder decoder({}, RowKey{KeyMode::kafka, {}});
        const auto decoded = decoder.decode(create.message());
        CHECK(column_names(decoded.change.row) == std::vector<std::string>{"id", "first_name", "last_name", "email",
                                                                           "__connect_topic*", "__connect_partition*",
                                                                           "__connect_offset*"});
        CHECK(decoded.change.row.get("__connect_topic") == redsink::Value(std::string(create.topic)));
        CHECK(decoded.change.row.get("__connect_partition") == redsink::Value(create.partition));
        CHECK(decoded.change.row.get("__connect_offset") == redsink::Value(create.offset));
    }
    SECTION("none: no key column") {
        RowDecoder decoder({}, RowKey{KeyMode::none, {}});
        const auto decoded = decoder.decode(create.message());
        CHECK(decoded.change.row.schema()->key_indexes().empty());
    }
    SECTION("a delete keeps its row; a tombstone's row is the message key's fields") {
        RowDecoder decoder;
        const auto remove = decoder.decode(messages.at(6).message()).change;
        CHECK(remove.op == redsink::Op::remove);
        CHECK(column_names(remove.row) == std::vector<std::string>{"id*", "first_name", "last_name", "email"});
        const auto tombstone = decoder.decode(messages.at(7).message()).change;
        CHECK(tombstone.op == redsink::Op::tombstone);
        CHECK(column_names(tombstone.row) == std::vector<std::string>{"id*"});
        CHECK(tombstone.row[0] == remove.row[0]);
    }
}

TEST_CASE("RowDecoder: messages without a schema go into given columns by name; unavailable values are kept",
          "[debezium][rowdecoder]") {
    const auto messages = read_messages(fixture_path("fixtures/mysql_products.txt"));
    RowDecoder decoder;
    CHECK_THROWS_WITH(decoder.decode(messages.at(0).message()), Catch::Contains("has no schema"));
    using redsink::ColumnType;
    using redsink::SqlKind;
    decoder.columns(redsink::RowSchema({{"id", ColumnType{SqlKind::int32, 0, 0, 0, false}, true},
                                        {"name", ColumnType{SqlKind::text}},
                                        {"description", ColumnType{SqlKind::text}},
                                        {"weight", ColumnType{SqlKind::double_precision}}}));
    const auto first = decoder.decode(messages.at(0).message()).change;
    CHECK(column_names(first.row) == std::vector<std::string>{"id*", "name", "description", "weight"});
    CHECK(first.row.get("name") == redsink::Value(std::string("scooter")));
    CHECK(first.row.get("weight") == redsink::Value(3.14));

    decoder.columns(redsink::RowSchema(
        {{"id", ColumnType{SqlKind::int32, 0, 0, 0, false}, true}, {"name", ColumnType{SqlKind::text}}}));
    CHECK_THROWS_WITH(decoder.decode(messages.at(0).message()),
                      Catch::Contains("value.after.description") && Catch::Contains("no column of the table"));

    RowDecoder toast;
    const auto decoded = toast.decode(read_messages(fixture_path("fixtures/postgres_toast.txt")).at(0).message());
    CHECK_FALSE(decoded.complete());
    const auto names = decoded.unavailable_members();
    REQUIRE_FALSE(names.empty());
    for (std::size_t i = 0; i < decoded.change.row.size(); ++i)
        CHECK(decoded.change.keep.contains(i) == decoded.unavailable.contains(i));
}

TEST_CASE("RowDecoder: real PostgreSQL messages of ten column types, each written and read back, in both dialects",
          "[debezium][pg][rowdecoder]") {
    // doublecloud/transfer's receiver tests: public.basic_types, one message per type of `val`
    // (fixtures/real/README.md), no message key: the key is the row's id.
    const auto messages = read_messages(fixture_path("fixtures/real/transfer_postgres_types.txt"));
    REQUIRE(messages.size() == 10);
    const std::vector<std::pair<std::string, std::string>> expected{
        {"text", "uw=="},                                  // bit(8), io.debezium.data.Bits: base64
        {"text", "yv66vg=="},                              // bytea: base64
        {"bigint", "90000000000"},                         // interval, MicroDuration
        {"jsonb", "{\"k1\": \"v1\"}"},                     // json
        {"jsonb", "{\"k2\": \"v2\"}"},                     // jsonb
        {"numeric(38,2)", "99.98"},                        // money: Decimal, scale 2, no precision
        {"text", "17:30:25Z"},                             // time with time zone, ZonedTime
        {"text", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},  // uuid, Uuid
        {"text", "<foo>bar</foo>"},                        // xml, Xml
        {"text", "04:05:06.100"}};                         // time(1), Time: milliseconds
    const auto run = [&]<class Dialect>(const std::string& prefix) {
        using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::create_table, Dialect>;
        const bool redshift = Sink::dialect == redsink::Dialect::redshift;
        auto conn = connect(redshift);
        if (redshift) redsink_test::install_super_stand_in(conn);
        RowDecoder decoder({}, RowKey{KeyMode::record_value, {"id"}}, Sink::dialect);
        for (std::size_t i = 0; i < messages.size(); ++i) {
            INFO("message " << i);
            const auto table = prefix + std::to_string(i);
            conn.exec("DROP TABLE IF EXISTS " + redsink_test::qualified(table));
            auto decoded = decoder.decode(messages[i].message());
            Sink sink(redshift ? redsink_test::serializable_config() : redsink_test::test_config(),
                      {.schema = redsink_test::sink_schema, .table = table, .trace = redsink_test::sink_trace<Sink>()},
                      decoded.change.row.schema());
            sink.write(decoded.change);
            sink.flush();
            auto type = expected[i].first;
            if (redshift && type == "text") type = "character varying(65535)";
            if (redshift && type == "jsonb") type = "super";
            CHECK(redsink_test::catalog_columns(conn, table) ==
                  std::vector<std::string>{"id integer NOT NULL", "val " + type});
            CHECK(redsink_test::query_rows(conn, "SELECT id, val::text FROM " + redsink_test::qualified(table)) ==
                  std::vector<std::string>{"1|" + expected[i].second});
        }
    };
    SECTION("postgres") {
        run.operator()<redsink::postgres>("row_real_pg_");
    }
    SECTION("redshift") {
        run.operator()<redsink::redshift>("row_real_rs_");
    }
}

TEST_CASE("RowDecoder into Sink<Row, evolve_schema>: a real stream that adds a column, then changes its type",
          "[debezium][pg][rowdecoder]") {
    // apache/paimon's schema-evolution test data: inventory.products, then `age` INT added, then
    // `age` as BIGINT, INT again, and a string (fixtures/real/README.md).
    const auto messages = read_messages(fixture_path("fixtures/real/paimon_mysql_schema_evolution.txt"));
    REQUIRE(messages.size() == 5);
    const std::string table = "row_real_evolution";

    SECTION("the type change stops the sink, naming table, column, both types and the position") {
        using Sink =
            redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, redsink::postgres>;
        redsink_test::drop_table(table);
        RowDecoder decoder({}, RowKey{KeyMode::record_value, {"id"}});
        auto first = decoder.decode(messages[0].message());
        Sink sink(redsink_test::test_config(), {.schema = redsink_test::sink_schema, .table = table},
                  first.change.row.schema());
        sink.write(first.change);
        sink.write(decoder.decode(messages[1].message()).change);
        sink.flush();
        auto conn = redsink_test::reader();
        CHECK(redsink_test::catalog_columns(conn, table) ==
              std::vector<std::string>{"id integer NOT NULL", "name text", "description text",
                                       "weight double precision", "age integer"});
        CHECK(redsink_test::query_rows(conn, "SELECT id, name, age FROM " + redsink_test::qualified(table)) ==
              std::vector<std::string>{"101|scooter|<NULL>", "103|12-pack drill bits|18"});
        try {
            sink.write(decoder.decode(messages[2].message()).change);
            sink.flush();
            FAIL("the type change was taken");
        } catch (const redsink::BadValue& bad) {
            CHECK_THAT(bad.what(), Catch::Contains("sink_test.row_real_evolution") &&
                                       Catch::Contains("column \"age\"") && Catch::Contains("offset 2") &&
                                       Catch::Contains("BIGINT") && Catch::Contains("INTEGER"));
        }
        CHECK(redsink_test::catalog_columns(conn, table).back() == "age integer");
    }
    SECTION("with dead letters, the changed rows are dead letters and the stream goes on") {
        using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema,
                                   redsink::postgres, redsink::dead_letter<"row_real_letters">>;
        redsink_test::drop_table(table);
        redsink_test::drop_table("row_real_letters");
        RowDecoder decoder({}, RowKey{KeyMode::record_value, {"id"}});
        std::vector<redsink::Change<Row>> changes;
        for (const auto& message : messages) changes.push_back(decoder.decode(message.message()).change);
        Sink sink(redsink_test::test_config(), {.schema = redsink_test::sink_schema, .table = table},
                  changes.front().row.schema());
        for (const auto& change : changes) sink.write(change);
        sink.flush();
        auto conn = redsink_test::reader();
        // Offset 3 brings `age` as INT again: it fits, and is written.
        CHECK(redsink_test::query_rows(
                  conn, "SELECT source_offset, column_name FROM " + redsink_test::qualified("row_real_letters")) ==
              std::vector<std::string>{"2|age", "4|age"});
        CHECK(sink.stats().dead_letters == 2);
        CHECK(redsink_test::query_rows(conn, "SELECT id, name, age FROM " + redsink_test::qualified(table)) ==
              std::vector<std::string>{"101|scooter|<NULL>", "103|12-pack drill bits|18", "105|hammer|24"});
    }
}

namespace {
struct Actor {
    BOOST_HANA_DEFINE_STRUCT(Actor, (std::int16_t, actor_id));
};
}  // namespace

TEST_CASE("RowDecoder, Options::order_by: each row carries its source position in a column of its own",
          "[debezium][rowdecoder]") {
    // A PostgreSQL delete and read (source.lsn), a MySQL read (no lsn), from real messages.
    const auto dvd = read_messages(fixture_path("fixtures/real/floodplain_dvdrental.txt"));
    redsink::debezium::Options options;
    options.order_by = redsink::debezium::OrderBy::source_lsn;
    RowDecoder by_lsn(options, RowKey{KeyMode::none, {}});
    const auto removed = by_lsn.decode(dvd.at(0).message());
    CHECK(removed.change.op == redsink::Op::remove);
    const auto& schema = *removed.change.row.schema();
    const auto& order = schema.column(schema.size() - 1);
    CHECK(order.name == "__source_position");
    CHECK(order.type.kind == redsink::SqlKind::int64);
    CHECK_FALSE(order.type.nullable);
    CHECK(removed.change.row.get("__source_position") == redsink::Value(std::int64_t{31246736}));
    CHECK(removed.change.row.get("actor_id") != redsink::Value{});
    const auto read = by_lsn.decode(dvd.at(1).message());
    CHECK(read.change.row.get("__source_position") == redsink::Value(std::int64_t{31227904}));
    try {
        (void)by_lsn.decode(dvd.at(2).message());
        FAIL("decoded");
    } catch (const redsink::debezium::DecodeError& error) {
        CHECK(error.field() == "source.lsn");
        CHECK_THAT(error.what(), Catch::Contains("the mysql connector writes no lsn: order by ts_ms"));
    }

    options.order_by = redsink::debezium::OrderBy::source_ts_ms;
    RowDecoder by_time(options, RowKey{KeyMode::none, {}});
    CHECK(by_time.decode(dvd.at(2).message()).change.row.get("__source_position") ==
          redsink::Value(std::int64_t{1640944010419}));
    // A tombstone has no source: 0, older than any event.
    auto tombstone = read_messages(fixture_path("fixtures/real/decodable_mysql_inventory.txt")).at(0);
    tombstone.value.reset();
    RowDecoder keyed(options);
    const auto gone = keyed.decode(tombstone.message());
    CHECK(gone.change.op == redsink::Op::tombstone);
    CHECK(column_names(gone.change.row) == std::vector<std::string>{"id*", "__source_position"});
    CHECK(gone.change.row.get("__source_position") == redsink::Value(std::int64_t{0}));
    // A field of that name is refused; so is the option in a struct's decoder (its member orders).
    options.order_column = "actor_id";
    RowDecoder clash(options, RowKey{KeyMode::none, {}});
    CHECK_THROWS_WITH(clash.decode(dvd.at(0).message()),
                      Catch::Contains("the name of the order column (Options::order_column)"));
    CHECK_THROWS_WITH(redsink::debezium::Decoder<Actor>(options),
                      Catch::Contains("debezium::Options::order_by is for the RowDecoder"));
}
