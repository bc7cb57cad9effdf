// Rows whose columns are known at run time: the RowSchema's checks (the compile-time checks of a
// reflected struct, made when the schema is made), each Value written by its column type's
// encoder, and the record model's view of a row of another schema.
#include <redsink/change.hpp>
#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/row.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

using redsink::ColumnType;
using redsink::Row;
using redsink::RowColumn;
using redsink::RowSchema;
using redsink::SqlKind;

namespace {

std::string schema_error(std::vector<RowColumn> columns) {
    try {
        RowSchema schema(std::move(columns));
    } catch (const redsink::Error& error) {
        return error.what();
    }
    return "no error";
}

// The text `value` encodes to as column `type`, or the BadValue's reason.
std::string encoded(const redsink::Value& value, ColumnType type,
                    redsink::Dialect dialect = redsink::Dialect::postgres) {
    redsink::ParamBuffer out;
    try {
        redsink::encode_value(value, out, redsink::ColumnContext{"c", type, dialect});
    } catch (const redsink::BadValue& bad) {
        return "refused: " + bad.reason();
    }
    return out.is_null(0) ? "NULL" : std::string(out.view(0));
}

}  // namespace

TEST_CASE("a RowSchema refuses what a record struct cannot compile, naming the column", "[unit][row]") {
    const ColumnType text{SqlKind::text};
    CHECK(schema_error({}) == "the row schema has no column; a table needs at least one");
    CHECK(schema_error({{"id", text}, {"ID", text}}) ==
          "the row schema has the columns \"id\" and \"ID\", which differ only in letter case and so would be one "
          "column");
    CHECK(schema_error({{"id", text}, {"id", text}}) == "the row schema names the column \"id\" twice");
    CHECK(schema_error({{"xmin", text}}) ==
          "the row schema has the column \"xmin\", named like a PostgreSQL system column");
    CHECK(schema_error({{"redsink_op", text}}) ==
          "the row schema has the column \"redsink_op\", a name reserved for the sink's stage table");
    CHECK(schema_error({{std::string(64, 'a'), text}}).find("longer than 63 bytes") != std::string::npos);
    CHECK(schema_error({{"", text}}) == "the row schema has a column with an empty name");
    CHECK(schema_error({{"bad\xFF", text}}) ==
          "the row schema has a column whose name is not valid UTF-8 or holds a NUL byte");
    CHECK(schema_error({{"code", ColumnType{SqlKind::varchar, 0}}}) ==
          "the row schema column \"code\" is VARCHAR(0); a VARCHAR holds 1 to 65535");
    CHECK(schema_error({{"amount", ColumnType{.kind = SqlKind::decimal, .precision = 39}}}) ==
          "the row schema column \"amount\" is DECIMAL(39,0); a DECIMAL has a precision of 1 to 38 and a scale of at "
          "most its precision");
    CHECK(schema_error({{"id", ColumnType{.kind = SqlKind::int64, .nullable = true}, true}}) ==
          "the row schema column \"id\" is part of the key and nullable: key columns are NOT NULL");
    std::vector<RowColumn> many(1601, RowColumn{"c", text});
    CHECK(schema_error(many) == "the row schema has 1601 columns; a table holds at most 1,600");

    const RowSchema schema({{"Tenant", ColumnType{SqlKind::int32}, true}, {"name", text}, {"id", text, true}});
    CHECK(schema.table_column(0) == "tenant");
    CHECK(schema.find("Tenant") == 0u);
    CHECK(schema.find("tenant") == std::nullopt);
    CHECK(schema.key_indexes() == std::vector<std::size_t>{0, 2});
    const auto spec = schema.table_spec(redsink::sql::TableRef::make("s", "t"), redsink::Dialect::redshift);
    REQUIRE(spec.columns.size() == 3);
    CHECK(spec.columns[0].name == "tenant");
    CHECK(spec.key_indexes() == std::vector<std::size_t>{0, 2});

    Row row(std::make_shared<const RowSchema>(schema));
    CHECK_THROWS_WITH(row.set("nope", true), "redsink::Row: the row schema has no column \"nope\"");
}

