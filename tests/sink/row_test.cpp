// Sink<Row, ...>: records whose columns are known at run time (a RowSchema), through the same
// Sink, policies, plan and encoders as reflected structs. The seeded Account stream of
// support/stream.hpp is written as Rows, and the table is compared row by row with the same
// std::map model the struct tests use; bad values, rows of another schema, start-time checks.
#include <redsink/detail/positions.hpp>
#include <redsink/sink.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <support/compare.hpp>
#include <support/rows.hpp>
#include <support/sink.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace redsink_test;
using redsink::ColumnType;
using redsink::Row;
using redsink::RowColumn;
using redsink::RowSchema;
using redsink::SqlKind;

namespace {

std::vector<RowChange> as_rows(const std::vector<AccountChange>& stream,
                               const std::shared_ptr<const RowSchema>& schema) {
    std::vector<RowChange> out;
    out.reserve(stream.size());
    for (const auto& change : stream) out.push_back(as_row(change, schema));
    return out;
}

template <class Dialect, class Insert, class Delete>
void check_rows_against_model(InsertKind insert, DeleteKind remove, const std::string& table, std::uint64_t seed,
                              std::size_t tasks, redsink::UpsertStatement statement) {
    using Sink = redsink::Sink<Row, Insert, Delete, redsink::create_table, Dialect>;
    const bool redshift = Sink::dialect == redsink::Dialect::redshift;
    // The redshift dialect writes to the serializable stand-in's database.
    (redshift ? redsink::pq::Connection(serializable_config()) : reader())
        .exec("DROP TABLE IF EXISTS " + qualified(table));
    Sink sink(redshift ? serializable_config() : test_config(),
              {.schema = sink_schema,
               .table = table,
               .batch_rows = 97,
               .tasks = tasks,
               .upsert_statement = statement,
               .trace = sink_trace<Sink>()},
              account_schema());
    const auto stream = random_stream({.seed = seed, .events = 3000, .keys = 150});
    Model model(insert, remove);
    model.apply(stream);
    for (const auto& change : as_rows(stream, sink.row_schema())) sink.write(change);
    sink.flush();

    auto conn = redshift ? redsink::pq::Connection(serializable_config()) : reader();
    const auto rows = table_rows(conn, qualified(table), remove == DeleteKind::soft);
    const auto expected = model.rows();
    check_same_rows(rows, expected);
    const auto stats = sink.stats();
    CHECK(stats.events_in == stream.size());
    CHECK(stats.acknowledged == last_positions(stream));
}

using PgUpsert = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::create_table, redsink::postgres>;

}  // namespace

TEST_CASE("Sink<Row>: every mode leaves the model's table, in both dialects, with 1 and 4 tasks", "[pg][sink][row]") {
    using redsink::UpsertStatement;
    using soft = redsink::soft_delete<"deleted">;
    const std::size_t tasks = GENERATE(1, 4);
    DYNAMIC_SECTION("tasks " << tasks) {
        SECTION("postgres, upsert, hard_delete") {
            const auto statement = GENERATE(UpsertStatement::delete_insert, UpsertStatement::merge);
            check_rows_against_model<redsink::postgres, redsink::upsert, redsink::hard_delete>(
                InsertKind::upsert, DeleteKind::hard, "row_pg_upsert", 501, tasks, statement);
        }
        SECTION("postgres, append, ignore_deletes") {
            check_rows_against_model<redsink::postgres, redsink::append, redsink::ignore_deletes>(
                InsertKind::append, DeleteKind::ignore, "row_pg_append", 502, tasks, UpsertStatement::delete_insert);
        }
        SECTION("redshift, upsert, hard_delete") {
            const auto statement = GENERATE(UpsertStatement::delete_insert, UpsertStatement::merge);
            check_rows_against_model<redsink::redshift, redsink::upsert, redsink::hard_delete>(
                InsertKind::upsert, DeleteKind::hard, "row_rs_upsert", 503, tasks, statement);
        }
        SECTION("redshift, upsert, soft_delete") {
            check_rows_against_model<redsink::redshift, redsink::upsert, soft>(
                InsertKind::upsert, DeleteKind::soft, "row_rs_soft", 504, tasks, UpsertStatement::delete_insert);
        }
        SECTION("redshift, append, ignore_deletes") {
            check_rows_against_model<redsink::redshift, redsink::append, redsink::ignore_deletes>(
                InsertKind::append, DeleteKind::ignore, "row_rs_append", 505, tasks, UpsertStatement::delete_insert);
        }
    }
}

