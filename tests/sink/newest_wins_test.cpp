// The built-in stale-event guard, newest_wins<"version">: a source history of creates, updates,
// deletes, tombstones and re-creates, delivered shuffled (near reorderings that fall within one
// batch, far ones that span batches) with replays, into both dialects, with hard and soft deletes,
// one and several tasks, several batch sizes and a restart half-way. The table, and the
// tombstones table, are compared row by row with a std::map model that applies "the newest order
// value wins, deletes included" without any of the sink's batching, reduction or SQL.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/compare.hpp>
#include <support/sink.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace redsink_test;

namespace {

// The source's history in its own order: each event's version is one higher than the last.
std::vector<AccountChange> source_history(std::uint64_t seed, std::size_t events, std::int64_t keys) {
    std::mt19937_64 random(seed);
    std::map<std::int64_t, bool> alive;
    std::vector<AccountChange> history;
    const char* names[] = {"Ada", "Grace \xE2\x9C\x93", "O'Brien", "back\\slash", "\"quoted\"", "tab\there"};
    for (std::size_t i = 0; i < events; ++i) {
        const bool hot = random() % 3 == 0;
        const auto id = static_cast<std::int64_t>(hot ? random() % 4 : random() % static_cast<std::uint64_t>(keys));
        Account row{};
        row.id = id;
        row.version = static_cast<std::int64_t>(i) + 1;
        const auto roll = random() % 100;
        auto& exists = alive[id];
        // A row that exists is mostly updated; one that does not is mostly created; either may be
        // deleted (a delete of a missing row happens when the source deletes twice).
        if ((exists && roll < 25) || (!exists && roll < 8)) {
            history.push_back(roll % 2 == 0 ? redsink::deleted(row, {}) : redsink::tombstone(row, {}));
            exists = false;
            continue;
        }
        row.name = std::string(names[random() % 6]) + " " + std::to_string(id);
        if (random() % 2 == 0) row.note = "v" + std::to_string(row.version);
        row.balance = redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(random() % 1'000'000));
        row.active = random() % 2 == 0;
        history.push_back({exists ? redsink::Op::update : redsink::Op::create, row, {}});
        exists = true;
    }
    return history;
}

// The history as a connector might deliver it: near events swapped (within one batch), some sent
// far later (across batches), and replays of earlier events; Kafka positions in delivery order.
std::vector<AccountChange> delivered(const std::vector<AccountChange>& history, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    auto out = history;
    for (std::size_t i = 0; i + 1 < out.size(); ++i)
        std::swap(out[i], out[i + random() % std::min<std::size_t>(12, out.size() - i)]);
    for (std::size_t n = 0; n < out.size() / 20; ++n) {
        const auto from = random() % out.size();
        const auto late = out[from];
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(from));
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(from + random() % (out.size() - from + 1)), late);
    }
    for (std::size_t n = 0; n < out.size() / 10; ++n) {
        const auto from = random() % out.size();
        const auto replay = out[from];
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(from + random() % (out.size() - from + 1)), replay);
    }
    std::map<std::int32_t, std::int64_t> next;
    for (auto& change : out) {
        const auto partition = static_cast<std::int32_t>(change.row.id % 3);
        change.position = {partition, next[partition]++};
    }
    return out;
}

// "The newest order value wins, deletes included", per key over the events as a set: the row is
// the newest insert; with hard deletes it is gone when a delete is newer, with soft deletes it is
// flagged then. A tombstone holds the newest delete when it is newer than every insert.
struct GuardModel {
    std::map<std::int64_t, Account> newest_insert;
    std::map<std::int64_t, std::int64_t> newest_delete;

    explicit GuardModel(const std::vector<AccountChange>& events) {
        for (const auto& change : events) {
            const auto id = change.row.id;
            if (redsink::is_delete(change.op)) {
                auto [it, fresh] = newest_delete.try_emplace(id, change.row.version);
                if (!fresh) it->second = std::max(it->second, change.row.version);
            } else {
                auto [it, fresh] = newest_insert.try_emplace(id, change.row);
                if (!fresh && change.row.version > it->second.version) it->second = change.row;
            }
        }
    }

