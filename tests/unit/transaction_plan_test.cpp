// The transaction of a batch as data: golden step lists for each dialect, insert mode, delete
// mode and stage state, without a database. The Redshift dialect's statements also go to the
// offline grammar check.
#include <redsink/detail/applier.hpp>
#include <redsink/detail/dead_letter_writes.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/positions_writer.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies.hpp>
#include <redsink/record.hpp>
#include <redsink/sql/session.hpp>

#include <catch2/catch.hpp>
#include <support/statement_log.hpp>

#include <memory>
#include <string>
#include <vector>

using redsink::ApplyPlan;
using redsink::Dialect;
using redsink::detail::BatchShape;
using redsink::detail::describe;
using redsink::detail::plan_transaction;
using redsink::detail::StageState;
using redsink::detail::Step;

namespace {

struct Item {
    BOOST_HANA_DEFINE_STRUCT(Item, (std::int64_t, id), (std::string, name));
};
using Key = redsink::primary_key<"id">;

template <class Insert, class Delete>
ApplyPlan plan_for(Dialect dialect, bool key_enforced = true,
                   redsink::UpsertStatement upsert_statement = redsink::UpsertStatement::delete_insert) {
    auto spec = redsink::table_spec<Item, Key>(redsink::sql::TableRef::make("shop", "items"), dialect);
    ApplyPlan plan(std::move(spec), key_enforced);
    plan.set_upsert_statement(upsert_statement);
    Delete::plan(plan);
    Insert::plan(plan);
    return plan;
}

// A Redshift-dialect statement, logged for the offline grammar check.
std::string redsink_test_redshift(std::string sql) {
    redsink_test::log_redshift_statement(sql);
    return sql;
}

std::string steps_of(const ApplyPlan& plan, BatchShape shape, StageState stage = {true, true, false},
                     redsink::ApplyLock lock = redsink::ApplyLock::sink_table) {
    const auto steps = plan_transaction(plan, shape, stage, {.lock = lock});
    if (plan.dialect() == Dialect::redshift)
        for (const auto& step : steps)
            if (!step.sql.empty()) redsink_test::log_redshift_statement(step.sql);
    return describe(steps);
}

constexpr BatchShape inserts{.inserts = true, .rows = 1};
constexpr BatchShape deletes{.deletes = true, .rows = 1};
constexpr BatchShape both{.inserts = true, .deletes = true, .rows = 2};

const std::string insert_items =
    R"(INSERT INTO "shop"."items" ("id", "name") SELECT "id", "name" FROM "redsink_stage" WHERE "redsink_stage"."redsink_op" <> 'd')";
const std::string delete_deleted =
    R"(DELETE FROM "shop"."items" USING "redsink_stage" WHERE "shop"."items"."id" = "redsink_stage"."id" AND "redsink_stage"."redsink_op" = 'd')";
const std::string delete_replaced =
    R"(DELETE FROM "shop"."items" USING "redsink_stage" WHERE "shop"."items"."id" = "redsink_stage"."id" AND "redsink_stage"."redsink_op" <> 'd')";
const std::string drop_staged_deletes = R"(DELETE FROM "redsink_stage" WHERE "redsink_stage"."redsink_op" = 'd')";
const std::string merge_items =
    R"(MERGE INTO "shop"."items" USING "redsink_stage" ON "shop"."items"."id" = "redsink_stage"."id" )"
    R"(WHEN MATCHED THEN UPDATE SET "name" = "redsink_stage"."name" )"
    R"(WHEN NOT MATCHED THEN INSERT ("id", "name") VALUES ("redsink_stage"."id", "redsink_stage"."name"))";
constexpr auto merge = redsink::UpsertStatement::merge;

}  // namespace

