#include <redsink/pq.hpp>
#include <redsink/record.hpp>
#include <redsink/schema.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/ddl.hpp>
#include <redsink/sql/dml.hpp>

#include <catch2/catch.hpp>
#include <support/pg.hpp>
#include <support/records.hpp>
#include <support/statement_log.hpp>

#include <map>
#include <string>
#include <vector>

using redsink::Dialect;
using redsink::ParamBuffer;
using redsink::pq::Connection;
using redsink_test::Everything;
using redsink_test::EverythingKey;
using namespace redsink::sql;

namespace {

std::vector<CatalogColumn> read_catalog(Connection& conn, const TableRef& table) {
    return redsink::read_table_columns(conn, table);
}

// Binds a ParamBuffer's values [first, first + count) to a statement.
redsink::pq::Result exec_buffer(Connection& conn, const std::string& sql, const ParamBuffer& params, std::size_t first,
                                std::size_t count) {
    std::vector<const char*> values(count);
    for (std::size_t i = 0; i < count; ++i) values[i] = params.data(first + i);
    return conn.exec_raw(sql, values);
}

// The table's rows as text, keyed by (tenant, id), for comparison.
std::map<std::string, std::vector<std::string>> table_rows(Connection& conn, const TableRef& table) {
    const auto result = conn.exec(
        "SELECT tenant, id, active, rank, ratio, score, name, code, amount, birthday, created_at, updated_at, "
        "payload::text, note, parent FROM " +
        table.quoted() + " ORDER BY tenant, id");
    std::map<std::string, std::vector<std::string>> rows;
    for (int row = 0; row < result.rows(); ++row) {
        std::vector<std::string> fields;
        for (int column = 0; column < result.columns(); ++column)
            fields.emplace_back(result.is_null(row, column) ? "NULL" : std::string(result.get(row, column)));
        rows[fields[0] + "/" + fields[1]] = fields;
    }
    return rows;
}

std::vector<std::string> expected_fields(const Everything& row) {
    std::vector<std::string> fields{std::to_string(row.tenant),
                                    std::to_string(row.id),
                                    row.active ? "t" : "f",
                                    std::to_string(row.rank),
                                    "0.25",
                                    "0.3333333333333333",
                                    row.name,
                                    row.code.value,
                                    "1234.56",
                                    "1990-02-28",
                                    "2024-01-02 03:04:05.000006",
                                    "2024-01-02 03:04:05.000006+00",
                                    "{\"id\": " + std::to_string(row.id) + ", \"tags\": [\"a\", \"b\"]}",
                                    row.note.value_or("NULL"),
                                    row.parent ? std::to_string(*row.parent) : "NULL"};
    return fields;
}

}  // namespace

TEST_CASE("a table created from a record reads back with the record's types", "[pg][schema]") {
    Connection conn(redsink_test::test_config());
    conn.exec("SET TIME ZONE 'UTC'");
    const auto spec = redsink::table_spec<Everything, EverythingKey>(TableRef::make("schema_test", "everything_pg"),
                                                                     Dialect::postgres);
    conn.exec("DROP SCHEMA IF EXISTS schema_test CASCADE");
    conn.exec(create_schema_sql(spec.name));
    conn.exec(create_table_sql(spec));
    conn.exec(create_table_sql(spec));  // IF NOT EXISTS: a second run changes nothing

    const auto catalog = read_catalog(conn, spec.name);
    REQUIRE(catalog.size() == spec.columns.size());
    const std::vector<std::string> types{"integer",
                                         "bigint",
                                         "boolean",
                                         "smallint",
                                         "real",
                                         "double precision",
                                         "text",
                                         "character varying",
                                         "numeric",
                                         "date",
                                         "timestamp without time zone",
                                         "timestamp with time zone",
                                         "jsonb",
                                         "text",
                                         "bigint"};
    for (std::size_t i = 0; i < catalog.size(); ++i) {
        INFO(catalog[i].name);
        CHECK(catalog[i].name == spec.columns[i].name);
        CHECK(catalog[i].data_type == types[i]);
        CHECK(catalog[i].nullable == spec.columns[i].type.nullable);
        CHECK_FALSE(incompatibility(spec.columns[i], catalog[i], Dialect::postgres));
    }
    CHECK(catalog[7].length == 8);
    CHECK(catalog[8].precision == 12);
    CHECK(catalog[8].scale == 2);
    const auto key = conn.exec(primary_key_query_sql(), spec.name.schema, spec.name.table);
    REQUIRE(key.rows() == 2);
    CHECK(key.get(0, 0) == "tenant");
    CHECK(key.get(1, 0) == "id");

    conn.exec(add_column_sql(spec, ColumnSpec{"extra", {redsink::SqlKind::varchar, 20, 0, 0, true}}));
    CHECK(read_catalog(conn, spec.name).back().type_text() == "character varying(20)");
}