TEST_CASE("Sink<Row>: the table it creates has the schema's columns, types and key", "[pg][sink][row]") {
    drop_table("row_created");
    const auto schema = std::make_shared<const RowSchema>(std::vector<RowColumn>{
        {"Tenant", ColumnType{SqlKind::int32}, true},
        {"id", ColumnType{SqlKind::int64}, true},
        {"code", ColumnType{.kind = SqlKind::varchar, .length = 12, .nullable = true}},
        {"amount", ColumnType{.kind = SqlKind::decimal, .precision = 20, .scale = 4, .nullable = true}},
        {"ratio", ColumnType{.kind = SqlKind::real, .nullable = true}},
        {"score", ColumnType{.kind = SqlKind::double_precision, .nullable = true}},
        {"small", ColumnType{.kind = SqlKind::int16, .nullable = true}},
        {"born", ColumnType{.kind = SqlKind::date, .nullable = true}},
        {"seen", ColumnType{.kind = SqlKind::timestamp, .nullable = true}},
        {"at", ColumnType{.kind = SqlKind::timestamptz, .nullable = true}},
        {"doc", ColumnType{.kind = SqlKind::json, .nullable = true}},
        {"flag", ColumnType{SqlKind::boolean}},
    });
    PgUpsert sink(test_config(), {.schema = sink_schema, .table = "row_created"}, schema);
    Row row(schema);
    row.set("Tenant", std::int32_t{7})
        .set("id", std::int64_t{1})
        .set("code", std::string("ab\xC3\xA4"))
        .set("amount", redsink::decimal_value::parse("-12.5"))
        .set("ratio", 0.5f)
        .set("score", 2.25)
        .set("small", std::int16_t{-3})
        .set("born", std::chrono::year_month_day{std::chrono::year{2024}, std::chrono::month{2}, std::chrono::day{29}})
        .set("seen", redsink::timestamp::from(std::chrono::sys_days{std::chrono::year{2026} / 12 / 3} +
                                              std::chrono::hours{9} + std::chrono::microseconds{5}))
        .set("at", redsink::timestamptz::from(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}))
        .set("doc", redsink::json(R"({"a": [1, "x"]})"))
        .set("flag", true);
    sink.write(redsink::upserted(row, {0, 1}));
    Row sparse(schema);
    sparse.set("Tenant", std::int32_t{7}).set("id", std::int64_t{2}).set("flag", false);
    sink.write(redsink::upserted(sparse, {0, 2}));
    sink.flush();

    auto conn = reader();
    CHECK(catalog_columns(conn, "row_created") ==
          std::vector<std::string>{"tenant integer NOT NULL", "id bigint NOT NULL", "code character varying(12)",
                                   "amount numeric(20,4)", "ratio real", "score double precision", "small smallint",
                                   "born date", "seen timestamp without time zone", "at timestamp with time zone",
                                   "doc jsonb", "flag boolean NOT NULL"});
    const auto result = conn.exec(
        "SELECT tenant, id, coalesce(code, '-'), coalesce(amount::text, '-'), coalesce(ratio::text, '-'), "
        "coalesce(score::text, '-'), coalesce(small::text, '-'), coalesce(born::text, '-'), coalesce(seen::text, '-'), "
        "coalesce((at AT TIME ZONE 'UTC')::text, '-'), coalesce(doc::text, '-'), flag FROM " +
        qualified("row_created") + " ORDER BY id");
    REQUIRE(result.rows() == 2);
    std::vector<std::string> first;
    for (int column = 0; column < result.columns(); ++column) first.emplace_back(result.get(0, column));
    CHECK(first == std::vector<std::string>{"7", "1", "ab\xC3\xA4", "-12.5000", "0.5", "2.25", "-3", "2024-02-29",
                                            "2026-12-03 09:00:00.000005", "2026-01-01 00:00:00", R"({"a": [1, "x"]})",
                                            "t"});
    CHECK(std::string(result.get(1, 2)) == "-");
    CHECK(std::string(result.get(1, 11)) == "f");
}