TEST_CASE("redshift: LOCK first, one COMMIT, the stage emptied inside the transaction", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    using soft = redsink::soft_delete<"deleted">;
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";

    SECTION("append: a batch of inserts goes straight into the target") {
        const auto plan = plan_for<append, ignore_deletes>(Dialect::redshift);
        CHECK(steps_of(plan, inserts) ==
              "BEGIN\n" + lock + "fill target by prepared multi-row INSERTs  -> inserted\nCOMMIT\n");
    }
    SECTION("append, hard_delete: deletes need the stage") {
        const auto plan = plan_for<append, hard_delete>(Dialect::redshift);
        CHECK(steps_of(plan, inserts) ==
              "BEGIN\n" + lock + "fill target by prepared multi-row INSERTs  -> inserted\nCOMMIT\n");
        CHECK(steps_of(plan, both) == "BEGIN\n" + lock +
                                          "DELETE FROM \"redsink_stage\"\n"
                                          "fill stage by prepared multi-row INSERTs\n" +
                                          delete_deleted + "  -> deleted\n" + insert_items + "  -> inserted\nCOMMIT\n");
        CHECK(steps_of(plan, deletes) == "BEGIN\n" + lock +
                                             "DELETE FROM \"redsink_stage\"\n"
                                             "fill stage by prepared multi-row INSERTs\n" +
                                             delete_deleted + "  -> deleted\nCOMMIT\n");
    }
    SECTION("upsert, hard_delete") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::redshift);
        CHECK(steps_of(plan, both) == "BEGIN\n" + lock +
                                          "DELETE FROM \"redsink_stage\"\n"
                                          "fill stage by prepared multi-row INSERTs\n" +
                                          delete_deleted + "  -> deleted\n" + delete_replaced + "\n" + insert_items +
                                          "  -> inserted\nCOMMIT\n");
        CHECK(steps_of(plan, inserts) == "BEGIN\n" + lock +
                                             "DELETE FROM \"redsink_stage\"\n"
                                             "fill stage by prepared multi-row INSERTs\n" +
                                             delete_replaced + "\n" + insert_items + "  -> inserted\nCOMMIT\n");
    }
    SECTION("upsert by MERGE, hard_delete: the staged deletes applied, then dropped from the stage; one MERGE") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::redshift, true, merge);
        CHECK(plan.merges());
        CHECK(steps_of(plan, both) == "BEGIN\n" + lock +
                                          "DELETE FROM \"redsink_stage\"\n"
                                          "fill stage by prepared multi-row INSERTs\n" +
                                          delete_deleted + "  -> deleted\n" + drop_staged_deletes + "\n" + merge_items +
                                          "  -> inserted\nCOMMIT\n");
        CHECK(steps_of(plan, inserts) == "BEGIN\n" + lock +
                                             "DELETE FROM \"redsink_stage\"\n"
                                             "fill stage by prepared multi-row INSERTs\n" +
                                             merge_items + "  -> inserted\nCOMMIT\n");
        CHECK(steps_of(plan, deletes) == "BEGIN\n" + lock +
                                             "DELETE FROM \"redsink_stage\"\n"
                                             "fill stage by prepared multi-row INSERTs\n" +
                                             delete_deleted + "  -> deleted\n" + drop_staged_deletes + "\nCOMMIT\n");
    }
    SECTION("upsert by MERGE, soft_delete: the flag set by an UPDATE, then by the MERGE on every staged row") {
        const auto plan = plan_for<upsert, soft>(Dialect::redshift, true, merge);
        const auto steps = steps_of(plan, both);
        CHECK_THAT(steps, Catch::Contains(R"(UPDATE "shop"."items" SET "deleted" = TRUE FROM "redsink_stage")") &&
                              Catch::Contains("  -> deleted\n" + drop_staged_deletes + "\n") &&
                              Catch::Contains(R"(UPDATE SET "name" = "redsink_stage"."name", )"
                                              R"("deleted" = ("redsink_stage"."redsink_op" = 'x') WHEN NOT MATCHED )"
                                              R"(THEN INSERT ("id", "name", "deleted") VALUES ("redsink_stage"."id", )"
                                              R"("redsink_stage"."name", ("redsink_stage"."redsink_op" = 'x')))") &&
                              Catch::EndsWith("  -> inserted\nCOMMIT\n"));
    }
    SECTION("upsert, soft_delete: the flag is set by an UPDATE, and inserted rows carry it") {
        const auto plan = plan_for<upsert, soft>(Dialect::redshift);
        const auto steps = steps_of(plan, both);
        CHECK_THAT(steps, Catch::StartsWith("BEGIN\n" + lock + "DELETE FROM \"redsink_stage\"\nfill stage"));
        CHECK_THAT(steps, Catch::Contains(R"(UPDATE "shop"."items" SET "deleted" = TRUE FROM "redsink_stage")") &&
                              Catch::Contains("  -> deleted\n") &&
                              Catch::Contains(R"("redsink_stage"."redsink_op" = 'x' FROM "redsink_stage")") &&
                              Catch::EndsWith("  -> inserted\nCOMMIT\n"));
    }
    SECTION("upsert, rows that keep stored values: the keep UPDATE right after the fill") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::redshift);
        const BatchShape keeping{.inserts = true, .deletes = true, .keeps = true};
        const auto keep = redsink::sql::keep_stored_sql(plan.record_table());
        CHECK_THAT(keep, Catch::StartsWith(R"(UPDATE "redsink_stage" SET "name" = CASE WHEN )"));
        CHECK(steps_of(plan, keeping) == "BEGIN\n" + lock +
                                             "DELETE FROM \"redsink_stage\"\n"
                                             "fill stage by prepared multi-row INSERTs\n" +
                                             keep + "\n" + delete_deleted + "  -> deleted\n" + delete_replaced + "\n" +
                                             insert_items + "  -> inserted\nCOMMIT\n");
    }
    SECTION("append, soft_delete: a managed column keeps inserts in the stage") {
        const auto plan = plan_for<append, soft>(Dialect::redshift);
        CHECK_THAT(steps_of(plan, inserts), Catch::Contains("fill stage by prepared multi-row INSERTs"));
    }
    SECTION("the stage: created in a session's first transaction, recreated once its deleted rows pile up") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::redshift);
        const auto create = redsink::sql::create_stage_sql(plan.record_table(), false);
        CHECK_THAT(steps_of(plan, inserts, {false, false, false}),
                   Catch::StartsWith("BEGIN\n" + lock + create + "  (ddl)\nfill stage"));
        CHECK_THAT(steps_of(plan, inserts, {true, false, false}), Catch::StartsWith("BEGIN\n" + lock + "fill stage"));
        CHECK_THAT(steps_of(plan, inserts, {true, true, true}),
                   Catch::StartsWith("BEGIN\n" + lock + "DROP TABLE \"redsink_stage\"  (ddl)\n" + create +
                                     "  (ddl)\nfill stage"));
    }
    SECTION("ApplyLock::target locks the target itself") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::redshift);
        CHECK_THAT(steps_of(plan, both, {true, true, false}, redsink::ApplyLock::target),
                   Catch::StartsWith("BEGIN\nLOCK TABLE \"shop\".\"items\"\n"));
    }
}

