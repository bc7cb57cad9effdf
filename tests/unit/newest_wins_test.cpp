// newest_wins without a database: the order-aware reduction, the statements it plans in each
// dialect and delete mode (golden; the Redshift dialect's go to the offline grammar check), and
// what a delete carries.
#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/policy_pack.hpp>
#include <redsink/detail/reduce.hpp>
#include <redsink/detail/transaction_plan.hpp>
#include <redsink/policies.hpp>
#include <redsink/record.hpp>

#include <catch2/catch.hpp>
#include <support/statement_log.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using redsink::ApplyPlan;
using redsink::Dialect;
using redsink::Reduction;
using redsink::detail::EncodedBatch;
using redsink::detail::OrderColumn;
using redsink::detail::reduce;
using redsink::detail::Refusals;
using redsink::detail::StagedRows;

namespace {

struct Item {
    BOOST_HANA_DEFINE_STRUCT(Item, (std::int64_t, id), (std::int64_t, version), (std::string, name));
};
using Key = redsink::primary_key<"id">;
using guard = redsink::newest_wins<"version">;

// A batch of (key, order value, op) events with three columns: the key, the order value and the
// event's number.
EncodedBatch batch_of(const std::vector<std::tuple<std::string, std::string, char>>& events) {
    EncodedBatch batch;
    batch.columns = 3;
    const std::vector<std::size_t> key{0};
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& [k, order, op] = events[i];
        batch.params.push(k);
        batch.params.push(order);
        batch.params.push(std::to_string(i));
        batch.ops.push_back(op);
        batch.positions.push_back({0, static_cast<std::int64_t>(i)});
        batch.row_bytes.push_back(4);
        batch.key_hashes.push_back(redsink::detail::key_hash(batch.params, i * 3, key));
    }
    return batch;
}

std::vector<std::string> staged(const StagedRows& staged) {
    std::vector<std::string> out;
    for (const auto& row : staged.rows) out.push_back(std::to_string(row.event) + ":" + row.op);
    return out;
}

const std::vector<std::size_t> key{0};
using list = std::vector<std::string>;
constexpr OrderColumn numeric{1, true};
constexpr OrderColumn textual{1, false};

template <class Delete>
ApplyPlan plan_for(Dialect dialect, bool key_enforced = false) {
    auto spec = redsink::table_spec<Item, Key>(redsink::sql::TableRef::make("shop", "items"), dialect);
    ApplyPlan plan(std::move(spec), key_enforced);
    plan.set_delete_mode(Delete::applies_deletes, Delete::keeps_rows);
    Delete::plan(plan);
    guard::plan(plan);
    return plan;
}

std::vector<std::string> statements(const ApplyPlan& plan) {
    std::vector<std::string> out;
    for (const auto* planned : {&plan.delete_statements(), &plan.insert_statements()})
        for (const auto& statement : *planned) {
            if (plan.dialect() == Dialect::redshift) redsink_test::log_redshift_statement(statement.sql);
            out.push_back(statement.sql);
        }
    return out;
}

const std::string S = R"("redsink_stage")";
const std::string T = R"("shop"."items")";
const std::string B = R"("shop"."redsink_tombstones_items")";
std::string key_of(const std::string& table) {
    return table + R"(."id" = "redsink_stage"."id")";
}
std::string newer(const std::string& table) {
    return table + R"(."version" > "redsink_stage"."version")";
}
const std::string is_d = R"("redsink_stage"."redsink_op" = 'd')";
const std::string is_i = R"("redsink_stage"."redsink_op" = 'i')";
const std::string not_d = R"("redsink_stage"."redsink_op" <> 'd')";

}  // namespace

