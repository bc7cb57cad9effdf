// The write paths: each mode on INSERT and on S3, four tasks, exactly_once across a killed
// process, dead letters, a column added, kept values and commits per batch, each table checked
// against a model that applies the same events to a std::map.
#include "verify_redshift/verify.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <random>
#include <set>
#include <thread>

namespace verify {

namespace {

struct Item {
    BOOST_HANA_DEFINE_STRUCT(Item, (std::int64_t, id), (std::int64_t, version), (std::string, name),
                             (std::optional<std::string>, note), (redsink::decimal<12, 2>, amount), (bool, active));
};

// Item with one more member: the source added a column.
struct ItemV2 {
    BOOST_HANA_DEFINE_STRUCT(ItemV2, (std::int64_t, id), (std::int64_t, version), (std::string, name),
                             (std::optional<std::string>, note), (redsink::decimal<12, 2>, amount), (bool, active),
                             (std::optional<std::string>, region));
};

using Key = redsink::primary_key<"id">;
using Append = redsink::Sink<Item, redsink::append, redsink::create_table, redsink::redshift>;
using Upsert =
    redsink::Sink<Item, Key, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, redsink::redshift>;
using UpsertV2 =
    redsink::Sink<ItemV2, Key, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, redsink::redshift>;
using SoftDelete = redsink::Sink<Item, Key, redsink::upsert, redsink::soft_delete<"deleted">, redsink::create_table,
                                 redsink::redshift>;
using Once = redsink::Sink<Item, redsink::append, redsink::create_table, redsink::exactly_once, redsink::redshift>;

enum class Mode { append, upsert_hard, upsert_soft };

// Creates, updates of hot keys, deletes, tombstones, snapshot reads, over three partitions, with
// names that need quoting in CSV and SQL alike.
std::vector<redsink::Change<Item>> make_stream(std::size_t events, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::vector<std::int64_t> offsets(3, 0);
    std::vector<redsink::Change<Item>> out;
    const char* names[] = {
        "plain", "comma, inside", "\"quoted\"", "new\nline", "back\\slash", "tab\there", "Zo\xC3\xAB \xE2\x9C\x93", ""};
    for (std::size_t i = 0; i < events; ++i) {
        Item row{};
        row.id = static_cast<std::int64_t>(random() % 4 == 0 ? random() % 5 : random() % (events / 5 + 1));
        const auto partition = static_cast<std::int32_t>(row.id % 3);
        const redsink::Position position{partition, offsets[static_cast<std::size_t>(partition)]++};
        const auto roll = random() % 100;
        if (roll < 12) {
            out.push_back(redsink::deleted(row, position));
            continue;
        }
        if (roll < 16) {
            out.push_back(redsink::tombstone(row, position));
            continue;
        }
        row.version = static_cast<std::int64_t>(i);
        row.name = std::string(names[random() % 8]) + " " + std::to_string(row.id);
        if (random() % 2 == 0) row.note = "note " + std::to_string(random() % 1000);
        row.amount =
            redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(random() % 20'000'000) - 10'000'000);
        row.active = random() % 2 == 0;
        out.push_back({roll < 45   ? redsink::Op::create
                       : roll < 92 ? redsink::Op::update
                                   : redsink::Op::read,
                       row, position});
    }
    return out;
}

std::string cents(redsink::int128 units) {
    const auto value = static_cast<long long>(units);
    return fmt::format("{}{}.{:02}", value < 0 ? "-" : "", std::llabs(value) / 100, std::llabs(value) % 100);
}

std::string row_text(const Item& row) {
    return fmt::format("{}|{}|{}|{}|{}|{}", row.id, row.version, row.name, row.note.value_or("<NULL>"),
                       cents(row.amount.units), row.active ? "t" : "f");
}

const std::string item_columns = "id, version, name, note, amount, CASE WHEN active THEN 't' ELSE 'f' END";

// The table each mode leaves: rows as text, sorted. `keep_note[i]`: event i keeps the stored note.
std::vector<std::string> model(const std::vector<redsink::Change<Item>>& stream, Mode mode,
                               const std::vector<bool>& keep_note = {}) {
    std::multimap<std::int64_t, std::pair<Item, bool>> rows;  // id -> row, deleted flag
    for (std::size_t i = 0; i < stream.size(); ++i) {
        const auto& change = stream[i];
        const auto id = change.row.id;
        if (redsink::is_delete(change.op)) {
            if (mode == Mode::upsert_hard) rows.erase(id);
            if (mode == Mode::upsert_soft)
                for (auto [at, end] = rows.equal_range(id); at != end; ++at) at->second.second = true;
            continue;
        }
        auto row = change.row;
        if (mode != Mode::append) {
            const auto found = rows.find(id);
            if (i < keep_note.size() && keep_note[i])
                row.note = found == rows.end() || found->second.second ? std::nullopt : found->second.first.note;
            rows.erase(id);
        }
        rows.emplace(id, std::make_pair(row, false));
    }
    std::vector<std::string> out;
    for (const auto& [id, row] : rows)
        out.push_back(row_text(row.first) + (mode == Mode::upsert_soft ? (row.second ? "|t" : "|f") : ""));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> read_items(const Settings& settings, const std::string& table, Mode mode,
                                    const std::string& extra = {}) {
    auto conn = connect(settings);
    const auto soft = mode == Mode::upsert_soft ? ", CASE WHEN deleted THEN 't' ELSE 'f' END" : "";
    return table_rows(conn, "SELECT " + item_columns + extra + soft + " FROM " + table);
}

template <class Sink>
Outcome stream_through(const Settings& settings, const std::string& name, Mode mode, bool s3, std::size_t tasks) {
    if (s3 && !settings.s3) return {Status::skipped, "no bucket: REDSINK_VERIFY_S3_BUCKET is unset"};
    const auto table = fresh_table(settings, name);
    const auto stream = make_stream(settings.events, 11 + tasks);
    auto options = sink_options(settings, name);
    options.tasks = tasks;
    if (s3) options.bulk_load = s3_loader(settings);
    const auto copies_before = stand_in_counts().copies;
    std::size_t batches = 0;
    {
        Sink sink(settings.config, options);
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        check(sink.pending_events() == 0, "events still pending after flush()");
        batches = sink.stats().batches;
    }
    const auto expected = model(stream, mode);
    check_rows(expected, read_items(settings, table, mode), table);
    if (s3 && settings.stand_in)
        check(stand_in_counts().copies > copies_before, "the S3 path ran no COPY: every batch went by INSERT");
    return {Status::pass, fmt::format("{} events in {} batches by {}{}: {} rows equal the model", stream.size(),
                                      batches, s3 ? "S3 and COPY" : "INSERT",
                                      tasks > 1 ? fmt::format(", {} tasks", tasks) : "", expected.size())};
}

// exactly_once across a process killed mid-stream: a child streams slowly and is killed with
// SIGKILL once some batches are committed; a new sink replays the whole stream from its start
// and skips what was committed. The append table holds every event exactly once.
Outcome killed_and_restarted(const Settings& settings) {
    const std::string name = "exactly_once_restart";
    const auto table = fresh_table(settings, name);
    std::vector<redsink::Change<Item>> stream;
    for (auto& change : make_stream(settings.events, 5))
        if (!redsink::is_delete(change.op)) stream.push_back(std::move(change));
    auto options = sink_options(settings, name, 50);
    options.flush_interval = std::chrono::milliseconds(50);
    options.source_name = "verify";
    { Once create(settings.config, options); }  // the table and the positions exist before the child writes
    const pid_t child = ::fork();
    if (child < 0) throw Failed("fork failed");
    if (child == 0) {
        try {
            Once sink(settings.config, options);
            for (std::size_t i = 0; i < stream.size(); ++i) {
                sink.write(stream[i]);
                if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            sink.flush();
        } catch (...) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    auto conn = connect(settings);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::size_t before_kill = 0;
    int status = 0;
    bool exited = false;
    while (std::chrono::steady_clock::now() < give_up) {
        before_kill = std::stoul(std::string(conn.exec("SELECT count(*) FROM " + table).get(0, 0)));
        if (before_kill >= stream.size() / 3) break;
        if (::waitpid(child, &status, WNOHANG) == child) {
            exited = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!exited) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
    }
    check(!exited, "the child ended before it could be killed mid-stream (status " + std::to_string(status) + ")");
    check(before_kill < stream.size(), "the whole stream was committed before the kill");
    std::size_t skipped = 0;
    {
        Once sink(settings.config, options);
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        skipped = sink.stats().events_skipped;
    }
    check_rows(model(stream, Mode::append), read_items(settings, table, Mode::append), table);
    return {Status::pass, fmt::format("killed with {} of {} events committed; the restarted sink skipped {} "
                                      "and wrote the rest: every event exactly once",
                                      before_kill, stream.size(), skipped)};
}

struct Letter {
    BOOST_HANA_DEFINE_STRUCT(Letter, (std::int64_t, id), (std::string, name), (std::optional<redsink::json>, doc));
};
using Lettered = redsink::Sink<Letter, Key, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::dead_letter<"verify_dead_letters">, redsink::redshift>;

// A value the client refuses (not UTF-8) and a row the server refuses, each dead-lettered; the
// target holds the rest. The server's refusal: on Redshift a SUPER string past 65,535 bytes with
// the client's check off (super_string_limit 0), which JSON_PARSE refuses; on the stand-in a
// CHECK constraint the run adds (Redshift has none).
Outcome dead_letters(const Settings& settings) {
    const std::string name = "dead_letters";
    const auto table = fresh_table(settings, name);
    auto conn = connect(settings);
    const auto letters = redsink::sql::quote_identifier(settings.schema) + ".verify_dead_letters";
    conn.exec("DROP TABLE IF EXISTS " + letters);
    std::vector<redsink::Change<Letter>> stream;
    std::map<std::int64_t, std::string> expected;
    for (std::int64_t id = 0; id < 200; ++id) {
        Letter row{id, "name " + std::to_string(id), redsink::json(R"({"n":)" + std::to_string(id) + "}")};
        if (id == 5) row.name = "not UTF-8 \xFF";
        if (id == 10) {
            row.name = "refused by the server";
            if (!settings.stand_in) row.doc = redsink::json("\"" + std::string(65'536, 'x') + "\"");
        }
        if (id != 5 && id != 10) expected[id] = row.name;
        stream.push_back({redsink::Op::create, row, {static_cast<std::int32_t>(id % 2), id / 2}});
    }
    auto options = sink_options(settings, name, 100);
    options.super_string_limit = 0;
    {
        Lettered sink(settings.config, options);
        if (settings.stand_in)
            conn.exec("ALTER TABLE " + table + " ADD CONSTRAINT refuse CHECK (name <> 'refused by the server')");
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        check(sink.stats().dead_letters == 2,
              fmt::format("{} events dead-lettered, 2 expected", sink.stats().dead_letters));
    }
    std::vector<std::string> rows;
    for (const auto& [id, text] : expected) rows.push_back(fmt::format("{}|{}", id, text));
    std::sort(rows.begin(), rows.end());
    check_rows(rows, table_rows(conn, "SELECT id, name FROM " + table), table);
    const auto letter = [&](std::int64_t id, const char* column, const char* by) {
        return fmt::format("{}|{}|{}|{}", id % 2, id / 2, column, by);
    };
    check_rows({letter(10, "-", "server"), letter(5, "name", "client")},
               table_rows(conn,
                          "SELECT source_partition, source_offset, coalesce(column_name, '-'), "
                          "CASE WHEN sqlstate IS NULL THEN 'client' ELSE 'server' END FROM " +
                              letters),
               letters);
    const auto reason =
        table_rows(conn, "SELECT sqlstate || ': ' || reason FROM " + letters + " WHERE sqlstate IS NOT NULL");
    return {Status::pass,
            "the client's refusal (not UTF-8) and the server's (" +
                std::string(settings.stand_in ? "a CHECK constraint" : "a 65,536-byte SUPER string") +
                ") dead-lettered with their positions; the target holds the other 198. The server said: " +
                (reason.empty() ? std::string("?") : reason.front())};
}

// A column the source added: the first half of the stream as Item, the rest as ItemV2 with one
// more member, which evolve_schema adds (ALTER TABLE ... ADD COLUMN) while the table holds rows.
Outcome column_added(const Settings& settings) {
    const std::string name = "column_added";
    const auto table = fresh_table(settings, name);
    const auto stream = make_stream(settings.events, 31);
    const auto half = stream.size() / 2;
    {
        Upsert sink(settings.config, sink_options(settings, name));
        for (std::size_t i = 0; i < half; ++i) sink.write(stream[i]);
        sink.flush();
    }
    std::map<std::int64_t, std::string> regions;
    {
        UpsertV2 sink(settings.config, sink_options(settings, name));
        for (std::size_t i = half; i < stream.size(); ++i) {
            const auto& change = stream[i];
            ItemV2 row{change.row.id,     change.row.version, change.row.name, change.row.note,
                       change.row.amount, change.row.active,  std::nullopt};
            if (i % 3 != 0) row.region = "region " + std::to_string(i % 7);
            if (redsink::is_delete(change.op))
                regions.erase(row.id);
            else
                regions[row.id] = row.region.value_or("<NULL>");
            sink.write(redsink::Change<ItemV2>{change.op, row, change.position});
        }
        sink.flush();
    }
    // The model: Item's model, each row with the region its last write gave (NULL before the column).
    auto expected = model(stream, Mode::upsert_hard);
    for (auto& row : expected) {
        const auto id = std::stoll(row.substr(0, row.find('|')));
        const auto found = regions.find(id);
        row += "|" + (found == regions.end() ? std::string("<NULL>") : found->second);
    }
    std::sort(expected.begin(), expected.end());
    check_rows(expected, read_items(settings, table, Mode::upsert_hard, ", region"), table);
    return {Status::pass,
            fmt::format("column region added after {} events; {} rows equal the model", half, expected.size())};
}

// Values the event does not carry (a TOAST placeholder): every fifth event keeps the stored note.
Outcome kept_values(const Settings& settings) {
    const std::string name = "kept_values";
    const auto table = fresh_table(settings, name);
    auto stream = make_stream(settings.events, 41);
    std::vector<bool> keep(stream.size(), false);
    for (std::size_t i = 0; i < stream.size(); ++i)
        if (!redsink::is_delete(stream[i].op) && i % 5 == 0) {
            keep[i] = true;
            stream[i].row.note.reset();
            redsink::keep_member(stream[i], "note");
        }
    {
        Upsert sink(settings.config, sink_options(settings, name));
        for (const auto& change : stream) sink.write(change);
        sink.flush();
    }
    const auto expected = model(stream, Mode::upsert_hard, keep);
    check_rows(expected, read_items(settings, table, Mode::upsert_hard), table);
    return {Status::pass, fmt::format("{} events kept the stored note; {} rows equal the model",
                                      std::count(keep.begin(), keep.end(), true), expected.size())};
}

// One COMMIT per batch, counted from the statements the sink sent; on Redshift also the committed
// transactions SYS_TRANSACTION_HISTORY recorded for the run's user meanwhile (superusers see it).
Outcome commits_per_batch(const Settings& settings) {
    const std::string name = "commits";
    const auto table = fresh_table(settings, name);
    const auto stream = make_stream(settings.events, 51);
    auto options = sink_options(settings, name, 100);
    std::atomic<bool> counting{false};
    std::atomic<std::size_t> commits{0};
    options.trace = [&](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::sending && counting && sql.starts_with("COMMIT")) ++commits;
    };
    auto conn = connect(settings);
    const auto started = settings.stand_in
                             ? std::string()
                             : std::string(conn.exec("SELECT to_char(getdate(), 'YYYY-MM-DD HH24:MI:SS')").get(0, 0));
    std::size_t batches = 0, retries = 0;
    {
        Upsert sink(settings.config, options);
        counting = true;
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        batches = sink.stats().batches;
        retries = sink.stats().retries;
    }
    check_rows(model(stream, Mode::upsert_hard), read_items(settings, table, Mode::upsert_hard), table);
    check(commits == batches, fmt::format("{} COMMITs for {} batches ({} retries)", commits.load(), batches, retries));
    const auto sent = fmt::format("{} batches, {} COMMITs sent", batches, commits.load());
    if (settings.stand_in) return {Status::needs_redshift, sent + "; SYS_TRANSACTION_HISTORY is Redshift's"};
    const auto recorded = conn.exec(
        "SELECT count(*) FROM sys_transaction_history WHERE user_id = current_user_id "
        "AND status = 'committed' AND transaction_start_time >= '" +
        started + "'");
    return {Status::pass, sent + "; SYS_TRANSACTION_HISTORY recorded " + std::string(recorded.get(0, 0)) +
                              " committed transactions of this user since the stream began (the run's own "
                              "reads included)"};
}

}  // namespace

void add_write_scenarios(std::vector<Scenario>& out) {
    const auto path = [&out](const std::string& name, const std::string& checks, auto run) {
        out.push_back({name, checks, run});
    };
    path("insert/append", "append by INSERT",
         [](const Settings& s) { return stream_through<Append>(s, "insert_append", Mode::append, false, 1); });
    path("insert/upsert-hard-delete", "upsert and hard deletes by INSERT",
         [](const Settings& s) { return stream_through<Upsert>(s, "insert_upsert", Mode::upsert_hard, false, 1); });
    path("insert/upsert-soft-delete", "upsert and soft deletes by INSERT",
         [](const Settings& s) { return stream_through<SoftDelete>(s, "insert_soft", Mode::upsert_soft, false, 1); });
    path("s3/append", "append by S3 and COPY",
         [](const Settings& s) { return stream_through<Append>(s, "s3_append", Mode::append, true, 1); });
    path("s3/upsert-hard-delete", "upsert and hard deletes by S3 and COPY",
         [](const Settings& s) { return stream_through<Upsert>(s, "s3_upsert", Mode::upsert_hard, true, 1); });
    path("s3/upsert-soft-delete", "upsert and soft deletes by S3 and COPY",
         [](const Settings& s) { return stream_through<SoftDelete>(s, "s3_soft", Mode::upsert_soft, true, 1); });
    path("tasks/four-on-one-table", "4 tasks upserting into one table",
         [](const Settings& s) { return stream_through<Upsert>(s, "four_tasks", Mode::upsert_hard, false, 4); });
    path("exactly-once/killed-and-restarted", "exactly_once across a SIGKILL", killed_and_restarted);
    path("dead-letters/client-and-server", "a client refusal and a server refusal dead-lettered", dead_letters);
    path("schema/column-added", "evolve_schema adds a column mid-stream", column_added);
    path("kept-values/unchanged-note", "kept (TOAST) values keep the stored value", kept_values);
    path("commits/one-per-batch", "one COMMIT per batch, and what the cluster recorded", commits_per_batch);
    add_privilege_scenarios(out);
}

}  // namespace verify