TEST_CASE("a Row's value goes through its column type's encoder; a value of another kind is refused",
          "[unit][row][encode]") {
    using redsink::decimal_value;
    const ColumnType int16{SqlKind::int16};
    CHECK(encoded(std::int64_t{-32768}, int16) == "-32768");
    CHECK(encoded(std::int64_t{40000}, int16) == "refused: is 40000, outside SMALLINT's range");
    CHECK(encoded(std::int16_t{7}, ColumnType{SqlKind::int64}) == "7");
    CHECK(encoded(std::int32_t{7}, ColumnType{SqlKind::text}) ==
          "refused: holds a 32-bit integer value, and the column is TEXT");
    CHECK(encoded(0.5f, ColumnType{SqlKind::real}) == "0.5");
    CHECK(encoded(0.5f, ColumnType{SqlKind::double_precision}) == "0.5");
    CHECK(encoded(0.1, ColumnType{SqlKind::real}) == "refused: holds a double value, and the column is REAL");
    CHECK(encoded(std::numeric_limits<double>::infinity(), ColumnType{SqlKind::double_precision},
                  redsink::Dialect::redshift) == "refused: is infinite, which the Redshift dialect does not write");
    CHECK(encoded(std::string("abc"), ColumnType{SqlKind::varchar, 2}) ==
          "refused: is 3 characters long, longer than its VARCHAR(2)");
    CHECK(encoded(std::string("\xC3\xA4"), ColumnType{SqlKind::varchar, 1}, redsink::Dialect::redshift) ==
          "refused: is 2 bytes long, longer than its VARCHAR(1)");
    const ColumnType money{.kind = SqlKind::decimal, .precision = 6, .scale = 2};
    CHECK(encoded(decimal_value::parse("-12.5"), money) == "-12.50");
    CHECK(encoded(decimal_value::parse("1.230"), money) == "1.23");
    CHECK(encoded(decimal_value::parse("1.235"), money) ==
          "refused: has more fractional digits than DECIMAL(6,2) keeps");
    CHECK(encoded(decimal_value::parse("10000"), money) == "refused: does not fit in DECIMAL(6,2)");
    CHECK(encoded(decimal_value::parse("12345678901234567890123456789012345678"),
                  ColumnType{.kind = SqlKind::decimal, .precision = 38, .scale = 2}) ==
          "refused: does not fit in DECIMAL(38,2)");
    CHECK(encoded(decimal_value::from(redsink::decimal<4, 1>::from_units(-5)), money) == "-0.50");
    CHECK_THROWS_AS(decimal_value::parse("1e5"), std::invalid_argument);
    CHECK(encoded(std::monostate{}, ColumnType{.kind = SqlKind::int32, .nullable = true}) == "NULL");
    CHECK(encoded(std::monostate{}, ColumnType{SqlKind::int32}) == "refused: is NULL, and the column is NOT NULL");
    CHECK(encoded(redsink::json("{\"a\":1}"), ColumnType{SqlKind::json}) == "{\"a\":1}");
    CHECK(encoded(std::string("{}"), ColumnType{SqlKind::json}, redsink::Dialect::redshift) ==
          "refused: holds a string value, and the column is SUPER");
    CHECK(encoded(true, ColumnType{SqlKind::boolean}) == "t");
    CHECK(encoded(std::chrono::year_month_day{std::chrono::year{2024}, std::chrono::month{2}, std::chrono::day{30}},
                  ColumnType{SqlKind::date}) == "refused: is not a valid calendar date");

    CHECK(redsink::detail::raw_text(redsink::Value{decimal_value::parse("-0.05")}) == "-0.05");
    CHECK(redsink::detail::raw_text(redsink::Value{std::int16_t{-4}}) == "-4");
    CHECK(redsink::detail::raw_text(redsink::Value{std::string("x")}) == "x");
    CHECK(redsink::detail::raw_text(redsink::Value{}) == std::nullopt);
}