TEST_CASE("postgres: COPY, TRUNCATE inside the transaction, no lock", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;

    SECTION("append: a batch of inserts is one COPY into the target, atomic on its own") {
        const auto plan = plan_for<append, hard_delete>(Dialect::postgres);
        CHECK(steps_of(plan, inserts) == "fill target by COPY FROM STDIN  -> inserted\n");
        CHECK(steps_of(plan, both) == "BEGIN\nTRUNCATE \"redsink_stage\"\nfill stage by COPY FROM STDIN\n" +
                                          delete_deleted + "  -> deleted\n" + insert_items + "  -> inserted\nCOMMIT\n");
    }
    SECTION("upsert where the key is enforced: one INSERT ... ON CONFLICT") {
        const auto plan = plan_for<upsert, ignore_deletes>(Dialect::postgres);
        CHECK(steps_of(plan, inserts) ==
              "BEGIN\nTRUNCATE \"redsink_stage\"\nfill stage by COPY FROM STDIN\n" + insert_items +
                  R"( ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name")" + "  -> inserted\nCOMMIT\n");
    }
    SECTION("upsert by MERGE: one MERGE, even where the key is enforced") {
        for (const bool enforced : {true, false}) {
            const auto plan = plan_for<upsert, ignore_deletes>(Dialect::postgres, enforced, merge);
            CHECK(steps_of(plan, inserts) == "BEGIN\nTRUNCATE \"redsink_stage\"\nfill stage by COPY FROM STDIN\n" +
                                                 merge_items + "  -> inserted\nCOMMIT\n");
        }
    }
    SECTION("upsert where it is not: delete, then insert") {
        const auto plan = plan_for<upsert, ignore_deletes>(Dialect::postgres, false);
        CHECK(steps_of(plan, inserts) == "BEGIN\nTRUNCATE \"redsink_stage\"\nfill stage by COPY FROM STDIN\n" +
                                             delete_replaced + "\n" + insert_items + "  -> inserted\nCOMMIT\n");
    }
    SECTION("the stage is created in a session's first transaction and never recreated") {
        const auto plan = plan_for<upsert, hard_delete>(Dialect::postgres);
        CHECK_THAT(steps_of(plan, deletes, {false, false, false}),
                   Catch::StartsWith("BEGIN\nCREATE TEMP TABLE \"redsink_stage\" (") &&
                       Catch::Contains("  (ddl)\nfill stage by COPY FROM STDIN\n"));
        CHECK_THAT(steps_of(plan, deletes, {true, true, true}), Catch::StartsWith("BEGIN\nTRUNCATE"));
    }
}