TEST_CASE("newest_wins reduction: per key the newest event by its order value, not the last written",
          "[unit][reduce][newest_wins]") {
    StagedRows out;
    SECTION("integers compare as numbers: 10 is newer than 9") {
        auto batch = batch_of({{"a", "10", 'i'}, {"a", "9", 'i'}, {"b", "3", 'i'}, {"b", "-4", 'i'}});
        out = reduce(batch, Reduction::newest_per_key, false, key, numeric);
        CHECK(staged(out) == list{"0:i", "2:i"});
    }
    SECTION("an older delete loses to a newer insert written before it") {
        auto batch = batch_of({{"a", "7", 'i'}, {"a", "5", 'd'}, {"b", "2", 'd'}, {"b", "1", 'i'}});
        out = reduce(batch, Reduction::newest_per_key, false, key, numeric);
        CHECK(staged(out) == list{"0:i", "2:d"});
        CHECK(out.inserts == 1);
        CHECK(out.deletes == 1);
    }
    SECTION("a newer delete with a delete mode that keeps rows: the delete, and the newest insert as deleted") {
        auto batch = batch_of({{"a", "4", 'i'}, {"a", "9", 'd'}, {"a", "6", 'i'}, {"a", "2", 'i'}, {"b", "1", 'd'}});
        out = reduce(batch, Reduction::newest_per_key, true, key, numeric);
        CHECK(staged(out) == list{"1:d", "2:x", "4:d"});
    }
    SECTION("ties go to the later write, between inserts and between an insert and a delete") {
        auto batch = batch_of(
            {{"a", "5", 'i'}, {"a", "5", 'i'}, {"b", "5", 'd'}, {"b", "5", 'i'}, {"c", "5", 'i'}, {"c", "5", 'd'}});
        out = reduce(batch, Reduction::newest_per_key, false, key, numeric);
        CHECK(staged(out) == list{"1:i", "3:i", "5:d"});
        out = reduce(batch, Reduction::newest_per_key, true, key, numeric);
        CHECK(staged(out) == list{"1:i", "3:i", "4:x", "5:d"});
    }
    SECTION("timestamps compare as their fixed-width text") {
        auto batch = batch_of({{"a", "2026-11-26 00:00:00.000010", 'i'},
                               {"a", "2026-11-26 00:00:00.000002", 'i'},
                               {"a", "0999-01-01 00:00:00.000000", 'd'}});
        out = reduce(batch, Reduction::newest_per_key, false, key, textual);
        CHECK(staged(out) == list{"0:i"});
    }
    SECTION("refused events are left out") {
        auto batch = batch_of({{"a", "1", 'i'}, {"a", "2", 'i'}});
        Refusals refused;
        refused.refuse(1, batch.events(), {});
        out = reduce(batch, Reduction::newest_per_key, false, key, numeric, refused);
        CHECK(staged(out) == list{"0:i"});
    }
}

TEST_CASE("newest_wins: a delete carries its key and its order value", "[unit][newest_wins]") {
    using pack = redsink::detail::policy_pack<Item, Key, guard, redsink::hard_delete>;
    static_assert(pack::order::index == 1 && pack::order::numeric);
    static_assert(redsink::detail::policy_pack<Item, Key, redsink::upsert>::order::index ==
                  redsink::detail::no_order_column);
    const redsink::detail::RecordModel<Item, Key> model(Dialect::postgres, 65535);
    EncodedBatch batch;
    redsink::detail::encode_change(redsink::deleted(Item{4, 12, "gone"}, {}), batch, model, std::nullopt,
                                   pack::order::index);
    redsink::detail::encode_change(redsink::deleted(Item{4, 12, "gone"}, {}), batch, model);
    CHECK(batch.params.view(0) == "4");
    CHECK(batch.params.view(1) == "12");
    CHECK(batch.params.is_null(2));
    CHECK(batch.params.view(3) == "4");
    CHECK(batch.params.is_null(4));
}

