#include <redsink/record.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/ddl.hpp>
#include <redsink/sql/dml.hpp>

#include <catch2/catch.hpp>
#include <support/records.hpp>
#include <support/statement_log.hpp>

#include <string>

using redsink::Dialect;
using namespace redsink::sql;

namespace {

TableSpec everything(Dialect dialect, RedshiftLayout layout = {}) {
    return redsink::table_spec<redsink_test::Everything, redsink_test::EverythingKey>(
        TableRef::make("App", "Everything"), dialect, std::move(layout));
}

// Golden strings of the redshift dialect also go to the offline grammar check.
std::string redshift(std::string sql) {
    redsink_test::log_redshift_statement(sql);
    return sql;
}

const std::string columns =
    R"("tenant", "id", "active", "rank", "ratio", "score", "name", "code", "amount", "birthday", "created_at", )"
    R"("updated_at", "payload", "note", "parent")";

}  // namespace

TEST_CASE("CREATE SCHEMA and CREATE TABLE, Redshift dialect", "[unit][sql]") {
    const auto spec = everything(Dialect::redshift);
    CHECK(redshift(create_schema_sql(spec.name)) == R"(CREATE SCHEMA IF NOT EXISTS "app")");
    CHECK(redshift(create_table_sql(spec)) ==
          R"(CREATE TABLE IF NOT EXISTS "app"."everything" ("tenant" INTEGER NOT NULL, "id" BIGINT NOT NULL, )"
          R"("active" BOOLEAN NOT NULL, "rank" SMALLINT NOT NULL, "ratio" REAL NOT NULL, )"
          R"("score" DOUBLE PRECISION NOT NULL, "name" VARCHAR(65535) NOT NULL, "code" VARCHAR(8) NOT NULL, )"
          R"("amount" DECIMAL(12,2) NOT NULL, "birthday" DATE NOT NULL, "created_at" TIMESTAMP NOT NULL, )"
          R"("updated_at" TIMESTAMPTZ NOT NULL, "payload" SUPER NOT NULL, "note" VARCHAR(65535), "parent" BIGINT, )"
          R"(PRIMARY KEY ("tenant", "id")))");
}

TEST_CASE("CREATE TABLE, PostgreSQL dialect", "[unit][sql]") {
    CHECK(create_table_sql(everything(Dialect::postgres)) ==
          R"(CREATE TABLE IF NOT EXISTS "app"."everything" ("tenant" INTEGER NOT NULL, "id" BIGINT NOT NULL, )"
          R"("active" BOOLEAN NOT NULL, "rank" SMALLINT NOT NULL, "ratio" REAL NOT NULL, )"
          R"("score" DOUBLE PRECISION NOT NULL, "name" TEXT NOT NULL, "code" VARCHAR(8) NOT NULL, )"
          R"("amount" NUMERIC(12,2) NOT NULL, "birthday" DATE NOT NULL, "created_at" TIMESTAMP NOT NULL, )"
          R"("updated_at" TIMESTAMPTZ NOT NULL, "payload" JSONB NOT NULL, "note" TEXT, "parent" BIGINT, )"
          R"(PRIMARY KEY ("tenant", "id")))");
}

TEST_CASE("Redshift's layout is emitted only when asked for, and only for Redshift", "[unit][sql]") {
    const auto laid_out = everything(Dialect::redshift, {"", "id", {"tenant", "created_at"}});
    CHECK_THAT(redshift(create_table_sql(laid_out)),
               Catch::EndsWith(R"(PRIMARY KEY ("tenant", "id")) DISTSTYLE KEY DISTKEY ("id") )"
                               R"(COMPOUND SORTKEY ("tenant", "created_at"))"));
    CHECK_THAT(redshift(create_table_sql(everything(Dialect::redshift, {"EVEN", "", {}}))),
               Catch::EndsWith(R"(("tenant", "id")) DISTSTYLE EVEN)"));
    CHECK_THROWS_WITH(create_table_sql(everything(Dialect::postgres, {"EVEN", "", {}})),
                      Catch::Contains("only in the redshift dialect"));
    CHECK_THROWS_WITH(create_table_sql(everything(Dialect::redshift, {"SOMETIMES", "", {}})),
                      Catch::Contains("AUTO, EVEN, KEY or ALL"));
    CHECK_THROWS_WITH(create_table_sql(everything(Dialect::redshift, {"", "nope", {}})),
                      Catch::Contains(R"(DISTKEY column "nope" is not a column of app.everything)"));
}