TEST_CASE("a Row encodes as the struct with the same columns would, and a row of another schema is named",
          "[unit][row][batch]") {
    using redsink::detail::EncodedBatch;
    const auto schema = std::make_shared<const RowSchema>(
        std::vector<RowColumn>{{"id", ColumnType{SqlKind::int64}, true},
                               {"name", ColumnType{SqlKind::text}},
                               {"note", ColumnType{.kind = SqlKind::text, .nullable = true}}});
    const redsink::detail::RecordModel<Row, void> model(schema, redsink::Dialect::postgres, 65535);
    EncodedBatch batch;
    Row row(schema);
    row.set("id", std::int64_t{4}).set("name", std::string("Ada"));
    redsink::detail::encode_change(redsink::upserted(row, {}), batch, model);
    Row key(schema);
    key.set("id", std::int64_t{4});
    redsink::detail::encode_change(redsink::deleted(key, {}), batch, model);
    CHECK(batch.events() == 2);
    CHECK(batch.params.view(0) == "4");
    CHECK(batch.params.view(1) == "Ada");
    CHECK(batch.params.is_null(2));
    CHECK(batch.params.view(3) == "4");
    CHECK(batch.params.is_null(4));
    CHECK(batch.key_hashes[0] == batch.key_hashes[1]);
    redsink::ParamBuffer scratch;
    CHECK(redsink::detail::row_key_hash(row, scratch, model) ==
          redsink::detail::key_hash(batch.params, 0, std::vector<std::size_t>{0}));

    // Other schemas fit by name: a column they lack is NULL, the order does not matter; a type or
    // key that differs is named, and so is a column the sink's schema lacks.
    const auto copy = std::make_shared<const RowSchema>(*schema);
    CHECK_NOTHROW(model.check(Row(copy)));
    const auto differs = [&](std::vector<RowColumn> columns) -> std::string {
        try {
            model.check(Row(std::make_shared<const RowSchema>(std::move(columns))));
        } catch (const redsink::BadValue& bad) {
            return bad.column() + ": " + bad.reason();
        }
        return "fits";
    };
    auto columns = schema->columns();
    columns[1].type = ColumnType{SqlKind::varchar, 10};
    CHECK(differs(columns) ==
          "name: is VARCHAR(10) in the row's schema and TEXT in the sink's: the sink never changes a column's type");
    columns = schema->columns();
    columns[1].key = true;
    CHECK(differs(columns) ==
          "name: is a key column of the row's schema and not of the sink's: the sink never changes a table's key");
    columns = schema->columns();
    columns.erase(columns.begin());
    CHECK(differs(columns) ==
          "id: is a key column of the sink's and not in the row's schema: the sink never changes a table's key");
    columns = schema->columns();
    columns.push_back({"email", ColumnType{SqlKind::text}});
    CHECK(differs(columns) ==
          "email: is in the row's schema and not in the table's: the sink adds columns with evolve_schema");
    const auto wider = std::make_shared<const RowSchema>(columns);
    CHECK(model.new_columns(Row(wider)).size() == 1);
    CHECK(model.new_columns(Row(schema)).empty());

    // A row of two columns in another order: the sink's columns in its own order, "note" NULL.
    const auto narrow = std::make_shared<const RowSchema>(std::vector<RowColumn>{
        {"name", ColumnType{.kind = SqlKind::text, .nullable = true}}, {"id", ColumnType{SqlKind::int64}, true}});
    CHECK(differs(narrow->columns()) == "fits");
    CHECK(model.new_columns(Row(narrow)).empty());
    Row reordered(narrow);
    reordered.set("id", std::int64_t{9}).set("name", std::string("Bo"));
    redsink::detail::encode_change(redsink::upserted(reordered, {}), batch, model);
    CHECK(batch.params.view(6) == "9");
    CHECK(batch.params.view(7) == "Bo");
    CHECK(batch.params.is_null(8));
    Row unnamed(narrow);
    unnamed.set("id", std::int64_t{9});
    CHECK_THROWS_WITH(redsink::detail::encode_change(redsink::upserted(unnamed, {}), batch, model),
                      "bad value in column \"name\": is NULL, and the column is NOT NULL");
    CHECK(batch.events() == 3);
    CHECK_THROWS_AS(redsink::detail::encode_change(redsink::upserted(Row(), {}), batch, model), redsink::BadValue);
    CHECK(batch.events() == 3);

    // Schemas that interleave (producers of two versions): each keeps its own fit.
    for (int round = 0; round < 3; ++round) {
        CHECK(model.new_columns(Row(wider)).size() == 1);
        CHECK_NOTHROW(model.check(Row(narrow)));
        CHECK_NOTHROW(model.check(Row(copy)));
    }
    redsink::detail::encode_change(redsink::upserted(reordered, {}), batch, model);
    CHECK(batch.params.view(9) == "9");
    CHECK(batch.params.view(10) == "Bo");
    CHECK(batch.params.is_null(11));
}

