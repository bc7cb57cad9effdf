// Exactly-once delivery: positions committed with the data, resume positions and skipped
// replays, fencing (in one process and across two), a lost COMMIT answer (through a test seam),
// and a child process killed at random moments and restarted with other task counts.
#include "exactly_once.hpp"

#include <support/compare.hpp>

#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;
using redsink::ErrorKind;
using redsink::Positions;

namespace {

template <class Sink>
redsink::SinkOptions once_options(const std::string& table, std::size_t tasks = 1) {
    return {.schema = sink_schema,
            .table = table,
            .batch_rows = 100,
            .tasks = tasks,
            .trace = sink_trace<Sink>(),
            .session_hook = {}};
}

void drop_once_tables(const std::string& table) {
    auto conn = reader();
    conn.exec("DROP TABLE IF EXISTS sink_test." + table + ", sink_test.redsink_positions_" + table +
              ", sink_test.redsink_lock_" + table);
}

// (partition, offset) -> how many rows the append table holds for it.
std::map<std::pair<std::int32_t, std::int64_t>, int> entry_counts(const std::string& table) {
    auto conn = reader();
    const auto result = conn.exec("SELECT source_partition, source_offset, count(*) FROM " + qualified(table) +
                                  " GROUP BY source_partition, source_offset");
    std::map<std::pair<std::int32_t, std::int64_t>, int> counts;
    for (int row = 0; row < result.rows(); ++row)
        counts[{result.as<std::int32_t>(row, 0), result.as<std::int64_t>(row, 1)}] = result.as<int>(row, 2);
    return counts;
}

// Every (partition, offset) below `per_partition` exactly once, and nothing else.
void check_every_event_once(const std::string& table, std::int64_t per_partition) {
    const auto counts = entry_counts(table);
    std::size_t wrong = 0;
    for (std::int32_t partition = 0; partition < once_partitions; ++partition)
        for (std::int64_t offset = 0; offset < per_partition; ++offset) {
            const auto found = counts.find({partition, offset});
            if (found == counts.end() || found->second != 1) {
                if (++wrong <= 5)
                    UNSCOPED_INFO("partition " << partition << " offset " << offset << ": "
                                               << (found == counts.end() ? 0 : found->second) << " rows");
            }
        }
    CHECK(wrong == 0);
    CHECK(counts.size() == static_cast<std::size_t>(once_partitions * per_partition));
}

// The positions table's rows for a source: partition -> (offset, epoch); the fence at -1.
std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> positions_rows(const std::string& table,
                                                                             const std::string& source = "") {
    auto conn = reader();
    const auto result = conn.exec("SELECT source_partition, committed_offset, epoch FROM sink_test.redsink_positions_" +
                                      table + " WHERE source_name = $1",
                                  source);
    std::map<std::int32_t, std::pair<std::int64_t, std::int64_t>> rows;
    for (int row = 0; row < result.rows(); ++row)
        rows[result.as<std::int32_t>(row, 0)] = {result.as<std::int64_t>(row, 1), result.as<std::int64_t>(row, 2)};
    return rows;
}

std::vector<redsink::Change<Entry>> entry_stream(std::int64_t per_partition) {
    std::vector<redsink::Change<Entry>> stream;
    for (std::int64_t offset = 0; offset < per_partition; ++offset)
        for (std::int32_t partition = 0; partition < once_partitions; ++partition)
            stream.push_back(entry_event(partition, offset));
    return stream;
}

// ---- The child process ------------------------------------------------------------------

struct Child {
    pid_t pid = -1;
    std::string log;  // its stdout and stderr
};

Child spawn(const std::vector<std::string>& args) {
    char path[] = "/tmp/redsink-once-child.XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    Child child{-1, path};
    child.pid = fork();
    REQUIRE(child.pid >= 0);
    if (child.pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        std::vector<char*> argv;
        std::string program = REDSINK_EXACTLY_ONCE_CHILD;
        argv.push_back(program.data());
        std::vector<std::string> copies(args);
        for (auto& arg : copies) argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(program.c_str(), argv.data());
        _exit(127);
    }
    close(fd);
    return child;
}

std::string child_log(const Child& child) {
    std::ifstream in(child.log);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The child's exit code, or -SIGNAL; -1000 when it did not end within `limit`.
int wait_child(Child& child, std::chrono::seconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (waitpid(child.pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > give_up) {
            kill(child.pid, SIGKILL);
            waitpid(child.pid, &status, 0);
            return -1000;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Kills the child at random moments, each restart with another task count and resuming before
// resume_positions(); then lets one run to the end.
void kill_and_restart(const std::string& mode, const std::string& dialect, const std::string& table,
                      std::int64_t per_partition) {
    std::mt19937_64 random(Catch::rngSeed() + 7);
    const std::size_t tasks[] = {1, 3, 2, 4, 1, 3};
    int killed = 0;  // mid-stream
    for (std::size_t round = 0; round < std::size(tasks); ++round) {
        auto child = spawn({mode, dialect, std::to_string(tasks[round]), table, std::to_string(per_partition),
                            std::to_string(random()), "20"});
        std::this_thread::sleep_for(std::chrono::milliseconds(250 + random() % 700));
        kill(child.pid, SIGKILL);
        const int status = wait_child(child, std::chrono::seconds(30));
        INFO(child_log(child));
        CHECK((status == -SIGKILL || status == 0));
        killed += status == -SIGKILL ? 1 : 0;
        std::remove(child.log.c_str());
    }
    CHECK(killed >= 5);
    auto last = spawn({mode, dialect, "2", table, std::to_string(per_partition), std::to_string(random()), "20"});
    const int status = wait_child(last, std::chrono::seconds(120));
    INFO(child_log(last));
    REQUIRE(status == 0);
    std::remove(last.log.c_str());
}

// ---- The lost COMMIT answer's seam -------------------------------------------------------

// Cuts the session's socket under libpq: reads then see the end of the stream, as when the
// connection drops.
void cut_socket(redsink::pq::Connection& conn) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return;
    close(pair[1]);
    dup2(pair[0], PQsocket(conn.native_handle()));
    close(pair[0]);
}

// Polls `query` (with the backend's pid as $1) on the reader until it returns a row.
bool backend_shows(redsink::pq::Connection& watcher, const std::string& query, int pid) {
    return eventually([&] { return !watcher.exec(query, pid).empty(); });
}

}  // namespace

TEMPLATE_TEST_CASE("exactly_once: positions commit with the data; a replay from the start writes nothing twice",
                   "[pg][sink][exactly_once]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const std::string table = "once_replay";
    drop_once_tables(table);
    const auto stream = entry_stream(250);
    {
        Sink sink(test_config(), once_options<Sink>(table, 2));
        CHECK(sink.resume_positions().empty());
        for (std::size_t i = 0; i < stream.size() / 2; ++i) sink.write(stream[i]);
        sink.flush();
        CHECK(sink.resume_positions() == last_positions(std::vector(stream.begin(), stream.begin() + 500)));
    }
    const auto rows = positions_rows(table);
    REQUIRE(rows.size() == 5);  // the fence and 4 partitions
    CHECK(rows.at(-1).second == 1);
    for (std::int32_t partition = 0; partition < once_partitions; ++partition)
        CHECK(rows.at(partition) == std::pair<std::int64_t, std::int64_t>{124, 1});

    // A restart with 3 tasks, resuming at the very beginning: the first half is skipped.
    Sink sink(test_config(), once_options<Sink>(table, 3));
    CHECK(sink.resume_positions() == Positions{{0, 124}, {1, 124}, {2, 124}, {3, 124}});
    std::vector<Positions> acks;
    sink.on_commit([&](const Positions& positions) { acks.push_back(positions); });
    for (const auto& change : stream) sink.write(change);
    sink.flush();
    const auto stats = sink.stats();
    CHECK(stats.events_skipped == 500);
    CHECK(stats.events == 500);
    CHECK(stats.events_in == stats.events + stats.events_ignored + stats.events_skipped + stats.events_pending);
    CHECK(sink.resume_positions() == last_positions(stream));
    REQUIRE_FALSE(acks.empty());
    CHECK(acks.back() == last_positions(stream));
    check_every_event_once(table, 250);
    CHECK(positions_rows(table).at(-1).second == 2);

    // The same events again, in this sink's run: skipped as well (offsets grow in a partition).
    for (std::size_t i = 400; i < 600; ++i) sink.write(stream[i]);
    sink.flush();
    CHECK(sink.stats().events_skipped == 700);
    check_every_event_once(table, 250);
}

TEMPLATE_TEST_CASE("exactly_once: upserts with deletes resume anywhere and equal the model", "[pg][sink][exactly_once]",
                   redsink::redshift, redsink::postgres) {
    using Sink = UpsertOnce<TestType>;
    const std::string table = "once_upsert";
    drop_once_tables(table);
    std::vector<AccountChange> stream;
    for (std::int64_t offset = 0; offset < 300; ++offset)
        for (std::int32_t partition = 0; partition < once_partitions; ++partition)
            stream.push_back(account_event(partition, offset));
    std::mt19937_64 random(Catch::rngSeed());
    std::size_t at = 0;
    for (const std::size_t tasks : {2, 1, 4}) {
        Sink sink(test_config(), once_options<Sink>(table, tasks));
        const auto resume = sink.resume_positions();
        // Back to an earlier point of the stream than the sink needs.
        at = at - std::min<std::size_t>(at, random() % 200);
        const std::size_t end = tasks == 4 ? stream.size() : at + 400;
        for (; at < end; ++at) sink.write(stream[at]);
        sink.flush();
    }
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == account_model(300));
}

TEMPLATE_TEST_CASE("exactly_once: a newer sink fences the older one, which commits nothing more",
                   "[pg][sink][exactly_once][fencing]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const std::string table = "once_fence";
    drop_once_tables(table);
    const auto stream = entry_stream(100);
    Sink old_sink(test_config(), once_options<Sink>(table));
    for (std::size_t i = 0; i < 200; ++i) old_sink.write(stream[i]);
    old_sink.flush();

    // Another source writing into the same table is another identity: no fencing.
    auto other_options = once_options<Sink>(table);
    other_options.source_name = "other source";
    Sink other(test_config(), other_options);
    CHECK(other.resume_positions().empty());

    Sink new_sink(test_config(), once_options<Sink>(table));
    CHECK(new_sink.resume_positions() == last_positions(std::vector(stream.begin(), stream.begin() + 200)));
    for (std::size_t i = 200; i < 300; ++i) old_sink.write(stream[i]);
    try {
        old_sink.flush();
        FAIL("the fenced sink's flush succeeded");
    } catch (const redsink::Error& error) {
        CHECK(error.kind() == ErrorKind::fenced);
        const std::string what = error.what();
        INFO(what);
        CHECK_THAT(what, Catch::Contains("sink_test.once_fence (epoch 1) was fenced by the sink that started at"));
        CHECK_THAT(what, Catch::Contains("(epoch 2, "));
        CHECK_THAT(what, Catch::Contains("pid " + std::to_string(getpid())));
    }
    // Nothing of the fenced sink's batch was committed; the newer one writes it.
    CHECK(entry_counts(table).size() == 200);
    CHECK(positions_rows(table).at(0).first == 49);
    for (std::size_t i = 0; i < stream.size(); ++i) new_sink.write(stream[i]);
    new_sink.flush();
    CHECK(new_sink.stats().events_skipped == 200);
    check_every_event_once(table, 100);
    CHECK(positions_rows(table, "other source").at(-1).second == 1);
}

TEST_CASE("exactly_once: a sink in another process fences this one", "[pg][sink][exactly_once][fencing]") {
    const std::string table = "once_fence_process";
    drop_once_tables(table);
    // A slow child: 50 events every 50 ms.
    auto child = spawn({"append", "postgres", "2", table, "100000", "1", "50"});
    auto conn = reader();
    REQUIRE(eventually([&] {
        try {
            return conn.exec("SELECT 1 FROM sink_test.redsink_positions_" + table + " WHERE source_partition >= 0")
                       .rows() > 0;
        } catch (const redsink::Error&) {
            return false;
        }
    }));
    using Sink = AppendOnce<redsink::postgres>;
    Sink sink(test_config(), once_options<Sink>(table));
    const int status = wait_child(child, std::chrono::seconds(30));
    const auto log = child_log(child);
    std::remove(child.log.c_str());
    INFO(log);
    CHECK(status == 3);
    CHECK_THAT(log, Catch::Contains("was fenced by the sink that started at"));
    CHECK_THAT(log, Catch::Contains("pid " + std::to_string(getpid())));
    // What the child committed is in the table once, and the positions say where it stopped.
    const auto resume = sink.resume_positions();
    const auto counts = entry_counts(table);
    std::size_t expected = 0;
    for (const auto& [partition, offset] : resume) expected += static_cast<std::size_t>(offset + 1);
    CHECK(counts.size() == expected);
    for (const auto& [key, count] : counts) CHECK(count == 1);
}

namespace {

// A lost COMMIT answer: the socket cut right after COMMIT was sent, once after the server
// committed (`took_effect`), once with the COMMIT held in a deferred trigger and its backend
// ended. With Fencing::partition the sink claims the 4 partitions first.
template <class Sink>
void lost_commit(bool took_effect, const std::string& table, redsink::Fencing fencing) {
    drop_once_tables(table);
    auto watcher = reader();
    std::atomic<bool> armed{false};
    std::atomic<int> cuts{0};
    std::atomic<bool> seen{true};  // the backend was seen as the case needs (Catch asserts on this thread only)
    auto options = once_options<Sink>(table);
    options.fencing = fencing;
    options.retry_backoff = std::chrono::milliseconds(10);
    options.session_hook = [&](redsink::pq::Connection& conn, redsink::SessionPoint point) {
        if (point != redsink::SessionPoint::commit_sent || !armed.exchange(false)) return;
        const int pid = conn.backend_pid();
        if (took_effect) {
            // The server committed (the batch's positions show); its answer is then lost.
            seen = seen && eventually([&] {
                       return !watcher
                                   .exec("SELECT 1 FROM sink_test.redsink_positions_" + table +
                                         " WHERE source_partition = 0 AND committed_offset = 74")
                                   .empty();
                   });
        } else {
            seen =
                seen &&
                backend_shows(watcher, "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'", pid);
            watcher.exec("SELECT pg_terminate_backend($1)", pid);
            seen = seen && eventually([&] {
                       return watcher.exec("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid).empty();
                   });
        }
        cut_socket(conn);
        ++cuts;
    };
    const auto stream = entry_stream(100);
    Sink sink(test_config(), options);
    if (fencing == redsink::Fencing::partition) CHECK(sink.claim_partitions({0, 1, 2, 3}).empty());
    if (!took_effect) {
        // The COMMIT of the batch with offset 60 is held in a deferred trigger (once: a sequence
        // counts across rollbacks), and the test ends the backend there: that COMMIT takes no effect.
        watcher.exec("DROP SEQUENCE IF EXISTS sink_test.slow_commits");
        watcher.exec("CREATE SEQUENCE sink_test.slow_commits");
        watcher.exec(
            "CREATE OR REPLACE FUNCTION sink_test.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.source_offset = 60 THEN IF nextval('sink_test.slow_commits') = 1 THEN PERFORM pg_sleep(60); "
            "END IF; END IF; RETURN NULL; END $$");
        watcher.exec("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON sink_test." + table +
                     " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sink_test.slow_commit()");
    }
    for (std::size_t i = 0; i < 200; ++i) sink.write(stream[i]);
    sink.flush();
    armed = true;
    for (std::size_t i = 200; i < 300; ++i) sink.write(stream[i]);
    sink.flush();
    for (std::size_t i = 300; i < stream.size(); ++i) sink.write(stream[i]);
    sink.flush();
    CHECK(cuts == 1);
    CHECK(seen);
    const auto stats = sink.stats();
    CHECK(stats.commit_checks == 1);
    CHECK(stats.reconnects >= 1);
    CHECK(stats.events == stream.size());
    check_every_event_once(table, 100);
    CHECK(sink.resume_positions() == last_positions(stream));
}

}  // namespace

TEMPLATE_TEST_CASE("exactly_once: a lost COMMIT answer is settled by reading the positions table",
                   "[pg][sink][exactly_once][lost_commit]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const bool took_effect = GENERATE(true, false);
    const std::string table = took_effect ? "once_lost_commit" : "once_lost_uncommitted";
    lost_commit<Sink>(took_effect, table, redsink::Fencing::identity);
}

TEST_CASE("exactly_once: a child process killed at random moments, restarted with other task counts",
          "[pg][sink][exactly_once][process_kill]") {
    SECTION("append, postgres dialect") {
        drop_once_tables("once_kill_append");
        kill_and_restart("append", "postgres", "once_kill_append", 4000);
        check_every_event_once("once_kill_append", 4000);
    }
    SECTION("append, redshift dialect") {
        drop_once_tables("once_kill_append_rs");
        kill_and_restart("append", "redshift", "once_kill_append_rs", 4000);
        check_every_event_once("once_kill_append_rs", 4000);
    }
    SECTION("upsert with deletes and tombstones, redshift dialect") {
        drop_once_tables("once_kill_upsert_rs");
        kill_and_restart("upsert", "redshift", "once_kill_upsert_rs", 4000);
        auto conn = reader();
        CHECK(table_rows(conn, qualified("once_kill_upsert_rs")) == account_model(4000));
    }
    SECTION("upsert with deletes and tombstones, postgres dialect") {
        drop_once_tables("once_kill_upsert");
        kill_and_restart("upsert", "postgres", "once_kill_upsert", 4000);
        auto conn = reader();
        CHECK(table_rows(conn, qualified("once_kill_upsert")) == account_model(4000));
    }
    SECTION("Rows whose source adds a column half-way (evolve_schema), killed before and after the change") {
        // Each start is on the first schema; a process that comes to the second adds the column,
        // or finds it added by an earlier one.
        drop_once_tables("once_kill_rows");
        kill_and_restart("rows", "postgres", "once_kill_rows", 1500);
        auto conn = reader();
        check_same_rows(query_rows(conn,
                                   "SELECT id, version, name, coalesce(note, '<NULL>'), balance, active, "
                                   "coalesce(region, '<NULL>') FROM " +
                                       qualified("once_kill_rows")),
                        account_rows_model(1500));
    }
}

TEST_CASE("exactly_once: a partition below 0 is refused, and the event not taken", "[pg][sink][exactly_once]") {
    using Sink = AppendOnce<redsink::postgres>;
    drop_once_tables("once_negative");
    Sink sink(test_config(), once_options<Sink>("once_negative"));
    try {
        sink.write(redsink::created(Entry{-1, 5, "x"}, {-1, 5}));
        FAIL("taken");
    } catch (const redsink::Error& error) {
        CHECK(error.kind() == ErrorKind::bad_data);
        CHECK_THAT(std::string(error.what()), Catch::Contains("partition -1, offset 5 for sink_test.once_negative"));
    }
    CHECK(sink.stats().events_in == 0);
    sink.write(entry_event(0, 0));
    sink.flush();
    CHECK(entry_counts("once_negative").size() == 1);
}

// ---- Fencing::partition ------------------------------------------------------------------

namespace {

template <class Sink>
redsink::SinkOptions partition_options(const std::string& table, std::size_t tasks = 1) {
    auto options = once_options<Sink>(table, tasks);
    options.fencing = redsink::Fencing::partition;
    return options;
}

}  // namespace

TEMPLATE_TEST_CASE("exactly_once, Fencing::partition: two sinks of one identity share its partitions",
                   "[pg][sink][exactly_once][partition_fencing]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const std::string table = "once_partitions_shared";
    drop_once_tables(table);
    const auto stream = entry_stream(150);
    {
        Sink a(test_config(), partition_options<Sink>(table, 2));
        Sink b(test_config(), partition_options<Sink>(table));
        // Nothing is written before a claim: no fence taken at start, and no partition held.
        CHECK(positions_rows(table).empty());
        try {
            a.write(stream[0]);
            FAIL("an event of a partition not claimed was taken");
        } catch (const redsink::Error& error) {
            CHECK_THAT(std::string(error.what()),
                       Catch::Contains("holds no claim on partition 0") && Catch::Contains("the event was not taken"));
        }
        CHECK(a.stats().events_in == 0);
        // Nothing committed yet: no positions, and a row holding -1 at epoch 1 per partition.
        CHECK(a.claim_partitions({0, 1}).empty());
        CHECK(b.claim_partitions({2, 3}).empty());
        CHECK(a.resume_positions().empty());
        auto rows = positions_rows(table);
        for (std::int32_t partition = 0; partition < once_partitions; ++partition)
            CHECK(rows.at(partition) == std::pair<std::int64_t, std::int64_t>{-1, 1});
        CHECK(rows.at(-1).second == 2);  // each claim raised the fence row: an identity-wide sink is fenced
        // b holds partitions 2 and 3 only.
        CHECK_THROWS_WITH(b.write(stream[0]), Catch::Contains("holds no claim on partition 0"));

        // Both write at once, each its own partitions: 100 events of each partition.
        for (std::size_t i = 0; i < 400; ++i) (stream[i].position.partition < 2 ? a : b).write(stream[i]);
        a.flush();
        b.flush();
        CHECK(a.resume_positions() == Positions{{0, 99}, {1, 99}});
        CHECK(b.resume_positions() == Positions{{2, 99}, {3, 99}});
        rows = positions_rows(table);
        for (std::int32_t partition = 0; partition < once_partitions; ++partition)
            CHECK(rows.at(partition) == std::pair<std::int64_t, std::int64_t>{99, 1});
    }
    // Restarted, the other way round, each resuming from the start: the claims say where to resume,
    // and what is committed is skipped.
    Sink c(test_config(), partition_options<Sink>(table));
    Sink d(test_config(), partition_options<Sink>(table, 3));
    CHECK(c.claim_partitions({0, 2}) == Positions{{0, 99}, {2, 99}});
    CHECK(d.claim_partitions({1, 3}) == Positions{{1, 99}, {3, 99}});
    CHECK(c.resume_positions() == Positions{{0, 99}, {2, 99}});
    for (const auto& change : stream) (change.position.partition % 2 == 0 ? c : d).write(change);
    c.flush();
    d.flush();
    CHECK(c.stats().events_skipped == 200);
    CHECK(d.stats().events_skipped == 200);
    CHECK(c.stats().events == 100);
    check_every_event_once(table, 150);
    const auto rows = positions_rows(table);
    for (std::int32_t partition = 0; partition < once_partitions; ++partition)
        CHECK(rows.at(partition) == std::pair<std::int64_t, std::int64_t>{149, 2});
}

TEMPLATE_TEST_CASE("exactly_once, Fencing::partition: a claim fences the partition's holder, which then stops",
                   "[pg][sink][exactly_once][partition_fencing]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const std::string table = "once_partitions_fence";
    drop_once_tables(table);
    const auto stream = entry_stream(100);  // offset by offset, partitions 0 to 3
    const auto event = [&](std::int32_t partition, std::int64_t offset) {
        return stream[static_cast<std::size_t>(offset * once_partitions + partition)];
    };
    Sink old_sink(test_config(), partition_options<Sink>(table));
    CHECK(old_sink.claim_partitions({0, 1, 2, 3}).empty());
    std::vector<Positions> acks;
    old_sink.on_commit([&](const Positions& positions) { acks.push_back(positions); });
    for (std::size_t i = 0; i < 200; ++i) old_sink.write(stream[i]);
    old_sink.flush();

    Sink new_sink(test_config(), partition_options<Sink>(table));
    CHECK(new_sink.claim_partitions({1}) == Positions{{1, 49}});
    CHECK(positions_rows(table).at(1) == std::pair<std::int64_t, std::int64_t>{49, 2});
    // The partitions the old sink still holds go on.
    for (std::int64_t offset = 50; offset < 60; ++offset)
        for (const std::int32_t partition : {0, 2, 3}) old_sink.write(event(partition, offset));
    old_sink.flush();
    CHECK(entry_counts(table).size() == 230);
    const auto acknowledged = acks.back();
    CHECK(acknowledged.at(0) == 59);
    // A batch reaching the partition it lost commits nothing, and the sink stops.
    for (std::int64_t offset = 60; offset < 70; ++offset)
        for (const std::int32_t partition : {0, 1}) old_sink.write(event(partition, offset));
    try {
        old_sink.flush();
        FAIL("the fenced sink's flush succeeded");
    } catch (const redsink::Error& error) {
        CHECK(error.kind() == ErrorKind::fenced);
        const std::string what = error.what();
        INFO(what);
        CHECK_THAT(what, Catch::Contains("sink_test.once_partitions_fence (partition 1, epoch 1) was fenced by the "
                                         "sink that claimed it (epoch 2, "));
        CHECK_THAT(what, Catch::Contains("pid " + std::to_string(getpid())));
    }
    CHECK(entry_counts(table).size() == 230);
    CHECK(positions_rows(table).at(0).first == 59);
    CHECK(acks.back() == acknowledged);
    CHECK_THROWS(old_sink.write(event(2, 60)));
    CHECK(acks.back() == acknowledged);

    // The rest of the stream by the new sink (partition 1) and a third one (the others), each
    // resuming from the beginning.
    Sink third(test_config(), partition_options<Sink>(table, 2));
    CHECK(third.claim_partitions({0, 2, 3}) == Positions{{0, 59}, {2, 59}, {3, 59}});
    for (const auto& change : stream) (change.position.partition == 1 ? new_sink : third).write(change);
    new_sink.flush();
    third.flush();
    CHECK(new_sink.stats().events_skipped == 50);
    CHECK(third.stats().events_skipped == 180);
    check_every_event_once(table, 100);
}

TEST_CASE("exactly_once, Fencing::partition: misuse is refused", "[pg][sink][exactly_once][partition_fencing]") {
    using Sink = AppendOnce<redsink::postgres>;
    const std::string table = "once_partitions_misuse";
    drop_once_tables(table);
    Sink identity(test_config(), once_options<Sink>(table));
    CHECK_THROWS_WITH(identity.claim_partitions({0}), Catch::Contains("holds its whole identity"));
    CHECK(identity.fencing() == redsink::Fencing::identity);
    Sink partitioned(test_config(), partition_options<Sink>(table));
    CHECK_THROWS_WITH(partitioned.claim_partitions({-1}), Catch::Contains("partition -1 is below 0"));
    using Plain = redsink::Sink<Entry, redsink::create_table, redsink::postgres>;
    auto plain_options = once_options<Plain>(table);
    plain_options.fencing = redsink::Fencing::partition;
    CHECK_THROWS_WITH(Plain(test_config(), plain_options), Catch::Contains("is for the exactly_once delivery policy"));
}

TEMPLATE_TEST_CASE("exactly_once, Fencing::partition: a lost COMMIT answer is settled by the partitions' rows",
                   "[pg][sink][exactly_once][lost_commit][partition_fencing]", redsink::redshift, redsink::postgres) {
    using Sink = AppendOnce<TestType>;
    const bool took_effect = GENERATE(true, false);
    lost_commit<Sink>(took_effect, took_effect ? "once_partitions_lost_commit" : "once_partitions_lost_uncommitted",
                      redsink::Fencing::partition);
}