    [[nodiscard]] bool deleted_last(std::int64_t id) const {
        const auto remove = newest_delete.find(id);
        const auto insert = newest_insert.find(id);
        return remove != newest_delete.end() &&
               (insert == newest_insert.end() || remove->second > insert->second.version);
    }

    [[nodiscard]] std::vector<std::string> rows(bool soft) const {
        std::vector<std::string> out;
        for (const auto& [id, row] : newest_insert) {
            const bool gone = deleted_last(id);
            if (soft)
                out.push_back(row_text(row, gone));
            else if (!gone)
                out.push_back(row_text(row));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    [[nodiscard]] std::vector<std::string> tombstones() const {
        std::vector<std::string> out;
        for (const auto& [id, version] : newest_delete)
            if (deleted_last(id)) out.push_back(std::to_string(id) + "|" + std::to_string(version));
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::vector<std::string> tombstone_rows(redsink::pq::Connection& conn, const std::string& table) {
    const auto result = conn.exec("SELECT id, version FROM sink_test.redsink_tombstones_" + table);
    std::vector<std::string> out;
    for (int row = 0; row < result.rows(); ++row)
        out.push_back(std::string(result.get(row, 0)) + "|" + std::string(result.get(row, 1)));
    std::sort(out.begin(), out.end());
    return out;
}

template <class Dialect, class Delete>
void check_guard(const std::string& table, std::uint64_t seed, std::size_t tasks, std::size_t batch_rows,
                 std::size_t events) {
    using Sink =
        redsink::Sink<Account, AccountKey, redsink::newest_wins<"version">, Delete, redsink::create_table, Dialect>;
    constexpr bool soft = Delete::keeps_rows;
    INFO("table " << table << ", seed " << seed << ", tasks " << tasks << ", batch_rows " << batch_rows);
    drop_table(table);
    drop_table("redsink_tombstones_" + table);
    const auto history = source_history(seed, events, 40);
    const auto stream = delivered(history, seed + 1);
    const redsink::SinkOptions options{
        .schema = sink_schema, .table = table, .batch_rows = batch_rows, .tasks = tasks, .trace = sink_trace<Sink>()};
    // Half, then a restart: the second sink finds the table and the tombstones the first left.
    const auto half = stream.begin() + static_cast<std::ptrdiff_t>(stream.size() / 2);
    {
        Sink sink(test_config(), options);
        write_all(sink, std::vector<AccountChange>(stream.begin(), half));
        CHECK(sink.stats().events_in == stream.size() / 2);
    }
    Sink sink(test_config(), options);
    write_all(sink, std::vector<AccountChange>(half, stream.end()));
    const auto stats = sink.stats();
    CHECK(stats.events_in == stream.size() - stream.size() / 2);
    CHECK(stats.events_pending == 0);
    CHECK(stats.acknowledged == last_positions(stream));

    const GuardModel model(history);
    auto conn = reader();
    const auto rows = table_rows(conn, qualified(table), soft);
    const auto expected = model.rows(soft);
    check_same_rows(rows, expected);
    CHECK(tombstone_rows(conn, table) == model.tombstones());
}

template <class Dialect>
void check_guard_matrix(const std::string& prefix) {
    using hard = redsink::hard_delete;
    using soft = redsink::soft_delete<"deleted">;
    std::uint64_t seed = Dialect::value == redsink::Dialect::redshift ? 500 : 700;
    for (const std::size_t tasks : {std::size_t{1}, std::size_t{3}}) {
        // One event a batch, a few dozen (near reorderings within a batch, far ones across), all in one.
        for (const std::size_t batch_rows : {std::size_t{1}, std::size_t{37}, std::size_t{100'000}}) {
            const auto events = batch_rows == 1 ? std::size_t{300} : std::size_t{1500};
            const auto name = prefix + "_t" + std::to_string(tasks) + "_b" + std::to_string(batch_rows);
            check_guard<Dialect, hard>(name + "_h", ++seed, tasks, batch_rows, events);
            check_guard<Dialect, soft>(name + "_s", ++seed, tasks, batch_rows, events);
        }
    }
}

}  // namespace

TEST_CASE("newest_wins, redshift dialect: shuffled and replayed events leave the model's table",
          "[pg][sink][redshift][newest_wins]") {
    check_guard_matrix<redsink::redshift>("nw_rs");
}

TEST_CASE("newest_wins, postgres dialect: shuffled and replayed events leave the model's table",
          "[pg][sink][newest_wins]") {
    check_guard_matrix<redsink::postgres>("nw_pg");
}

TEMPLATE_TEST_CASE("newest_wins: a tie goes to the event written later, across batches", "[pg][sink][newest_wins]",
                   redsink::redshift, redsink::postgres) {
    using Sink = redsink::Sink<Account, AccountKey, redsink::newest_wins<"version">, redsink::hard_delete,
                               redsink::create_table, TestType>;
    const std::string table = std::string("nw_tie_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    drop_table("redsink_tombstones_" + table);
    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 1, .trace = sink_trace<Sink>()});
    auto conn = reader();
    const auto names = [&] { return table_rows(conn, qualified(table)); };
    Account row{};
    row.id = 1;
    row.version = 5;
    std::int64_t offset = 0;
    const auto write = [&](redsink::Change<Account> change) {
        change.position = {0, offset++};
        sink.write(change);
        sink.flush();
    };
    row.name = "first";
    write(redsink::upserted(row, {}));
    row.name = "second";
    write(redsink::upserted(row, {}));
    CHECK(names() == std::vector<std::string>{row_text(row)});
    write(redsink::deleted(row, {}));
    CHECK(names().empty());
    row.name = "third";
    write(redsink::upserted(row, {}));
    CHECK(names() == std::vector<std::string>{row_text(row)});
    // Older: dropped, an insert or a delete.
    auto older = row;
    older.version = 4;
    older.name = "older";
    write(redsink::upserted(older, {}));
    write(redsink::deleted(older, {}));
    CHECK(names() == std::vector<std::string>{row_text(row)});
    CHECK(tombstone_rows(conn, table).empty());
}

namespace {

struct Reading {
    BOOST_HANA_DEFINE_STRUCT(Reading, (std::int64_t, id), (redsink::timestamptz, changed_at), (std::string, value));
};

}  // namespace

TEMPLATE_TEST_CASE("newest_wins by a timestamptz member: shuffled events leave each key's newest",
                   "[pg][sink][newest_wins]", redsink::redshift, redsink::postgres) {
    using Sink = redsink::Sink<Reading, AccountKey, redsink::newest_wins<"changed_at">, redsink::hard_delete,
                               redsink::create_table, TestType>;
    const std::string table = std::string("nw_ts_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    drop_table("redsink_tombstones_" + table);
    std::mt19937_64 random(77);
    // Per key, events a microsecond to a day apart, around 2000-01-01 (digit carries included).
    const auto start = std::chrono::sys_days{std::chrono::year{1999} / 12 / 31};
    std::vector<redsink::Change<Reading>> events;
    std::map<std::int64_t, std::pair<std::int64_t, bool>> newest;  // microseconds, deleted
    std::int64_t micros = 0;
    for (int i = 0; i < 600; ++i) {
        micros += random() % 2 == 0 ? 1 : static_cast<std::int64_t>(random() % 86'400'000'000);
        Reading row{static_cast<std::int64_t>(random() % 25),
                    redsink::timestamptz(start + std::chrono::microseconds(micros)), "r" + std::to_string(i)};
        const bool remove = random() % 4 == 0;
        events.push_back(remove ? redsink::deleted(row, {}) : redsink::upserted(row, {}));
        newest[row.id] = {micros, remove};
    }
    std::map<std::int64_t, std::string> expected;  // the newest event's value, for keys whose newest is no delete
    for (const auto& change : events)
        if (newest[change.row.id].first == (change.row.changed_at.value - start).count() &&
            !newest[change.row.id].second)
            expected[change.row.id] = change.row.value;
    std::shuffle(events.begin(), events.end(), random);
    for (std::size_t i = 0; i < events.size(); ++i) events[i].position = {0, static_cast<std::int64_t>(i)};

    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 40, .trace = sink_trace<Sink>()});
    for (const auto& change : events) sink.write(change);
    sink.flush();
    auto conn = reader();
    const auto result = conn.exec("SELECT id, value FROM " + qualified(table) + " ORDER BY id");
    std::map<std::int64_t, std::string> rows;
    for (int row = 0; row < result.rows(); ++row)
        rows[std::stoll(std::string(result.get(row, 0)))] = std::string(result.get(row, 1));
    CHECK(rows == expected);
}

TEMPLATE_TEST_CASE(
    "newest_wins with exactly_once, dead_letter and evolve_schema: a restart replaying everything, "
    "bad values set aside, columns added, the model's table",
    "[pg][sink][newest_wins]", redsink::redshift, redsink::postgres) {
    using Sink =
        redsink::Sink<Account, AccountKey, redsink::newest_wins<"version">, redsink::hard_delete,
                      redsink::evolve_schema, redsink::exactly_once, redsink::dead_letter<"nw_letters">, TestType>;
    const std::string table = std::string("nw_all_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    drop_table("redsink_tombstones_" + table);
    drop_table("redsink_positions_" + table);
    auto conn = reader();
    if (!conn.exec("SELECT to_regclass('sink_test.nw_letters')").is_null(0, 0))
        conn.exec("DELETE FROM sink_test.nw_letters WHERE target_table = $1", qualified(table));
    // The table as an older record left it: evolve_schema adds note, balance and active.
    conn.exec("CREATE TABLE " + qualified(table) +
              " (id bigint PRIMARY KEY, version bigint NOT NULL, name text NOT NULL)");

    auto history = source_history(4242, 1200, 40);
    // Some events carry a value no table can hold (not UTF-8): dead letters, as if never written.
    std::vector<AccountChange> written;
    for (std::size_t i = 0; i < history.size(); ++i) {
        if (!redsink::is_delete(history[i].op) && i % 97 == 13)
            history[i].row.name = "bad \xFF";
        else
            written.push_back(history[i]);
    }
    const auto stream = delivered(history, 4243);
    // Each delivery of a bad event (replays too) is one dead letter.
    const auto bad = static_cast<std::size_t>(std::count_if(
        stream.begin(), stream.end(), [](const AccountChange& change) { return change.row.name == "bad \xFF"; }));
    REQUIRE(bad > 0);
    const redsink::SinkOptions options{
        .schema = sink_schema, .table = table, .batch_rows = 50, .trace = sink_trace<Sink>()};
    {
        // The first run takes two thirds of the stream...
        Sink sink(test_config(), options);
        write_all(sink, std::vector<AccountChange>(
                            stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(stream.size() * 2 / 3)));
        CHECK(sink.setup().added_columns == std::vector<std::string>{"note", "balance", "active"});
    }
    // ...the second is given all of it again: what the first committed is skipped.
    Sink sink(test_config(), options);
    write_all(sink, stream);
    const auto stats = sink.stats();
    CHECK(stats.events_skipped == stream.size() * 2 / 3);
    CHECK(stats.acknowledged == last_positions(stream));

    const GuardModel model(written);
    CHECK(table_rows(conn, qualified(table)) == model.rows(false));
    CHECK(tombstone_rows(conn, table) == model.tombstones());
    CHECK(conn.exec("SELECT count(*) FROM sink_test.nw_letters WHERE target_table = $1", qualified(table))
              .template as<std::size_t>(0, 0) == bad);
}