TEST_CASE("every mode, both dialects: one BEGIN and one COMMIT at most, LOCK first on Redshift", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    using soft = redsink::soft_delete<"deleted">;
    const std::vector<ApplyPlan> plans{plan_for<append, ignore_deletes>(Dialect::redshift),
                                       plan_for<append, hard_delete>(Dialect::redshift),
                                       plan_for<append, soft>(Dialect::redshift),
                                       plan_for<upsert, ignore_deletes>(Dialect::redshift),
                                       plan_for<upsert, hard_delete>(Dialect::redshift),
                                       plan_for<upsert, soft>(Dialect::redshift),
                                       plan_for<append, ignore_deletes>(Dialect::postgres),
                                       plan_for<append, hard_delete>(Dialect::postgres),
                                       plan_for<append, soft>(Dialect::postgres),
                                       plan_for<upsert, ignore_deletes>(Dialect::postgres),
                                       plan_for<upsert, hard_delete>(Dialect::postgres),
                                       plan_for<upsert, soft>(Dialect::postgres),
                                       plan_for<upsert, hard_delete>(Dialect::redshift, true, merge),
                                       plan_for<upsert, soft>(Dialect::redshift, true, merge),
                                       plan_for<upsert, hard_delete>(Dialect::postgres, true, merge),
                                       plan_for<upsert, soft>(Dialect::postgres, false, merge)};
    for (const auto& plan : plans) {
        for (const auto shape : {inserts, deletes, both}) {
            for (const StageState stage :
                 {StageState{false, false, false}, StageState{true, true, false}, StageState{true, true, true}}) {
                const auto steps = plan_transaction(plan, shape, stage, {});
                INFO(describe(steps));
                REQUIRE_FALSE(steps.empty());
                int begins = 0;
                int commits = 0;
                int fills = 0;
                for (const auto& step : steps) {
                    begins += step.kind == Step::Kind::begin ? 1 : 0;
                    commits += step.kind == Step::Kind::commit ? 1 : 0;
                    fills += step.kind == Step::Kind::fill ? 1 : 0;
                    // Redshift: TRUNCATE would commit the transaction.
                    if (plan.dialect() == Dialect::redshift) CHECK_FALSE(step.sql.starts_with("TRUNCATE"));
                }
                CHECK(begins == commits);
                CHECK(begins <= 1);
                CHECK(fills == 1);
                if (plan.dialect() == Dialect::redshift) {
                    REQUIRE(steps.size() >= 3);
                    CHECK(steps[0].kind == Step::Kind::begin);
                    CHECK(steps[1].kind == Step::Kind::lock);
                    CHECK(steps.back().kind == Step::Kind::commit);
                } else {
                    for (const auto& step : steps) CHECK(step.kind != Step::Kind::lock);
                }
            }
        }
        CHECK(plan_transaction(plan, {}, {}, {}).empty());
    }
}

namespace {

using redsink::detail::Closing;

std::vector<redsink::detail::DeadLetter> letters(std::size_t count) {
    std::vector<redsink::detail::DeadLetter> out;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back({{0, static_cast<std::int64_t>(i)}, redsink::Op::create, "name", "", "refused", "{}", "now"});
    return out;
}

// A batch's dead-letter statements, into shop.redsink_dead_letters.
std::vector<Step> letter_steps(Dialect dialect, std::size_t count, std::size_t max_rows = 1000) {
    const auto spec =
        redsink::detail::dead_letter_table_spec(redsink::sql::TableRef::make("shop", "redsink_dead_letters"), dialect);
    return redsink::detail::dead_letter_steps(spec, letters(count), "shop.items", max_rows);
}

redsink::detail::PositionsTarget positions_target(Dialect dialect) {
    const auto spec = redsink::detail::positions_table_spec(redsink::sql::TableRef::make("shop", "items"), dialect);
    return {spec.name, "shop.items", "", 3, "host pid 1"};
}

const std::string letter_insert =
    R"(INSERT INTO "shop"."redsink_dead_letters" ("target_table", "source_partition", "source_offset", "op", "column_name", "sqlstate", "reason", "row_values", "recorded_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)  ? 1 rows)";
const std::string update_position =
    R"(UPDATE "shop"."redsink_positions_items" SET "committed_offset" = $3, "epoch" = $4, "writer" = $5, "written_at" = $6 WHERE "source_name" = $1 AND "source_partition" = $2)";