TEST_CASE("newest_wins statements: tombstones, stale rows dropped from the stage, then upsert's",
          "[unit][plan][newest_wins]") {
    const auto stale_deletes = [](const std::string& table) {
        return "DELETE FROM " + S + " USING " + table + " WHERE " + key_of(table) + " AND " + is_d + " AND " +
               newer(table);
    };
    const auto stale_inserts = [](const std::string& table) {
        return "DELETE FROM " + S + " USING " + table + " WHERE " + key_of(table) + " AND " + not_d + " AND " +
               newer(table);
    };
    const std::string forget = "DELETE FROM " + B + " USING " + S + " WHERE " + key_of(B) + " AND " + is_d;
    const std::string remember =
        "INSERT INTO " + B + R"( ("id", "version") SELECT "id", "version" FROM )" + S + " WHERE " + is_d;
    const std::string outdated = "DELETE FROM " + B + " USING " + S + " WHERE " + key_of(B) + " AND " + is_i;
    const std::string hard = "DELETE FROM " + T + " USING " + S + " WHERE " + key_of(T) + " AND " + is_d;
    const std::string replaced = "DELETE FROM " + T + " USING " + S + " WHERE " + key_of(T) + " AND " + not_d;
    const std::string insert = "INSERT INTO " + T +
                               R"( ("id", "version", "name") SELECT "id", "version", "name" FROM )" + S + " WHERE " +
                               not_d;

    SECTION("redshift, hard_delete") {
        const auto plan = plan_for<redsink::hard_delete>(Dialect::redshift);
        CHECK(statements(plan) == list{stale_deletes(B), stale_deletes(T), forget, remember, hard, stale_inserts(T),
                                       stale_inserts(B), outdated, replaced, insert});
        REQUIRE(plan.own_tables().size() == 1);
        const auto& tombstones = plan.own_tables().front().first;
        CHECK(tombstones.name.display() == "shop.redsink_tombstones_items");
        REQUIRE(tombstones.columns.size() == 2);
        CHECK(tombstones.columns[0].key);
        CHECK_FALSE(tombstones.columns[1].key);
        CHECK(tombstones.columns[1].name == "version");
        CHECK(tombstones.columns[1].type.kind == redsink::SqlKind::int64);
        CHECK(plan.delete_statements()[4].counts == redsink::RowCount::deleted);
        CHECK(plan.insert_statements().back().counts == redsink::RowCount::inserted);
    }
    SECTION("redshift, soft_delete: inserts older than a tombstone stay, as deleted rows") {
        const auto plan = plan_for<redsink::soft_delete<"deleted">>(Dialect::redshift);
        const auto all = statements(plan);
        REQUIRE(all.size() == 10);
        CHECK(list(all.begin(), all.begin() + 4) == list{stale_deletes(B), stale_deletes(T), forget, remember});
        CHECK_THAT(all[4], Catch::StartsWith(R"(UPDATE "shop"."items" SET "deleted" = TRUE FROM "redsink_stage")"));
        CHECK(all[5] == stale_inserts(T));
        CHECK(all[6] == "UPDATE " + S + R"( SET "redsink_op" = 'x' FROM )" + B + " WHERE " + key_of(B) + " AND " +
                            is_i + " AND " + newer(B));
        CHECK(all[7] == outdated);
        CHECK_THAT(all[9], Catch::Contains(R"("redsink_stage"."redsink_op" = 'x' FROM "redsink_stage")"));
    }
    SECTION("ignore_deletes: no tombstones, only the table's rows") {
        const auto plan = plan_for<redsink::ignore_deletes>(Dialect::redshift);
        CHECK(statements(plan) == list{stale_inserts(T), replaced, insert});
        CHECK(plan.own_tables().empty());
    }
    SECTION("postgres with the key enforced: ON CONFLICT replaces the rows") {
        const auto plan = plan_for<redsink::hard_delete>(Dialect::postgres, true);
        const auto all = statements(plan);
        REQUIRE(all.size() == 9);
        CHECK(all[7] == outdated);
        CHECK_THAT(all[8], Catch::StartsWith(insert) && Catch::Contains("ON CONFLICT (\"id\") DO UPDATE SET"));
    }
    SECTION("the whole redshift transaction: LOCK first, one COMMIT") {
        const auto plan = plan_for<redsink::hard_delete>(Dialect::redshift);
        const auto steps = redsink::detail::plan_transaction(plan, {true, true}, {true, true, false});
        for (const auto& step : steps)
            if (!step.sql.empty()) redsink_test::log_redshift_statement(step.sql);
        const auto text = redsink::detail::describe(steps);
        CHECK_THAT(text, Catch::StartsWith("BEGIN\nLOCK TABLE \"shop\".\"redsink_lock_items\"\n") &&
                             Catch::EndsWith("  -> inserted\nCOMMIT\n"));
    }
}