TEST_CASE("ALTER TABLE adds one nullable column per statement", "[unit][sql]") {
    const auto spec = everything(Dialect::redshift);
    CHECK(redshift(add_column_sql(spec, spec.columns[12])) ==
          R"(ALTER TABLE "app"."everything" ADD COLUMN "payload" SUPER)");
    CHECK(redshift(add_column_sql(spec, spec.columns[6])) ==
          R"(ALTER TABLE "app"."everything" ADD COLUMN "name" VARCHAR(65535))");
    const auto pg = everything(Dialect::postgres);
    CHECK(add_column_sql(pg, pg.columns[6]) == R"(ALTER TABLE "app"."everything" ADD COLUMN "name" TEXT)");
}

TEST_CASE("catalog queries", "[unit][sql]") {
    CHECK_THAT(redshift(columns_query_sql()),
               Catch::Contains("FROM information_schema.columns WHERE table_schema = $1"));
    CHECK_THAT(redshift(primary_key_query_sql()), Catch::Contains("constraint_type = 'PRIMARY KEY'"));
}

TEST_CASE("multi-row INSERT, with JSON_PARSE for SUPER on Redshift", "[unit][sql]") {
    const auto spec = everything(Dialect::redshift);
    const std::string first = "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, JSON_PARSE($13), $14, $15)";
    const std::string second =
        "($16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, JSON_PARSE($28), $29, $30)";
    CHECK(redshift(insert_values_sql(spec.name.quoted(), spec.columns, false, 2, Dialect::redshift)) ==
          R"(INSERT INTO "app"."everything" ()" + columns + ") VALUES " + first + ", " + second);
    const auto pg = everything(Dialect::postgres);
    CHECK_THAT(insert_values_sql(pg.name.quoted(), pg.columns, false, 1, Dialect::postgres),
               Catch::EndsWith("$12, $13, $14, $15)"));
    CHECK(max_rows_per_insert(spec.columns.size()) == 2184);
    CHECK(max_rows_per_insert(spec.columns.size() + 1) == 2047);
    CHECK_NOTHROW(insert_values_sql(spec.name.quoted(), spec.columns, false, 2184, Dialect::redshift));
    CHECK_THROWS_WITH(insert_values_sql(spec.name.quoted(), spec.columns, false, 2185, Dialect::redshift),
                      Catch::Contains("outside 1 to 2184 rows"));
    const auto big = insert_values_sql(spec.name.quoted(), spec.columns, false, 2184, Dialect::redshift);
    CHECK(big.find("$32760") != std::string::npos);
    CHECK(big.find("$32761") == std::string::npos);
    CHECK(big.size() < max_statement_bytes);
}