const std::string insert_position =
    R"(INSERT INTO "shop"."redsink_positions_items" ("source_name", "source_partition", "committed_offset", "epoch", "writer", "written_at") VALUES ($1, $2, $3, $4, $5, $6))";
const std::string check_fence =
    R"(SELECT 1 FROM "shop"."redsink_positions_items" WHERE "source_name" = $1 AND "source_partition" = -1 AND "epoch" = $2  [partition -1]  ? one row, else fenced)";

}  // namespace

TEST_CASE("dead letters go into their table just before COMMIT, never in a trial", "[unit][plan]") {
    using redsink::append;
    using redsink::ignore_deletes;
    using redsink::upsert;
    const auto redshift_append = plan_for<append, ignore_deletes>(Dialect::redshift);
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    const auto with_letters = [](const ApplyPlan& plan, BatchShape shape, std::size_t count) {
        const auto steps = plan_transaction(plan, shape, {true, true, false}, {},
                                            Closing{.dead_letters = letter_steps(plan.dialect(), count)});
        if (plan.dialect() == Dialect::redshift)
            for (const auto& step : steps)
                if (!step.sql.empty()) redsink_test::log_redshift_statement(step.sql);
        return describe(steps);
    };
    CHECK(with_letters(redshift_append, inserts, 1) ==
          "BEGIN\n" + lock + "fill target by prepared multi-row INSERTs  -> inserted\n" + letter_insert + "\nCOMMIT\n");
    CHECK(with_letters(redshift_append, {}, 1) == "BEGIN\n" + lock + letter_insert + "\nCOMMIT\n");
    // PostgreSQL's plain COPY is wrapped in a transaction with its dead letters.
    const auto postgres_append = plan_for<append, ignore_deletes>(Dialect::postgres);
    CHECK(with_letters(postgres_append, inserts, 1) ==
          "BEGIN\nfill target by COPY FROM STDIN  -> inserted\n" + letter_insert + "\nCOMMIT\n");
    CHECK(with_letters(postgres_append, {}, 1) == "BEGIN\n" + letter_insert + "\nCOMMIT\n");
    const auto postgres_upsert = plan_for<upsert, ignore_deletes>(Dialect::postgres);
    CHECK_THAT(with_letters(postgres_upsert, inserts, 1),
               Catch::EndsWith("  -> inserted\n" + letter_insert + "\nCOMMIT\n"));
    CHECK(with_letters(postgres_upsert, {}, 1) == "BEGIN\n" + letter_insert + "\nCOMMIT\n");
    // Several letters share a statement, each checked to insert every row it carries.
    const auto three = with_letters(postgres_upsert, {}, 3);
    CHECK_THAT(three, Catch::Contains("($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10, ") &&
                          Catch::Contains("$27)  ? 3 rows\nCOMMIT\n"));
    // A trial tells whether the server takes rows: it writes no dead letters.
    const auto trial = describe(plan_transaction(postgres_upsert, inserts, {true, true, false},
                                                 {.lock = redsink::ApplyLock::sink_table, .trial = true},
                                                 Closing{.dead_letters = letter_steps(Dialect::postgres, 1)}));
    CHECK_THAT(trial, !Catch::Contains("redsink_dead_letters") && Catch::EndsWith("ROLLBACK\n"));
}

TEST_CASE("dead letters: statements within the rows a statement may carry", "[unit][plan]") {
    const auto steps = letter_steps(Dialect::redshift, 2500, 1000);
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].first == 0);
    CHECK(steps[0].count == 1000);
    CHECK(steps[1].first == 1000);
    CHECK(steps[2].count == 500);
    for (const auto& step : steps) {
        CHECK(step.kind == Step::Kind::dead_letters);
        CHECK(step.check == redsink::detail::Check::all_rows);
    }
    CHECK(letter_steps(Dialect::redshift, 0).empty());
}

