// Kept values (Change::keep, Debezium's unavailable values of unchanged TOAST columns): updates
// that do not carry some members keep what the table holds for them. Random streams of creates,
// updates (many keeping a random set of members), deletes and tombstones, into both dialects,
// with hard and soft deletes, one and two tasks, and batches of one event (every kept value read
// from the table), a few (merged within a batch and read from the table) and all; then
// newest_wins with replays. Each table is compared row by row with a std::map model that resolves
// every kept member from the row it holds when the event applies, one event at a time.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/compare.hpp>
#include <support/keeping.hpp>
#include <support/sink.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace redsink_test;

namespace {

template <class Dialect, class Delete>
void check_keeping(const std::string& table, std::uint64_t seed, std::size_t tasks, std::size_t batch_rows) {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, Delete, redsink::create_table, Dialect>;
    constexpr auto deletes = Delete::keeps_rows ? DeleteKind::soft : DeleteKind::hard;
    INFO("table " << table << ", seed " << seed << ", tasks " << tasks << ", batch_rows " << batch_rows);
    drop_table(table);
    const auto stream = keeping_stream(seed, batch_rows == 1 ? 250 : 1200, deletes);
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = batch_rows,
                                  .tasks = tasks,
                                  .trace = sink_trace<Sink>()});
        write_all(sink, stream);
        const auto stats = sink.stats();
        CHECK(stats.events_pending == 0);
        CHECK(stats.acknowledged == last_positions(stream));
    }
    KeepModel model(deletes);
    for (const auto& change : stream) model.apply(change);
    auto conn = reader();
    const auto rows = table_rows(conn, qualified(table), Delete::keeps_rows);
    const auto expected = model.rows();
    check_same_rows(rows, expected);
}

template <class Dialect>
void check_keeping_matrix(const std::string& prefix) {
    std::uint64_t seed = Dialect::value == redsink::Dialect::redshift ? 900 : 1900;
    for (const std::size_t tasks : {std::size_t{1}, std::size_t{2}}) {
        for (const std::size_t batch_rows : {std::size_t{1}, std::size_t{9}, std::size_t{100'000}}) {
            const auto name = prefix + "_t" + std::to_string(tasks) + "_b" + std::to_string(batch_rows);
            check_keeping<Dialect, redsink::hard_delete>(name + "_h", ++seed, tasks, batch_rows);
            check_keeping<Dialect, redsink::soft_delete<"deleted">>(name + "_s", ++seed, tasks, batch_rows);
        }
    }
}

}  // namespace

TEST_CASE("kept values, redshift dialect: updates keep the stored values of the members they do not carry",
          "[pg][sink][redshift][keep]") {
    check_keeping_matrix<redsink::redshift>("keep_rs");
}

TEST_CASE("kept values, postgres dialect: updates keep the stored values of the members they do not carry",
          "[pg][sink][keep]") {
    check_keeping_matrix<redsink::postgres>("keep_pg");
}

TEMPLATE_TEST_CASE("kept values with newest_wins: a replayed or late update never brings old values back",
                   "[pg][sink][keep][newest_wins]", redsink::redshift, redsink::postgres) {
    using Sink = redsink::Sink<Account, AccountKey, redsink::newest_wins<"version">, redsink::hard_delete,
                               redsink::create_table, TestType>;
    for (const std::size_t batch_rows : {std::size_t{1}, std::size_t{13}, std::size_t{100'000}}) {
        const std::string table = std::string("keep_nw_") + std::string(redsink::to_string(Sink::dialect)) + "_b" +
                                  std::to_string(batch_rows);
        INFO("table " << table);
        drop_table(table);
        drop_table("redsink_tombstones_" + table);
        // The source's history, then delivered with replays of earlier events: a replay is older
        // than what the table holds (dropped) or the very event the table holds (a tie: it writes
        // the same values again, its kept ones from the row it wrote).
        auto history = keeping_stream(77 + batch_rows, 900, DeleteKind::hard);
        for (auto& change : history) {
            change.keep = [&] {
                redsink::MemberSet keep;
                for (std::size_t member = 2; member <= last_keepable; ++member)  // never the order member
                    if (change.keep.contains(member)) keep.insert(member);
                return keep;
            }();
        }
        // Versions in the order of the history: a delete's too.
        for (std::size_t i = 0; i < history.size(); ++i) history[i].row.version = static_cast<std::int64_t>(i) + 1;
        std::mt19937_64 random(batch_rows);
        std::vector<AccountChange> stream;
        for (std::size_t i = 0; i < history.size(); ++i) {
            stream.push_back(history[i]);
            if (i > 0 && random() % 8 == 0) stream.push_back(history[i - 1 - random() % std::min<std::size_t>(i, 20)]);
        }
        std::map<std::int32_t, std::int64_t> next;
        for (auto& change : stream) change.position = {0, next[0]++};

        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = batch_rows, .trace = sink_trace<Sink>()});
        write_all(sink, stream);
        CHECK(sink.stats().events_pending == 0);

        // The model applies the history in order (a replay changes nothing): kept values from the
        // row it holds then.
        KeepModel model(DeleteKind::hard);
        for (const auto& change : history) model.apply(change);
        auto conn = reader();
        CHECK(table_rows(conn, qualified(table)) == model.rows());
    }
}

TEMPLATE_TEST_CASE("kept values: what a sink cannot keep is refused, naming the table, column and position",
                   "[pg][sink][keep]", redsink::redshift, redsink::postgres) {
    const auto dialect = std::string(redsink::to_string(TestType::value));
    Account row{};
    row.id = 1;
    row.name = "n";
    auto change = redsink::upserted(row, {2, 40});
    redsink::keep_member(change, "note");
    CHECK_THROWS_WITH(redsink::keep_member(change, "nope"), Catch::Contains("no member \"nope\""));
    SECTION("an append sink keeps no stored value") {
        using Sink = redsink::Sink<Account, AccountKey, redsink::append, redsink::create_table, TestType>;
        drop_table("keep_append_" + dialect);
        Sink sink(test_config(), {.schema = sink_schema, .table = "keep_append_" + dialect});
        CHECK_THROWS_WITH(sink.write(change), Catch::Contains("keep_append_" + dialect) &&
                                                  Catch::Contains("\"note\"") && Catch::Contains("partition 2") &&
                                                  Catch::Contains("offset 40") && Catch::Contains("one row per key"));
    }
    SECTION("a key member cannot be kept") {
        using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::create_table, TestType>;
        drop_table("keep_key_" + dialect);
        Sink sink(test_config(), {.schema = sink_schema, .table = "keep_key_" + dialect});
        redsink::keep_member(change, "id");
        CHECK_THROWS_WITH(sink.write(change), Catch::Contains("\"id\"") && Catch::Contains("key value cannot be kept"));
    }
    SECTION("a kept NOT NULL value of a row the table does not hold: the batch is refused, nothing acknowledged") {
        using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::create_table, TestType>;
        drop_table("keep_new_" + dialect);
        Sink sink(test_config(), {.schema = sink_schema, .table = "keep_new_" + dialect, .trace = sink_trace<Sink>()});
        redsink::keep_member(change, "name");
        sink.write(change);
        CHECK_THROWS_WITH(sink.flush(), Catch::Contains("name"));
        CHECK(sink.stats().acknowledged.empty());
    }
}