TEST_CASE("the stage and the statements that apply it, Redshift dialect", "[unit][sql]") {
    const auto spec = everything(Dialect::redshift);
    CHECK(redshift(create_stage_sql(spec, false)) ==
          R"(CREATE TEMP TABLE "redsink_stage" ("redsink_op" CHAR(1) NOT NULL, "redsink_keep" VARCHAR(15), )"
          R"("tenant" INTEGER, "id" BIGINT, )"
          R"("active" BOOLEAN, "rank" SMALLINT, "ratio" REAL, "score" DOUBLE PRECISION, "name" VARCHAR(65535), )"
          R"("code" VARCHAR(8), "amount" DECIMAL(12,2), "birthday" DATE, "created_at" TIMESTAMP, )"
          R"("updated_at" TIMESTAMPTZ, "payload" SUPER, "note" VARCHAR(65535), "parent" BIGINT))");
    CHECK(redshift(insert_stage_sql(spec, 1)) ==
          R"(INSERT INTO "redsink_stage" ("redsink_op", "redsink_keep", )" + columns +
              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, JSON_PARSE($15), $16, $17)");
    // Kept values come from the target, for the columns the keep text marks ('1' at the column's place).
    const auto keep = redshift(keep_stored_sql(spec));
    CHECK_THAT(keep, Catch::StartsWith(R"(UPDATE "redsink_stage" SET "active" = CASE WHEN )"
                                       R"(SUBSTRING("redsink_stage"."redsink_keep", 3, 1) = '1' THEN )"
                                       R"("app"."everything"."active" ELSE "redsink_stage"."active" END, "rank" = )"));
    CHECK_THAT(keep, Catch::Contains(R"("parent" = CASE WHEN SUBSTRING("redsink_stage"."redsink_keep", 15, 1) = '1')"));
    CHECK_THAT(keep, Catch::EndsWith(R"( FROM "app"."everything" WHERE "app"."everything"."tenant" = )"
                                     R"("redsink_stage"."tenant" AND "app"."everything"."id" = "redsink_stage"."id" )"
                                     R"(AND "redsink_stage"."redsink_keep" IS NOT NULL)"));
    // Key columns are never kept.
    CHECK(keep.find(R"("tenant" = CASE)") == std::string::npos);
    CHECK(truncate_stage_sql() == R"(TRUNCATE "redsink_stage")");
    CHECK(redshift(delete_stage_rows_sql()) == R"(DELETE FROM "redsink_stage")");
    CHECK(redshift(deallocate_sql("redsink_stage_1024_7")) == "DEALLOCATE redsink_stage_1024_7");
    CHECK_THROWS(deallocate_sql("x; DROP TABLE y"));
    CHECK(redshift(drop_stage_sql()) == R"(DROP TABLE "redsink_stage")");
    CHECK(
        redshift(delete_using_stage_sql(spec)) ==
        R"(DELETE FROM "app"."everything" USING "redsink_stage" WHERE )"
        R"("app"."everything"."tenant" = "redsink_stage"."tenant" AND "app"."everything"."id" = "redsink_stage"."id")");
    CHECK(redshift(delete_using_stage_sql(spec, Staged::deletes)) ==
          R"(DELETE FROM "app"."everything" USING "redsink_stage" WHERE )"
          R"("app"."everything"."tenant" = "redsink_stage"."tenant" AND "app"."everything"."id" = "redsink_stage"."id")"
          R"( AND "redsink_stage"."redsink_op" = 'd')");
    CHECK(redshift(insert_from_stage_sql(spec)) ==
          R"(INSERT INTO "app"."everything" ()" + columns + ") SELECT " + columns +
              R"( FROM "redsink_stage" WHERE "redsink_stage"."redsink_op" <> 'd')");
    const std::vector<std::pair<std::string, std::string>> flag{{"deleted", "FALSE"}};
    CHECK_THAT(redshift(insert_from_stage_sql(spec, flag)),
               Catch::Contains(R"("parent", "deleted") SELECT "tenant")") &&
                   Catch::Contains(R"("parent", FALSE FROM "redsink_stage")"));
    const std::vector<std::pair<std::string, std::string>> deleted{{"deleted", "TRUE"}};
    CHECK(redshift(update_from_stage_sql(spec, Staged::deletes, deleted)) ==
          R"(UPDATE "app"."everything" SET "deleted" = TRUE FROM "redsink_stage" WHERE )"
          R"("app"."everything"."tenant" = "redsink_stage"."tenant" AND "app"."everything"."id" = "redsink_stage"."id")"
          R"( AND "redsink_stage"."redsink_op" = 'd')");
    CHECK(redshift(lock_table_sql(spec.name)) == R"(LOCK TABLE "app"."everything")");
    CHECK(redshift(lock_table_sql(lock_table(spec.name))) == R"(LOCK TABLE "app"."redsink_lock_everything")");
    CHECK(redshift(create_lock_table_sql(lock_table(spec.name))) ==
          R"(CREATE TABLE IF NOT EXISTS "app"."redsink_lock_everything" ("target" VARCHAR(255)))");
}

TEST_CASE("the lock table's name fits in 63 bytes, whatever the target's", "[unit][sql]") {
    const std::string long_name(63, 'a');
    const auto lock = lock_table(TableRef::make("app", long_name));
    CHECK(lock.table.size() == 63);
    CHECK(lock.table.starts_with("redsink_lock_aaaa"));
    CHECK(lock.table != lock_table(TableRef::make("app", std::string(62, 'a') + "b")).table);
    // A name of two-byte characters is never cut inside one.
    std::string umlauts;
    for (int i = 0; i < 31; ++i) umlauts += "\xC3\xA4";
    const auto cut = lock_table(TableRef::make("app", umlauts)).table;
    CHECK(cut.size() <= 63);
    CHECK(redsink::detail::check_utf8(cut).fault == redsink::detail::Utf8Fault::none);
    CHECK(lock_table(TableRef::make("app", "orders")).table == "redsink_lock_orders");
}

TEST_CASE("a target named like the sink's own tables is refused", "[unit][sql]") {
    CHECK_THROWS_WITH(check_target_name(TableRef::make("public", "redsink_stage")),
                      Catch::Contains("names beginning with redsink_ belong to the sink's own tables"));
    CHECK_THROWS_WITH(check_target_name(TableRef::make("public", "Redsink_Lock_Orders")),
                      Catch::Contains("redsink_lock_orders"));
    CHECK_NOTHROW(check_target_name(TableRef::make("public", "orders_redsink")));
}