TEST_CASE("Sink<Row>: a bad value or a row of another schema names table, column and position, and stops the sink",
          "[pg][sink][row]") {
    auto conn = reader();
    const auto schema = account_schema();
    const auto run = [&](const std::string& table, const Row& bad_row) -> std::string {
        drop_table(table);
        PgUpsert sink(test_config(), {.schema = sink_schema, .table = table}, schema);
        const auto good = as_row(redsink::upserted(Account{1, 1, "ok", {}, {}, true}, {0, 1}), schema);
        sink.write(good);
        try {
            sink.write(redsink::upserted(bad_row, {0, 2}));
            sink.flush();
        } catch (const redsink::BadValue& bad) {
            // The event before it was not handed over: not written, not acknowledged; the sink stopped.
            CHECK(table_rows(conn, qualified(table)).empty());
            CHECK(sink.stats().acknowledged.empty());
            CHECK_THROWS(sink.write(good));
            return bad.what();
        }
        FAIL("no error");
        return {};
    };
    Row wrong_kind(schema);
    wrong_kind.set("id", std::int64_t{2}).set("version", std::string("two")).set("name", std::string("x"));
    wrong_kind.set("balance", redsink::decimal_value::parse("1")).set("active", true);
    CHECK(run("row_bad_kind", wrong_kind) ==
          "bad value for table sink_test.row_bad_kind in column \"version\" at partition 0, offset 2: holds a string "
          "value, and the column is BIGINT");

    Row missing(schema);
    missing.set("id", std::int64_t{2}).set("version", std::int64_t{2}).set("active", true);
    missing.set("balance", redsink::decimal_value::parse("1"));
    CHECK(run("row_bad_null", missing) ==
          "bad value for table sink_test.row_bad_null in column \"name\" at partition 0, offset 2: is NULL, and the "
          "column is NOT NULL");

    Row precise(schema);
    precise.set("id", std::int64_t{2}).set("version", std::int64_t{2}).set("name", std::string("x"));
    precise.set("balance", redsink::decimal_value::parse("1.005")).set("active", true);
    CHECK(run("row_bad_scale", precise) ==
          "bad value for table sink_test.row_bad_scale in column \"balance\" at partition 0, offset 2: has more "
          "fractional digits than DECIMAL(12,2) keeps");

    auto wider_columns = schema->columns();
    wider_columns.push_back({"email", ColumnType{.kind = SqlKind::text, .nullable = true}});
    Row wider(std::make_shared<const RowSchema>(wider_columns));
    wider.set("id", std::int64_t{2});
    CHECK(run("row_bad_schema", wider) ==
          "bad value for table sink_test.row_bad_schema in column \"email\" at partition 0, offset 2: is in the row's "
          "schema and not in the table's: the sink adds columns with evolve_schema");
}