TEST_CASE("the load path: stage or target, INSERT, COPY or the bulk loader's COPY, chosen in one place",
          "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    using redsink::detail::BulkOffer;
    using redsink::detail::choose_load_path;
    using Into = Step::Into;
    using Method = Step::Method;
    const auto appends = plan_for<append, ignore_deletes>(Dialect::redshift);
    const auto upserts = plan_for<upsert, hard_delete>(Dialect::redshift);
    const BatchShape rows{.inserts = true, .rows = 100};
    const BulkOffer offer{true, 50};
    const auto path = [](const ApplyPlan& plan, BatchShape shape, redsink::detail::TransactionOptions options,
                         bool closing = false) {
        const auto chosen = choose_load_path(plan, shape, options, closing);
        return std::to_string(static_cast<int>(chosen.into)) + std::to_string(static_cast<int>(chosen.method)) +
               (chosen.transaction ? "t" : "-");
    };
    const auto expect = [](Into into, Method method, bool transaction) {
        return std::to_string(static_cast<int>(into)) + std::to_string(static_cast<int>(method)) +
               (transaction ? "t" : "-");
    };
    CHECK(path(appends, rows, {}) == expect(Into::target, Method::insert_chunks, true));
    CHECK(path(appends, rows, {.bulk = offer}) == expect(Into::target, Method::bulk_copy, true));
    CHECK(path(upserts, rows, {.bulk = offer}) == expect(Into::stage, Method::bulk_copy, true));
    // Below the loader's threshold, in a trial, or after the server refused the batch's COPY: INSERTs.
    CHECK(path(appends, {.inserts = true, .rows = 49}, {.bulk = offer}) ==
          expect(Into::target, Method::insert_chunks, true));
    CHECK(path(appends, rows, {.trial = true, .bulk = offer}) == expect(Into::target, Method::insert_chunks, true));
    CHECK(path(appends, rows, {.bulk = offer, .copy_refused = true}) ==
          expect(Into::target, Method::insert_chunks, true));
    // Deletes and kept values need the stage.
    CHECK(path(appends, {.inserts = true, .keeps = true, .rows = 3}, {}) ==
          expect(Into::stage, Method::insert_chunks, true));
    CHECK(path(plan_for<append, hard_delete>(Dialect::redshift), {.inserts = true, .deletes = true, .rows = 3}, {}) ==
          expect(Into::stage, Method::insert_chunks, true));
    // PostgreSQL: COPY FROM STDIN, never the bulk loader; alone into the target without a transaction
    // unless something commits with it.
    const auto postgres = plan_for<append, ignore_deletes>(Dialect::postgres);
    CHECK(path(postgres, rows, {.bulk = offer}) == expect(Into::target, Method::copy, false));
    CHECK(path(postgres, rows, {}, true) == expect(Into::target, Method::copy, true));
    CHECK(path(postgres, rows, {.trial = true}) == expect(Into::target, Method::copy, true));
    CHECK(path(plan_for<upsert, ignore_deletes>(Dialect::postgres), rows, {}) ==
          expect(Into::stage, Method::copy, true));
}

TEST_CASE("redshift's bulk path: COPY from S3 in the fill's place, after LOCK and the stage's DDL", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    const auto bulk = [](const ApplyPlan& plan, BatchShape shape, StageState stage,
                         redsink::detail::TransactionOptions options, Closing closing = {}) {
        options.bulk = {true, 1};
        shape.rows = 10;
        const auto steps = plan_transaction(plan, shape, stage, options, std::move(closing));
        for (const auto& step : steps)
            if (!step.sql.empty() && plan.dialect() == Dialect::redshift)
                redsink_test::log_redshift_statement(step.sql);
        return describe(steps);
    };
    const auto upserts = plan_for<upsert, hard_delete>(Dialect::redshift);
    CHECK(bulk(upserts, both, {true, true, false}, {}) ==
          "BEGIN\n" + lock +
              "DELETE FROM \"redsink_stage\"\n"
              "COPY stage FROM the staged objects (S3), check pg_last_copy_count()\n" +
              delete_deleted + "  -> deleted\n" + delete_replaced + "\n" + insert_items + "  -> inserted\nCOMMIT\n");
    // The stage is created (or recreated) before the COPY, in the same transaction.
    const auto create = redsink::sql::create_stage_sql(upserts.record_table(), false);
    CHECK(bulk(upserts, inserts, {false, false, false}, {}) ==
          "BEGIN\n" + lock + create + "  (ddl)\nCOPY stage FROM the staged objects (S3), check pg_last_copy_count()\n" +
              delete_replaced + "\n" + insert_items + "  -> inserted\nCOMMIT\n");
    // Plain inserts are copied into the target itself; the COPY's count is what was inserted.
    const auto appends = plan_for<append, ignore_deletes>(Dialect::redshift);
    CHECK(bulk(appends, inserts, {true, true, false}, {}) ==
          "BEGIN\n" + lock +
              "COPY target FROM the staged objects (S3), check pg_last_copy_count()  -> inserted\nCOMMIT\n");
    // A trial never takes the bulk path (it finds refused rows by INSERT), nor does PostgreSQL.
    CHECK_THAT(bulk(upserts, both, {true, true, false}, {.trial = true}),
               Catch::Contains("fill stage by prepared multi-row INSERTs") && Catch::EndsWith("ROLLBACK\n"));
    CHECK_THAT(bulk(plan_for<upsert, hard_delete>(Dialect::postgres), both, {true, true, false}, {}),
               Catch::Contains("fill stage by COPY FROM STDIN") && !Catch::Contains("S3"));
    // exactly_once and dead letters still go last before COMMIT.
    redsink::detail::PositionsWriter writer(positions_target(Dialect::redshift));
    const std::vector<redsink::Position> reached{{0, 7}};
    CHECK_THAT(bulk(upserts, inserts, {true, true, false}, {},
                    Closing{letter_steps(Dialect::redshift, 1), writer.steps(reached, {}, "now")}),
               Catch::Contains("(S3)") && Catch::EndsWith(letter_insert + "\n" + insert_position + "  [partition 0]\n" +
                                                          check_fence + "\nCOMMIT\n"));
}