TEST_CASE("PostgreSQL's faster forms", "[unit][sql]") {
    const auto spec = everything(Dialect::postgres);
    CHECK(create_stage_sql(spec, true).starts_with(R"(CREATE TEMP TABLE IF NOT EXISTS "redsink_stage" ()"));
    CHECK(copy_sql(spec.name.quoted(), spec.columns, false) ==
          R"(COPY "app"."everything" ()" + columns + ") FROM STDIN");
    CHECK(copy_sql(R"("redsink_stage")", spec.columns, true) ==
          R"(COPY "redsink_stage" ("redsink_op", "redsink_keep", )" + columns + ") FROM STDIN");
    CHECK_THAT(keep_stored_sql(spec), Catch::StartsWith(R"(UPDATE "redsink_stage" SET "active" = CASE WHEN )"));
    CHECK(
        upsert_from_stage_sql(spec) ==
        R"(INSERT INTO "app"."everything" ()" + columns + ") SELECT " + columns +
            R"( FROM "redsink_stage" WHERE "redsink_stage"."redsink_op" <> 'd' ON CONFLICT ("tenant", "id") DO UPDATE )"
            R"(SET "active" = EXCLUDED."active", "rank" = EXCLUDED."rank", "ratio" = EXCLUDED."ratio", )"
            R"("score" = EXCLUDED."score", "name" = EXCLUDED."name", "code" = EXCLUDED."code", )"
            R"("amount" = EXCLUDED."amount", "birthday" = EXCLUDED."birthday", )"
            R"("created_at" = EXCLUDED."created_at", "updated_at" = EXCLUDED."updated_at", )"
            R"("payload" = EXCLUDED."payload", "note" = EXCLUDED."note", "parent" = EXCLUDED."parent")");
}

TEST_CASE("a table column may be wider than its member, never of another type", "[unit][sql][catalog]") {
    const ColumnSpec id{"id", {redsink::SqlKind::int32}, true};
    const auto column = [](std::string type, std::optional<int> length = {}, std::optional<int> precision = {},
                           std::optional<int> scale = {}, bool nullable = true, std::string domain = {}) {
        return CatalogColumn{"c", std::move(type), length, precision, scale, nullable, false, std::move(domain)};
    };
    CHECK_FALSE(incompatibility(id, column("integer"), Dialect::redshift));
    CHECK_FALSE(incompatibility(id, column("bigint"), Dialect::redshift));
    CHECK(incompatibility(id, column("smallint"), Dialect::redshift) ==
          "the table has smallint, the record has INTEGER NOT NULL");
    const ColumnSpec text{"t", {redsink::SqlKind::text}};
    CHECK_FALSE(incompatibility(text, column("character varying", 65535), Dialect::redshift));
    CHECK(incompatibility(text, column("character varying", 256), Dialect::redshift) ==
          "the table has character varying(256), the record has VARCHAR(65535) NOT NULL");
    CHECK_FALSE(incompatibility(text, column("text"), Dialect::postgres));
    const ColumnSpec code{"code", {redsink::SqlKind::varchar, 8}};
    CHECK_FALSE(incompatibility(code, column("character varying", 8), Dialect::redshift));
    CHECK(incompatibility(code, column("character varying", 7), Dialect::redshift));
    const ColumnSpec amount{"amount", {redsink::SqlKind::decimal, 0, 12, 2}};
    CHECK_FALSE(incompatibility(amount, column("numeric", {}, 14, 2), Dialect::redshift));
    CHECK(incompatibility(amount, column("numeric", {}, 12, 3), Dialect::redshift) ==
          "the table has numeric(12,3), the record has DECIMAL(12,2) NOT NULL");
    const ColumnSpec doc{"doc", {redsink::SqlKind::json}};
    CHECK_FALSE(incompatibility(doc, column("super"), Dialect::redshift));
    CHECK_FALSE(incompatibility(doc, column("jsonb", {}, {}, {}, true, "super"), Dialect::redshift));
    CHECK_FALSE(incompatibility(doc, column("jsonb"), Dialect::postgres));
    CHECK(incompatibility(doc, column("jsonb"), Dialect::redshift));
    const ColumnSpec note{"note", {redsink::SqlKind::text, 0, 0, 0, true}};
    CHECK(incompatibility(note, column("text", {}, {}, {}, false), Dialect::postgres) ==
          "the table has text NOT NULL, the record has TEXT: the record may hold NULL, which the table's NOT NULL "
          "column refuses");
}