TEST_CASE("Sink<Row>: dead_letter takes bad values and rows of another schema, with their values",
          "[pg][sink][row][dead_letter]") {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::create_table, redsink::postgres,
                               redsink::dead_letter<"row_dead_letters">>;
    drop_table("row_lettered");
    auto conn = reader();
    conn.exec("DROP TABLE IF EXISTS sink_test.row_dead_letters");
    const auto schema = account_schema();
    Sink sink(test_config(), {.schema = sink_schema, .table = "row_lettered", .batch_rows = 10}, schema);
    const auto stream = random_stream({.seed = 77, .events = 200, .keys = 30});
    Model model(InsertKind::upsert, DeleteKind::hard);
    auto rows = as_rows(stream, schema);
    std::map<std::int64_t, std::string> expected_letters;  // offset in partition 0 -> column
    // A schema whose "version" is an INTEGER: a type the sink never changes.
    auto changed_columns = schema->columns();
    changed_columns[1].type = ColumnType{SqlKind::int32};
    const auto changed = std::make_shared<const RowSchema>(changed_columns);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto& change = rows[i];
        const bool is_insert = !redsink::is_delete(change.op);
        if (is_insert && change.position.partition == 0 && i % 7 == 3) {
            change.row.set("name", std::int64_t{5});
            expected_letters[change.position.offset] = "name";
            continue;
        }
        if (is_insert && change.position.partition == 0 && i % 11 == 5) {
            Row other(changed);
            for (std::size_t column = 0; column < changed->size(); ++column) other[column] = change.row[column];
            other.set("version", std::int32_t{1});
            change.row = other;
            expected_letters[change.position.offset] = "version";
            continue;
        }
        model.apply(stream[i]);
    }
    for (const auto& change : rows) sink.write(change);
    sink.flush();
    CHECK(table_rows(conn, qualified("row_lettered")) == model.rows());
    const auto letters = conn.exec(
        "SELECT source_offset, column_name, row_values FROM sink_test.row_dead_letters WHERE source_partition = 0 "
        "ORDER BY 1");
    REQUIRE(static_cast<std::size_t>(letters.rows()) == expected_letters.size());
    for (int i = 0; i < letters.rows(); ++i) {
        const auto offset = letters.as<std::int64_t>(i, 0);
        INFO("offset " << offset);
        CHECK(expected_letters[offset] == letters.get(i, 1));
        CHECK(std::string(letters.get(i, 2)).find("\"id\":") != std::string::npos);
        if (expected_letters[offset] == "version")
            CHECK(std::string(letters.get(i, 2)).find("\"version\":\"1\"") != std::string::npos);
    }
    CHECK(sink.stats().dead_letters == expected_letters.size());
}

TEST_CASE("Sink<Row>: newest_wins finds its order column in the schema; start-time checks name the table",
          "[pg][sink][row][newest_wins]") {
    using Guard = redsink::Sink<Row, redsink::newest_wins<"version">, redsink::hard_delete, redsink::create_table,
                                redsink::postgres>;
    drop_table("row_newest");
    const auto schema = account_schema();
    Guard sink(test_config(), {.schema = sink_schema, .table = "row_newest", .batch_rows = 7}, schema);
    // Each event a version of its own, delivered shuffled: per key, the event of the highest
    // version decides (a delete: no row).
    std::vector<std::int64_t> versions(400);
    std::iota(versions.begin(), versions.end(), 1);
    std::mt19937_64 random(9);
    std::shuffle(versions.begin(), versions.end(), random);
    std::map<std::int64_t, std::pair<std::int64_t, std::optional<Account>>> model;  // id -> newest version, row
    std::vector<AccountChange> events;
    for (std::int64_t i = 0; i < 400; ++i) {
        const Account row{static_cast<std::int64_t>(random() % 20),
                          versions[static_cast<std::size_t>(i)],
                          "n" + std::to_string(i),
                          {},
                          redsink::decimal<12, 2>(i),
                          true};
        const bool remove = random() % 5 == 0;
        events.push_back(remove ? redsink::deleted(row, {0, i}) : redsink::upserted(row, {0, i}));
        auto& [version, current] = model[row.id];
        if (row.version > version) {
            version = row.version;
            current = remove ? std::nullopt : std::optional<Account>(row);
        }
    }
    for (const auto& change : as_rows(events, schema)) sink.write(change);
    sink.flush();
    std::vector<std::string> expected;
    for (const auto& [id, entry] : model)
        if (entry.second) expected.push_back(row_text(*entry.second));
    std::sort(expected.begin(), expected.end());
    auto conn = reader();
    CHECK(table_rows(conn, qualified("row_newest")) == expected);

    const auto message = [](auto make) -> std::string {
        try {
            make();
        } catch (const redsink::Error& error) {
            return error.what();
        }
        return "no error";
    };
    CHECK(message([] { PgUpsert({}, {.schema = sink_schema, .table = "row_keyless"}, account_schema(false)); }) ==
          "the sink for sink_test.row_keyless matches each row to the one it replaces by its key, and the row schema "
          "has no key column: mark them (RowColumn::key), or append");
    const auto unversioned = std::make_shared<const RowSchema>(
        std::vector<RowColumn>{{"id", ColumnType{SqlKind::int64}, true}, {"name", ColumnType{SqlKind::text}}});
    CHECK(message([&] { Guard({}, {.schema = sink_schema, .table = "row_unversioned"}, unversioned); }) ==
          "newest_wins<\"version\"> for table sink_test.row_unversioned: the row schema has no such column");
}