TEST_CASE("exactly_once: positions last before COMMIT, in every mode; a trial writes none", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    redsink::detail::PositionsWriter writer(positions_target(Dialect::redshift));
    // Two partitions: the first time, each row is inserted; the highest offset of each.
    const std::vector<redsink::Position> events{{0, 5}, {1, 9}, {0, 7}};
    const auto first = writer.steps(events, {}, "now");
    CHECK(describe(first) ==
          insert_position + "  [partition 0]\n" + insert_position + "  [partition 1]\n" + check_fence + "\n");
    CHECK(first[0].params == std::vector<std::string>{"", "0", "7", "3", "host pid 1", "now"});
    CHECK(first[1].params == std::vector<std::string>{"", "1", "9", "3", "host pid 1", "now"});
    CHECK(first[2].params == std::vector<std::string>{"", "3"});
    // Not committed: still inserts. Committed: the rows exist, and each update must change one.
    CHECK(writer.steps(events, {}, "now")[0].sql.starts_with("INSERT"));
    writer.committed();
    // A dead letter's position counts too: partition 2 reached by its letter alone.
    auto dead = letters(1);
    dead[0].position = {2, 40};
    const auto second = writer.steps(events, dead, "now");
    CHECK(describe(second) == update_position + "  [partition 0]  ? one row\n" + update_position +
                                  "  [partition 1]  ? one row\n" + insert_position + "  [partition 2]\n" + check_fence +
                                  "\n");
    for (const auto& step : second) redsink_test::log_redshift_statement(step.sql);

    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    const auto redshift_append = plan_for<append, ignore_deletes>(Dialect::redshift);
    CHECK(describe(plan_transaction(redshift_append, inserts, {true, true, false}, {}, Closing{{}, first})) ==
          "BEGIN\n" + lock + "fill target by prepared multi-row INSERTs  -> inserted\n" + describe(first) + "COMMIT\n");
    // PostgreSQL's plain COPY, atomic alone, is wrapped in a transaction with its positions.
    const auto postgres_append = plan_for<append, ignore_deletes>(Dialect::postgres);
    CHECK(describe(plan_transaction(postgres_append, inserts, {true, true, false}, {}, Closing{{}, first})) ==
          "BEGIN\nfill target by COPY FROM STDIN  -> inserted\n" + describe(first) + "COMMIT\n");
    // A batch whose every event was dead-lettered still moves its positions.
    CHECK(describe(plan_transaction(postgres_append, {}, {true, true, false}, {},
                                    Closing{letter_steps(Dialect::postgres, 1), first})) ==
          "BEGIN\n" + letter_insert + "\n" + describe(first) + "COMMIT\n");
    for (const auto& plan :
         {plan_for<upsert, hard_delete>(Dialect::redshift), plan_for<upsert, hard_delete>(Dialect::postgres)}) {
        const auto steps = plan_transaction(plan, both, {true, true, false}, {}, Closing{{}, second});
        REQUIRE(steps.size() >= 5);
        CHECK(steps[steps.size() - 2].check == redsink::detail::Check::identity_held);
        for (std::size_t i = steps.size() - 5; i < steps.size() - 1; ++i) CHECK(steps[i].kind == Step::Kind::position);
        CHECK(steps.back().kind == Step::Kind::commit);
        const auto trial =
            plan_transaction(plan, both, {true, true, false}, {.lock = redsink::ApplyLock::sink_table, .trial = true},
                             Closing{{}, second});
        for (const auto& step : trial) CHECK(step.kind != Step::Kind::position);
    }
}