TEST_CASE("a Row keeps up to Row::inline_values values inside itself, more on the heap, through moves", "[unit][row]") {
    const auto schema_of = [](std::size_t columns) {
        std::vector<RowColumn> out;
        for (std::size_t i = 0; i < columns; ++i)
            out.push_back({"c" + std::to_string(i), ColumnType{.kind = SqlKind::text, .nullable = true}});
        return std::make_shared<const RowSchema>(std::move(out));
    };
    const auto inside = [](const Row& row) {
        const auto* begin = reinterpret_cast<const char*>(&row);
        const auto* values = reinterpret_cast<const char*>(row.values().data());
        return values >= begin && values < begin + sizeof(Row);
    };
    for (const std::size_t columns : {std::size_t{1}, Row::inline_values, Row::inline_values + 1, std::size_t{40}}) {
        CAPTURE(columns);
        Row row(schema_of(columns));
        for (std::size_t i = 0; i < columns; ++i) row[i] = std::string(40, static_cast<char>('a' + i % 26));
        CHECK(inside(row) == (columns <= Row::inline_values));
        // A vector of events holds rows of a few columns in one piece of memory, and moving them
        // (the vector growing) keeps every value.
        std::vector<redsink::Change<Row>> events;
        for (int i = 0; i < 100; ++i) events.push_back(redsink::upserted(row, {0, i}));
        CHECK(inside(events.back().row) == (columns <= Row::inline_values));
        for (const auto& event : events) CHECK(event.row.values().size() == columns);
        CHECK(std::get<std::string>(events[37].row[columns - 1]) == std::get<std::string>(row[columns - 1]));
        // rebind: the values stay where they are, under a schema of more columns (NULL) or as many.
        auto& first = events[0].row;
        const auto* before = first.values().data();
        first.rebind(schema_of(columns));
        CHECK(first.values().data() == before);
        first.rebind(schema_of(columns + 1));
        CHECK(first.size() == columns + 1);
        CHECK(std::holds_alternative<std::monostate>(first[columns]));
        CHECK(std::get<std::string>(first[0]) == std::string(40, 'a'));
        CHECK_THROWS_WITH(first.rebind(schema_of(columns)),
                          Catch::Matchers::Contains("a schema of " + std::to_string(columns) + " columns for " +
                                                    std::to_string(columns + 1) + " values"));
    }
    CHECK_THROWS_WITH(Row(schema_of(2), Row::Values(3)),
                      Catch::Matchers::Contains("3 values for a schema of 2 columns"));
}