namespace {

// The source's schema as it grows: v1 without note and active, v2 adds note, v3 adds active
// (NOT NULL at the source; the sink adds it nullable, older rows have no value for it).
std::vector<std::shared_ptr<const RowSchema>> growing_schemas() {
    std::vector<RowColumn> columns{{"id", ColumnType{SqlKind::int64}, true},
                                   {"version", ColumnType{SqlKind::int64}},
                                   {"name", ColumnType{SqlKind::text}},
                                   {"balance", ColumnType{.kind = SqlKind::decimal, .precision = 12, .scale = 2}}};
    std::vector<std::shared_ptr<const RowSchema>> out{std::make_shared<const RowSchema>(columns)};
    columns.push_back({"note", ColumnType{.kind = SqlKind::text, .nullable = true}});
    out.push_back(std::make_shared<const RowSchema>(columns));
    columns.push_back({"active", ColumnType{SqlKind::boolean}});
    out.push_back(std::make_shared<const RowSchema>(columns));
    return out;
}

// One row as text in the table's column order after the stream: id|version|name|balance|note|active.
std::string grown_text(const AccountChange& change, std::size_t version) {
    return fmt::format("{}|{}|{}|{}|{}|{}", change.row.id, change.row.version, change.row.name,
                       cents_text(change.row.balance.units),
                       version >= 1 ? change.row.note.value_or("<NULL>") : "<NULL>",
                       version >= 2 ? (change.row.active ? "true" : "false") : "<NULL>");
}

// The table's rows as grown_text writes them (`active`: the table has that column).
std::vector<std::string> grown_rows(redsink::pq::Connection& conn, const std::string& table, bool active = true) {
    return query_rows(conn, "SELECT id, version, name, balance, note" + std::string(active ? ", active::text" : "") +
                                " FROM " + qualified(table));
}

// The stream as its source sends it while its schema grows: phase by phase (v1, v2, v3), an older
// producer still sending v2 in phase 3; and the final table, id -> grown_text.
std::pair<std::vector<RowChange>, std::map<std::int64_t, std::string>> grown_stream(
    const std::vector<AccountChange>& stream, const std::vector<std::shared_ptr<const RowSchema>>& schemas,
    std::uint64_t seed) {
    std::vector<RowChange> events;
    std::map<std::int64_t, std::string> model;
    std::mt19937_64 random(seed);
    for (std::size_t i = 0; i < stream.size(); ++i) {
        const auto& change = stream[i];
        const std::size_t third = stream.size() / 3;
        const std::size_t version = i < third ? 0 : i < 2 * third ? 1 : (random() % 4 == 0 ? 1 : 2);
        Row row(schemas[version]);
        row.set("id", change.row.id);
        if (!redsink::is_delete(change.op)) {
            row.set("version", change.row.version).set("name", change.row.name);
            row.set("balance", redsink::decimal_value::from(change.row.balance));
            if (version >= 1 && change.row.note) row.set("note", *change.row.note);
            if (version >= 2) row.set("active", change.row.active);
            model[change.row.id] = grown_text(change, version);
        } else {
            model.erase(change.row.id);
        }
        events.push_back({change.op, std::move(row), change.position});
    }
    return {std::move(events), std::move(model)};
}

std::vector<std::string> texts(const std::map<std::int64_t, std::string>& model) {
    std::vector<std::string> out;
    for (const auto& [id, text] : model) out.push_back(text);
    std::sort(out.begin(), out.end());
    return out;
}

template <class Dialect>
void check_growing_stream(const std::string& table, std::size_t tasks) {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, Dialect>;
    const bool redshift = Sink::dialect == redsink::Dialect::redshift;
    const auto config = redshift ? serializable_config() : test_config();
    redsink::pq::Connection conn(config);
    conn.exec("DROP TABLE IF EXISTS " + qualified(table));
    const auto schemas = growing_schemas();
    Sink sink(config,
              {.schema = sink_schema, .table = table, .batch_rows = 50, .tasks = tasks, .trace = sink_trace<Sink>()},
              schemas[0]);
    const auto stream = random_stream({.seed = 900 + tasks, .events = 2400, .keys = 120});
    const auto [events, model] = grown_stream(stream, schemas, tasks);
    for (const auto& change : events) sink.write(change);
    sink.flush();

    const auto expected = texts(model);
    const auto rows = grown_rows(conn, table);
    check_same_rows(rows, expected);
    CHECK(sink.row_schema()->size() == 6);
    CHECK(sink.row_schema()->column(5).type.nullable);
    const auto stats = sink.stats();
    CHECK(stats.events_in == stream.size());
    CHECK(stats.events + stats.events_ignored == stream.size());
    CHECK(stats.acknowledged == last_positions(stream));

    // What the sink never does: change a type or the key. The sink stops, naming both types.
    auto changed = schemas[2]->columns();
    changed[1].type = ColumnType{SqlKind::int32};
    Row narrower(std::make_shared<const RowSchema>(changed));
    narrower.set("id", std::int64_t{1});
    CHECK_THROWS_WITH(sink.write(redsink::upserted(narrower, {0, 100000})),
                      "bad value for table sink_test." + table +
                          " in column \"version\" at partition 0, offset 100000: is INTEGER in the row's schema and "
                          "BIGINT in the sink's: the sink never changes a column's type");
}

}  // namespace