TEST_CASE("exactly_once with Fencing::partition: each partition's update holds the epoch it was claimed with",
          "[unit][plan]") {
    auto target = positions_target(Dialect::redshift);
    target.partitions = std::make_shared<redsink::detail::PartitionEpochs>();
    target.partitions->set(0, 4);
    target.partitions->set(1, 2);
    redsink::detail::PositionsWriter writer(target);
    const std::vector<redsink::Position> events{{1, 3}, {0, 8}};
    const auto steps = writer.steps(events, {}, "now");
    const auto update = std::string(
        R"(UPDATE "shop"."redsink_positions_items" SET "committed_offset" = $3, "writer" = $5, "written_at" = $6 WHERE "source_name" = $1 AND "source_partition" = $2 AND "epoch" = $4)");
    CHECK(describe(steps) == update + "  [partition 1]  ? one row, else fenced (partition)\n" + update +
                                 "  [partition 0]  ? one row, else fenced (partition)\n");
    CHECK(steps[0].params == std::vector<std::string>{"", "1", "3", "2", "host pid 1", "now"});
    CHECK(steps[1].params == std::vector<std::string>{"", "0", "8", "4", "host pid 1", "now"});
    for (const auto& step : steps) redsink_test::log_redshift_statement(step.sql);
    // A partition the sink holds no claim on is refused before anything is sent.
    const std::vector<redsink::Position> unclaimed{{5, 1}};
    CHECK_THROWS_WITH(writer.steps(unclaimed, {}, "now"), Catch::Contains("holds no claim on partition 5"));
}

TEST_CASE("exactly_once: the positions table and its statements", "[unit][plan]") {
    const auto target = redsink::sql::TableRef::make("shop", "items");
    const auto spec = redsink::detail::positions_table_spec(target, Dialect::redshift);
    CHECK(spec.name.display() == "shop.redsink_positions_items");
    CHECK(spec.key_indexes() == std::vector<std::size_t>{0, 1});
    CHECK(redsink::detail::positions_table(redsink::sql::TableRef::make("shop", std::string(60, 'a'))).table.size() ==
          63);
    for (const auto& sql :
         {redsink::detail::update_position_sql(spec.name), redsink::detail::insert_position_sql(spec.name),
          redsink::detail::check_fence_sql(spec.name), redsink::detail::read_fence_sql(spec.name),
          redsink::detail::read_positions_sql(spec.name)})
        CHECK_THAT(redsink_test_redshift(sql), Catch::Contains(R"("shop"."redsink_positions_items")"));
    CHECK(
        redsink::detail::check_fence_sql(spec.name) ==
        R"(SELECT 1 FROM "shop"."redsink_positions_items" WHERE "source_name" = $1 AND "source_partition" = -1 AND "epoch" = $2)");
}

TEST_CASE("multi-row INSERT chunks: full ones, then powers of two, within the byte limit", "[unit][plan]") {
    using redsink::detail::chunk_rows;
    using chunks = std::vector<std::pair<std::size_t, std::size_t>>;
    const std::vector<std::uint32_t> small(2500, 10);
    CHECK(chunk_rows(small, 7) ==
          chunks{{0, 1000}, {1000, 1000}, {2000, 256}, {2256, 128}, {2384, 64}, {2448, 32}, {2480, 16}, {2496, 4}});
    // 32,767 parameters at most: 40 columns make full chunks of 819 rows.
    CHECK(chunk_rows(std::vector<std::uint32_t>(900, 10), 40) == chunks{{0, 819}, {819, 64}, {883, 16}, {899, 1}});
    // Rows of 6 MB: two to a statement.
    CHECK(chunk_rows(std::vector<std::uint32_t>(5, 6u << 20), 7) == chunks{{0, 2}, {2, 2}, {4, 1}});
    CHECK(chunk_rows({}, 7).empty());
}

TEST_CASE("every new session gets its timeouts; Redshift has no lock_timeout", "[unit][plan]") {
    using redsink::sql::session_settings_sql;
    using std::chrono::milliseconds;
    CHECK(session_settings_sql(redsink::Dialect::postgres, milliseconds(900'000), milliseconds(60'000)) ==
          std::vector<std::string>{"SET statement_timeout = 900000", "SET lock_timeout = 60000"});
    CHECK(session_settings_sql(redsink::Dialect::redshift, milliseconds(900'000), milliseconds(60'000)) ==
          std::vector<std::string>{redsink_test_redshift("SET statement_timeout = 900000")});
    CHECK(session_settings_sql(redsink::Dialect::postgres, milliseconds(0), milliseconds(0)).empty());
}
