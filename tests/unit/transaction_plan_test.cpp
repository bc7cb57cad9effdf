// The transaction of a batch as data: golden step lists for each dialect, insert mode, delete
// mode and stage state, without a database. The Redshift dialect's statements also go to the
// offline grammar check.
#include <redsink/detail/applier.hpp>
#include <redsink/detail/executor.hpp>
#include <redsink/detail/positions.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies.hpp>
#include <redsink/record.hpp>
#include <redsink/sql/session.hpp>

#include <catch2/catch.hpp>
#include <support/statement_log.hpp>

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
ApplyPlan plan_for(Dialect dialect, bool key_enforced = true) {
    auto spec = redsink::table_spec<Item, Key>(redsink::sql::TableRef::make("shop", "items"), dialect);
    ApplyPlan plan(std::move(spec), key_enforced);
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

constexpr BatchShape inserts{true, false};
constexpr BatchShape deletes{false, true};
constexpr BatchShape both{true, true};

const std::string insert_items =
    R"(INSERT INTO "shop"."items" ("id", "name") SELECT "id", "name" FROM "redsink_stage" WHERE "redsink_stage"."redsink_op" <> 'd')";
const std::string delete_deleted =
    R"(DELETE FROM "shop"."items" USING "redsink_stage" WHERE "shop"."items"."id" = "redsink_stage"."id" AND "redsink_stage"."redsink_op" = 'd')";
const std::string delete_replaced =
    R"(DELETE FROM "shop"."items" USING "redsink_stage" WHERE "shop"."items"."id" = "redsink_stage"."id" AND "redsink_stage"."redsink_op" <> 'd')";

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
    const std::vector<ApplyPlan> plans{
        plan_for<append, ignore_deletes>(Dialect::redshift), plan_for<append, hard_delete>(Dialect::redshift),
        plan_for<append, soft>(Dialect::redshift),           plan_for<upsert, ignore_deletes>(Dialect::redshift),
        plan_for<upsert, hard_delete>(Dialect::redshift),    plan_for<upsert, soft>(Dialect::redshift),
        plan_for<append, ignore_deletes>(Dialect::postgres), plan_for<append, hard_delete>(Dialect::postgres),
        plan_for<append, soft>(Dialect::postgres),           plan_for<upsert, ignore_deletes>(Dialect::postgres),
        plan_for<upsert, hard_delete>(Dialect::postgres),    plan_for<upsert, soft>(Dialect::postgres)};
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
        CHECK(plan_transaction(plan, {false, false}, {}, {}).empty());
    }
}

TEST_CASE("dead letters go into their table just before COMMIT, never in a trial", "[unit][plan]") {
    using redsink::append;
    using redsink::ignore_deletes;
    using redsink::upsert;
    const BatchShape inserts_and_letters{true, false, true};
    const BatchShape letters_only{false, false, true};
    const auto redshift_append = plan_for<append, ignore_deletes>(Dialect::redshift);
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    CHECK(steps_of(redshift_append, inserts_and_letters) ==
          "BEGIN\n" + lock +
              "fill target by prepared multi-row INSERTs  -> inserted\ndead letters into their table by "
              "INSERT\nCOMMIT\n");
    CHECK(steps_of(redshift_append, letters_only) ==
          "BEGIN\n" + lock + "dead letters into their table by INSERT\nCOMMIT\n");
    // PostgreSQL's plain COPY is wrapped in a transaction with its dead letters.
    const auto postgres_append = plan_for<append, ignore_deletes>(Dialect::postgres);
    CHECK(steps_of(postgres_append, inserts_and_letters) ==
          "BEGIN\nfill target by COPY FROM STDIN  -> inserted\ndead letters into their table by INSERT\nCOMMIT\n");
    CHECK(steps_of(postgres_append, letters_only) == "BEGIN\ndead letters into their table by INSERT\nCOMMIT\n");
    const auto postgres_upsert = plan_for<upsert, ignore_deletes>(Dialect::postgres);
    CHECK_THAT(steps_of(postgres_upsert, inserts_and_letters),
               Catch::EndsWith("  -> inserted\ndead letters into their table by INSERT\nCOMMIT\n"));
    CHECK(steps_of(postgres_upsert, letters_only) == "BEGIN\ndead letters into their table by INSERT\nCOMMIT\n");
    // A trial tells whether the server takes rows: it writes no dead letters.
    const auto trial = describe(plan_transaction(postgres_upsert, inserts_and_letters, {true, true, false},
                                                 {.lock = redsink::ApplyLock::sink_table, .trial = true}));
    CHECK_THAT(trial, !Catch::Contains("dead letters") && Catch::EndsWith("ROLLBACK\n"));
}

TEST_CASE("redshift's bulk path: COPY from S3 in the fill's place, after LOCK and the stage's DDL", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    const auto bulk = [](const ApplyPlan& plan, BatchShape shape, StageState stage,
                         redsink::detail::TransactionOptions options) {
        options.bulk = true;
        const auto steps = plan_transaction(plan, shape, stage, options);
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
    CHECK_THAT(bulk(upserts, {true, false, true, true}, {true, true, false}, {}),
               Catch::Contains("(S3)") && Catch::EndsWith("dead letters into their table by INSERT\npositions (UPDATE "
                                                          "or INSERT per partition), fence check; wait for every "
                                                          "answer\nCOMMIT\n"));
}

TEST_CASE("exactly_once: positions last before COMMIT, in every mode; a trial writes none", "[unit][plan]") {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    const auto positions_step =
        std::string("positions (UPDATE or INSERT per partition), fence check; wait for every answer\n");
    const auto redshift_append = plan_for<append, ignore_deletes>(Dialect::redshift);
    const auto lock = std::string(R"(LOCK TABLE "shop"."redsink_lock_items")") + "\n";
    CHECK(steps_of(redshift_append, {true, false, false, true}) ==
          "BEGIN\n" + lock + "fill target by prepared multi-row INSERTs  -> inserted\n" + positions_step + "COMMIT\n");
    // PostgreSQL's plain COPY, atomic alone, is wrapped in a transaction with its positions.
    const auto postgres_append = plan_for<append, ignore_deletes>(Dialect::postgres);
    CHECK(steps_of(postgres_append, {true, false, false, true}) ==
          "BEGIN\nfill target by COPY FROM STDIN  -> inserted\n" + positions_step + "COMMIT\n");
    // A batch whose every event was dead-lettered still moves its positions.
    CHECK(steps_of(postgres_append, {false, false, true, true}) ==
          "BEGIN\ndead letters into their table by INSERT\n" + positions_step + "COMMIT\n");
    for (const auto& plan :
         {plan_for<upsert, hard_delete>(Dialect::redshift), plan_for<upsert, hard_delete>(Dialect::postgres)}) {
        const auto steps = plan_transaction(plan, {true, true, false, true}, {true, true, false}, {});
        REQUIRE(steps.size() >= 3);
        CHECK(steps[steps.size() - 2].kind == Step::Kind::positions);
        CHECK(steps.back().kind == Step::Kind::commit);
        const auto trial = plan_transaction(plan, {true, true, false, true}, {true, true, false},
                                            {.lock = redsink::ApplyLock::sink_table, .trial = true});
        for (const auto& step : trial) CHECK(step.kind != Step::Kind::positions);
    }
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