TEST_CASE("Sink<Row>, evolve_schema: columns the source adds are added while the stream runs, older rows NULL",
          "[pg][sink][row][evolve]") {
    const std::size_t tasks = GENERATE(1, 4);
    SECTION("postgres") {
        check_growing_stream<redsink::postgres>("row_grow_pg_" + std::to_string(tasks), tasks);
    }
    SECTION("redshift") {
        check_growing_stream<redsink::redshift>("row_grow_rs_" + std::to_string(tasks), tasks);
    }
}

TEST_CASE("Sink<Row>, evolve_schema: two sinks on one table both meet a new column; one adds it, the other finds it",
          "[pg][sink][row][evolve]") {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, redsink::redshift>;
    const auto config = serializable_config();
    redsink::pq::Connection conn(config);
    conn.exec("DROP TABLE IF EXISTS " + qualified("row_grow_two"));
    const auto schemas = growing_schemas();
    Sink first(config, {.schema = sink_schema, .table = "row_grow_two", .batch_rows = 20, .tasks = 2}, schemas[0]);
    Sink second(config, {.schema = sink_schema, .table = "row_grow_two", .batch_rows = 20, .tasks = 2}, schemas[0]);
    std::map<std::int64_t, std::string> model;
    const auto write = [&](Sink& sink, std::int64_t id, std::size_t version, std::int64_t offset) {
        Row row(schemas[version]);
        row.set("id", id).set("version", offset).set("name", std::string("n") + std::to_string(offset));
        row.set("balance", redsink::decimal_value::parse("1.5"));
        if (version >= 1) row.set("note", std::string("v1"));
        sink.write(redsink::upserted(row, {0, offset}));
        model[id] = fmt::format("{}|{}|n{}|1.50|{}", id, offset, offset, version >= 1 ? "v1" : "<NULL>");
    };
    // Keys 0-99 go to the first sink, 100-199 to the second; both then see v2 at once.
    for (std::int64_t i = 0; i < 100; ++i) {
        write(first, i, 0, i);
        write(second, 100 + i, 0, i);
    }
    for (std::int64_t i = 0; i < 100; ++i) {
        write(second, 100 + (i * 7) % 100, 1, 1000 + i);
        write(first, (i * 3) % 100, 1, 1000 + i);
    }
    first.flush();
    second.flush();
    std::vector<std::string> expected;
    for (const auto& [id, text] : model) expected.push_back(text);
    std::sort(expected.begin(), expected.end());
    CHECK(grown_rows(conn, "row_grow_two", false) == expected);
    CHECK(first.setup().added_columns.size() + second.setup().added_columns.size() == 1);
}