TEST_CASE("PostgreSQL dialect: COPY into the target, COPY into the stage, upsert with ON CONFLICT", "[pg][schema]") {
    Connection conn(redsink_test::test_config());
    conn.exec("SET TIME ZONE 'UTC'");
    const auto spec = redsink::table_spec<Everything, EverythingKey>(TableRef::make("schema_test", "everything_copy"),
                                                                     Dialect::postgres);
    conn.exec("CREATE SCHEMA IF NOT EXISTS schema_test");
    conn.exec("DROP TABLE IF EXISTS " + spec.name.quoted());
    conn.exec(create_table_sql(spec));
    const auto columns = redsink::column_contexts<Everything>(Dialect::postgres);

    ParamBuffer params;
    std::string data;
    for (int id = 1; id <= 6; ++id) {
        params.clear();
        auto row = redsink_test::sample_everything(id);
        row.name += "\ttab\nnewline\\backslash";
        redsink::encode_row(row, params, columns);
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (i > 0) data.push_back('\t');
            redsink::append_copy_field(data, params, i);
        }
        data.push_back('\n');
    }
    CHECK(conn.copy_from_stdin(copy_sql(spec.name.quoted(), spec.columns, false), data) == 6);
    auto rows = table_rows(conn, spec.name);
    REQUIRE(rows.size() == 6);
    CHECK(rows["7/2"][6] == "n\xC3\xA4me 2\ttab\nnewline\\backslash");

    // Stage rows 5..8 (5 and 6 exist, 7 and 8 do not), then upsert: 4 rows inserted or updated.
    // Row 5 keeps its stored name (the keep text marks it): the keep statement copies the table's.
    conn.exec(create_stage_sql(spec, true));
    conn.exec(truncate_stage_sql());
    std::size_t name_column = 0;
    while (spec.columns[name_column].name != "name") ++name_column;
    std::string keep(spec.columns.size(), '0');
    keep[name_column] = '1';
    const auto stored_name = rows["7/5"][6];
    data.clear();
    for (int id = 5; id <= 8; ++id) {
        params.clear();
        auto row = redsink_test::sample_everything(id);
        row.name = "upserted";
        params.push("i");
        if (id == 5)
            params.push(keep);
        else
            params.push_null();
        redsink::encode_row(row, params, columns);
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (i > 0) data.push_back('\t');
            redsink::append_copy_field(data, params, i);
        }
        data.push_back('\n');
    }
    CHECK(conn.copy_from_stdin(copy_sql(quote_identifier(stage_table), spec.columns, true), data) == 4);
    CHECK(conn.exec(keep_stored_sql(spec)).affected_rows() == 1);
    CHECK(conn.exec(upsert_from_stage_sql(spec)).affected_rows() == 4);
    rows = table_rows(conn, spec.name);
    REQUIRE(rows.size() == 8);
    CHECK(rows["7/4"][6] != "upserted");
    CHECK(rows["7/5"][6] == stored_name);
    CHECK(stored_name != "upserted");
    for (const auto* key : {"7/6", "7/7", "7/8"}) CHECK(rows[key][6] == "upserted");
}