TEST_CASE(
    "Sink<Row>, evolve_schema, exactly_once: a stop after a schema change and a replay from the start write "
    "nothing twice; Fencing::partition keeps its claims",
    "[pg][sink][row][evolve][exactly_once]") {
    using Sink = redsink::Sink<Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema,
                               redsink::exactly_once, redsink::postgres>;
    auto conn = reader();
    const auto fencing = GENERATE(redsink::Fencing::identity, redsink::Fencing::partition);
    const std::string table = fencing == redsink::Fencing::identity ? "row_once_identity" : "row_once_partition";
    conn.exec("DROP TABLE IF EXISTS " + qualified(table));
    conn.exec("DROP TABLE IF EXISTS " +
              redsink::detail::positions_table(redsink::sql::TableRef::make(sink_schema, table)).quoted());
    const auto schemas = growing_schemas();
    const auto stream = random_stream({.seed = 1234, .events = 1800, .keys = 100});
    const auto [events, model] = grown_stream(stream, schemas, 5);
    redsink::SinkOptions options{.schema = sink_schema, .table = table, .batch_rows = 40, .tasks = 2};
    options.fencing = fencing;
    const auto claim = [&](Sink& sink) {
        if (fencing == redsink::Fencing::partition) (void)sink.claim_partitions({0, 1, 2});
    };
    {
        // Past the first schema change (at event 600), then stopped with events in flight: what
        // was not committed is not acknowledged.
        Sink sink(test_config(), options, schemas[0]);
        claim(sink);
        for (std::size_t i = 0; i < 900; ++i) sink.write(events[i]);
        sink.flush();
        CHECK(sink.row_schema()->size() == 5);
        for (std::size_t i = 900; i < 1000; ++i) sink.write(events[i]);
    }
    // Started again on the schema it started with, and the source replays from the start.
    Sink sink(test_config(), options, schemas[0]);
    claim(sink);
    for (const auto& change : events) sink.write(change);
    sink.flush();
    CHECK(grown_rows(conn, table) == texts(model));
    const auto stats = sink.stats();
    CHECK(stats.events_skipped >= 900);
    CHECK(stats.events_in == stats.events + stats.events_ignored + stats.events_skipped + stats.events_pending);
    CHECK(sink.resume_positions() == last_positions(stream));
}