TEST_CASE("the Redshift dialect's statements run on PostgreSQL with a small compatibility setup",
          "[pg][schema][redshift]") {
    Connection conn(redsink_test::test_config());
    conn.exec("SET TIME ZONE 'UTC'");
    // What Redshift has and PostgreSQL lacks: the SUPER type and JSON_PARSE.
    conn.exec("DO $$ BEGIN CREATE DOMAIN public.super AS jsonb; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    conn.exec(
        "CREATE OR REPLACE FUNCTION public.json_parse(text) RETURNS public.super "
        "LANGUAGE sql IMMUTABLE AS 'SELECT $1::jsonb'");
    conn.set_trace(redsink_test::redshift_statement_logger());
    Connection reader(redsink_test::test_config());  // the test's own queries stay out of the grammar check
    reader.exec("SET TIME ZONE 'UTC'");

    const auto spec = redsink::table_spec<Everything, EverythingKey>(TableRef::make("schema_test", "everything_rs"),
                                                                     Dialect::redshift);
    reader.exec("DROP TABLE IF EXISTS schema_test.everything_rs");
    conn.exec(create_schema_sql(spec.name));
    conn.exec(create_table_sql(spec));
    const auto catalog = read_catalog(reader, spec.name);
    REQUIRE(catalog.size() == spec.columns.size());
    for (std::size_t i = 0; i < catalog.size(); ++i) {
        INFO(catalog[i].name << ": " << catalog[i].type_text());
        CHECK_FALSE(incompatibility(spec.columns[i], catalog[i], Dialect::redshift));
    }

    const auto columns = redsink::column_contexts<Everything>(Dialect::redshift);
    ParamBuffer params;
    for (int id = 1; id <= 4; ++id) redsink::encode_row(redsink_test::sample_everything(id), params, columns);
    CHECK(exec_buffer(conn, insert_values_sql(spec.name.quoted(), spec.columns, false, 4, Dialect::redshift), params, 0,
                      params.size())
              .affected_rows() == 4);

    // One batch as the sink applies it: stage, delete what the batch touches, insert what remains.
    {
        redsink::pq::Transaction tx(conn);
        conn.exec(create_stage_sql(spec, false));
        params.clear();
        for (int id : {2, 3, 5}) {
            auto row = redsink_test::sample_everything(id);
            row.name = "staged";
            params.push(id == 3 ? "d" : "i");
            params.push_null();  // keeps nothing
            redsink::encode_row(row, params, columns);
        }
        exec_buffer(conn, insert_stage_sql(spec, 3), params, 0, params.size());
        CHECK(conn.exec(delete_using_stage_sql(spec)).affected_rows() == 2);
        CHECK(conn.exec(insert_from_stage_sql(spec)).affected_rows() == 2);
        conn.exec(drop_stage_sql());
        tx.commit();
    }
    auto rows = table_rows(reader, spec.name);
    REQUIRE(rows.size() == 4);
    CHECK(rows["7/1"] == expected_fields(redsink_test::sample_everything(1)));
    auto staged = redsink_test::sample_everything(2);
    staged.name = "staged";
    CHECK(rows["7/2"] == expected_fields(staged));
    CHECK(rows.count("7/3") == 0);
    CHECK(rows["7/5"][6] == "staged");
    CHECK(rows["7/4"] == expected_fields(redsink_test::sample_everything(4)));

    // A soft delete through the stage, and a column added later.
    conn.exec(add_column_sql(spec, ColumnSpec{"deleted", {redsink::SqlKind::boolean, 0, 0, 0, true}}));
    {
        redsink::pq::Transaction tx(conn);
        conn.exec(create_stage_sql(spec, false));
        params.clear();
        params.push("d");
        params.push_null();
        redsink::encode_row(redsink_test::sample_everything(4), params, columns);
        exec_buffer(conn, insert_stage_sql(spec, 1), params, 0, params.size());
        const std::vector<std::pair<std::string, std::string>> flag{{"deleted", "TRUE"}};
        CHECK(conn.exec(update_from_stage_sql(spec, Staged::deletes, flag)).affected_rows() == 1);
        conn.exec(lock_table_sql(spec.name));
        conn.exec(drop_stage_sql());
        tx.commit();
    }
    CHECK(reader.exec("SELECT count(*) FROM schema_test.everything_rs WHERE deleted").as<int>(0, 0) == 1);
}
