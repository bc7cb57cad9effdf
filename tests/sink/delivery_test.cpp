// At-least-once delivery: replays, lost connections, a restarted server, exhausted retries, bad
// data; positions acknowledged only after COMMIT.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;
using redsink::ErrorKind;
using redsink::Positions;
using redsink::pq::TracePoint;
using Clock = std::chrono::steady_clock;

namespace {

template <class Dialect>
using UpsertSink =
    redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table, Dialect>;

// Records when each COMMIT completed and when each acknowledgement arrived.
struct CommitLog {
    std::vector<Clock::time_point> commits;
    std::vector<std::pair<Clock::time_point, Positions>> acks;

    redsink::pq::TraceHook hook() {
        return [this](TracePoint point, std::string_view sql) {
            if (point == TracePoint::done && sql == "COMMIT") commits.push_back(Clock::now());
        };
    }
    std::function<void(const Positions&)> callback() {
        return [this](const Positions& done) { acks.emplace_back(Clock::now(), done); };
    }

    // Every acknowledgement follows a COMMIT that completed before it, one COMMIT per
    // acknowledgement at least, and positions never go back.
    void check() const {
        REQUIRE_FALSE(acks.empty());
        Positions previous;
        for (std::size_t i = 0; i < acks.size(); ++i) {
            const auto& [time, positions] = acks[i];
            std::size_t committed_before = 0;
            for (const auto& commit : commits) committed_before += commit <= time ? 1 : 0;
            CHECK(committed_before >= i + 1);
            for (const auto& [partition, offset] : previous) CHECK(positions.at(partition) >= offset);
            previous = positions;
        }
    }
};

}  // namespace

TEMPLATE_TEST_CASE("upsert replays are idempotent: twice, and from the middle", "[pg][sink][delivery]",
                   redsink::redshift, redsink::postgres) {
    using Sink = UpsertSink<TestType>;
    const std::string table = std::string("replay_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 150, .trace = sink_trace<Sink>()});
    const auto stream = random_stream({.seed = 31, .events = 2000, .keys = 120});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();

    write_all(sink, stream);
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    write_all(sink, stream);
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    write_all(sink, std::vector<AccountChange>(stream.begin() + 1000, stream.end()));
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(sink.stats().acknowledged == last_positions(stream));
}

TEMPLATE_TEST_CASE("a backend killed in the middle of a flush: the batch is replayed, nothing is lost",
                   "[pg][sink][delivery][fault]", redsink::redshift, redsink::postgres) {
    using Sink = UpsertSink<TestType>;
    const std::string table = std::string("killed_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    auto config = test_config();
    config.application_name = "redsink_victim_" + table;
    Sink sink(config, {.schema = sink_schema, .table = table, .batch_rows = 400});
    auto killer = reader();
    CommitLog log;
    int kills = 0;
    int staged = 0;
    sink.set_trace(sink_trace<Sink>([&](TracePoint point, std::string_view sql) {
        log.hook()(point, sql);
        const bool fills_stage =
            sql.starts_with("INSERT INTO \"redsink_stage\"") || sql.starts_with("COPY \"redsink_stage\"");
        // Kill the session while it fills the stage of the second and the fourth batch.
        if (point == TracePoint::sending && fills_stage && (++staged == 2 || staged == 6) && kills < 2) {
            // Waits (up to 5 s) until the backend is gone: the statement about to be sent finds it dead.
            killer.exec("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1",
                        config.application_name);
            ++kills;
        }
    }));
    sink.on_commit(log.callback());
    const auto stream = random_stream({.seed = 41, .events = 2000, .keys = 300});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    write_all(sink, stream);

    CHECK(kills == 2);
    CHECK(sink.stats().retries >= 2);
    CHECK(table_rows(killer, qualified(table)) == model.rows());
    CHECK(sink.stats().acknowledged == last_positions(stream));
    log.check();
}

TEST_CASE("a server restart between batches: the sink reconnects and replays", "[pg][sink][delivery][fault]") {
    using Sink = UpsertSink<redsink::redshift>;
    drop_table("restarted");
    Sink sink(test_config(), {.schema = sink_schema, .table = "restarted", .batch_rows = 250});
    CommitLog log;
    sink.set_trace(sink_trace<Sink>(log.hook()));
    sink.on_commit(log.callback());
    const auto stream = random_stream({.seed = 51, .events = 1500});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);

    const std::vector<AccountChange> first(stream.begin(), stream.begin() + 700);
    write_all(sink, first);
    const auto acknowledged = sink.stats().acknowledged;
    pg_ctl("restart -m fast");
    write_all(sink, std::vector<AccountChange>(stream.begin() + 700, stream.end()));

    CHECK(acknowledged == last_positions(first));
    CHECK(sink.stats().reconnects >= 1);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("restarted")) == model.rows());
    CHECK(sink.stats().acknowledged == last_positions(stream));
    log.check();
}

namespace {

// Retries run out with the server down: the error is raised once, nothing is acknowledged, each
// task keeps its batch, and the next flush writes it.
template <class Dialect>
void check_retries_exhausted(std::size_t tasks, const std::string& table, std::uint64_t seed, std::size_t events) {
    using Sink = UpsertSink<Dialect>;
    drop_table(table);
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = table,
                              .batch_rows = 100'000,
                              .max_attempts = 3,
                              .retry_backoff = std::chrono::milliseconds(10),
                              .tasks = tasks});
    int callbacks = 0;
    sink.on_commit([&](const Positions&) { ++callbacks; });
    const auto stream = random_stream({.seed = seed, .events = events});
    for (const auto& change : stream) sink.write(change);

    pg_ctl("stop -m fast");
    try {
        sink.flush();
        FAIL("flush succeeded with the server down");
    } catch (const redsink::Error& error) {
        CHECK(error.retryable());
        CHECK_THAT(error.what(), Catch::Contains(qualified(table)) && Catch::Contains("after 3 attempts"));
        if (tasks == 1)
            CHECK_THAT(error.what(), Catch::Contains(std::to_string(events) + " events"));
        else
            CHECK_THAT(error.what(), Catch::Contains(" of " + std::to_string(tasks) + ": "));
    }
    pg_ctl("start");
    CHECK(callbacks == 0);
    CHECK(sink.stats().acknowledged.empty());
    CHECK(sink.pending_events() == events);
    auto stats = sink.stats();
    CHECK(stats.retries == 2 * tasks);
    CHECK(stats.events == 0);
    CHECK(stats.events_pending + stats.events_ignored == events);

    // Raised once: the sink goes on, and the next flush writes the kept batches.
    sink.flush();
    CHECK(callbacks >= 1);
    CHECK(callbacks <= static_cast<int>(tasks));
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    stats = sink.stats();
    CHECK(stats.events_pending == 0);
    CHECK(stats.events + stats.events_ignored == stats.events_in);
    CHECK(stats.acknowledged == last_positions(stream));
}

}  // namespace

TEST_CASE("retries exhausted while the server is down: an error, nothing acknowledged, the batch kept",
          "[pg][sink][delivery][fault]") {
    SECTION("one task") {
        check_retries_exhausted<redsink::postgres>(1, "down", 61, 500);
    }
    SECTION("three tasks, each keeping its batch") {
        check_retries_exhausted<redsink::redshift>(3, "held", 305, 900);
    }
}

TEMPLATE_TEST_CASE("bad data in one event: the error names it, nothing of its batch is written or acknowledged",
                   "[pg][sink][delivery]", redsink::redshift, redsink::postgres) {
    using Sink = UpsertSink<TestType>;
    const std::string table = std::string("bad_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 100, .trace = sink_trace<Sink>()});
    auto stream = random_stream({.seed = 71, .events = 300});
    // The 250th event (third batch) carries a name that is not UTF-8.
    stream[249].op = redsink::Op::update;
    stream[249].row.name = "broken \xC3(";
    const auto bad = stream[249].position;
    int callbacks = 0;
    sink.on_commit([&](const Positions&) { ++callbacks; });

    try {
        for (const auto& change : stream) sink.write(change);
        FAIL("the bad event was accepted");
    } catch (const redsink::BadValue& error) {
        CHECK(error.column() == "name");
        CHECK(error.position() == bad);
        CHECK(error.table() == "sink_test." + table);
        CHECK_THAT(error.what(), Catch::Contains("not valid UTF-8") && Catch::Contains("column \"name\"") &&
                                     Catch::Contains(redsink::to_string(bad)));
    }
    CHECK(callbacks == 2);
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(std::vector<AccountChange>(stream.begin(), stream.begin() + 200));
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(sink.stats().acknowledged ==
          last_positions(std::vector<AccountChange>(stream.begin(), stream.begin() + 200)));
    CHECK_THROWS_WITH(sink.write(stream[0]), Catch::Contains("stopped after an earlier error") &&
                                                 Catch::Contains("resume from the acknowledged positions"));
}

TEST_CASE("a row the server refuses during COPY is traced to its event", "[pg][sink][delivery]") {
    using Sink = redsink::Sink<Account, redsink::append, redsink::create_table, redsink::postgres>;
    drop_table("refused");
    Sink sink(test_config(), {.schema = sink_schema, .table = "refused", .batch_rows = 1000});
    auto conn = reader();
    conn.exec("ALTER TABLE sink_test.refused ADD CONSTRAINT small_balance CHECK (balance < 50000)");
    auto stream = random_stream({.seed = 81, .events = 40});
    for (auto& change : stream) {
        change.op = redsink::Op::create;
        change.row.balance = redsink::decimal<12, 2>(10);
    }
    stream[17].row.balance = redsink::decimal<12, 2>(60000);
    for (const auto& change : stream) sink.write(change);
    try {
        sink.flush();
        FAIL("the refused row was accepted");
    } catch (const redsink::Error& error) {
        CHECK(error.kind() == ErrorKind::constraint);
        CHECK(error.sqlstate() == "23514");
        CHECK_THAT(error.what(), Catch::Contains("sink_test.refused") &&
                                     Catch::Contains("event at " + redsink::to_string(stream[17].position)));
    }
    CHECK(conn.exec("SELECT count(*) FROM sink_test.refused").as<int>(0, 0) == 0);
    CHECK(sink.stats().acknowledged.empty());
}

TEST_CASE("flush_interval writes a batch from write() and poll()", "[pg][sink][delivery]") {
    using Sink = UpsertSink<redsink::postgres>;
    drop_table("interval");
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = "interval",
                              .batch_rows = 100'000,
                              .flush_interval = std::chrono::milliseconds(50)});
    const auto stream = random_stream({.seed = 91, .events = 10});
    sink.write(stream[0]);
    sink.poll();
    CHECK(sink.stats().batches == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    sink.poll();
    // The task commits in the background.
    REQUIRE(eventually([&] { return sink.stats().batches > 0; }));
    CHECK(sink.stats().batches == 1);
    sink.write(stream[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    sink.write(stream[2]);
    REQUIRE(eventually([&] { return sink.stats().batches > 1 && sink.pending_events() == 0; }));
    CHECK(sink.stats().batches == 2);
    CHECK(sink.pending_events() == 0);
    // Acknowledgements are delivered on the caller's thread, by its next call.
    const auto first_three = last_positions(std::vector<AccountChange>(stream.begin(), stream.begin() + 3));
    CHECK(sink.stats().acknowledged != first_three);
    redsink::Positions acked;
    sink.on_commit([&](const redsink::Positions& done) { acked = done; });
    sink.poll();
    CHECK(acked == first_three);
    CHECK(sink.stats().acknowledged == first_three);
}

TEST_CASE("batch_bytes bounds a batch by the size of its rows", "[pg][sink][delivery]") {
    using Sink = UpsertSink<redsink::postgres>;
    drop_table("bytes");
    Sink sink(test_config(), {.schema = sink_schema, .table = "bytes", .batch_rows = 100'000, .batch_bytes = 20'000});
    auto stream = random_stream({.seed = 92, .events = 100});
    for (auto& change : stream) {
        change.op = redsink::Op::update;
        change.row.name = std::string(1000, 'n');
    }
    for (const auto& change : stream) sink.write(change);
    sink.flush();
    // About 1 KB of encoded values a row: 19 rows to a batch of 20,000 bytes, and what flush() found.
    CHECK(sink.stats().batches >= 5);
    CHECK(sink.stats().batches <= 7);
    CHECK(sink.stats().events == 100);
}

TEST_CASE("a bad value found while a COPY streams leaves nothing of its batch", "[pg][sink][delivery]") {
    // Appending without deletes, the PostgreSQL dialect COPYs a batch straight into the target while
    // the next one is being filled: the bad value is refused by write(), after the first batch was
    // handed over, which is still written.
    using Sink = redsink::Sink<Account, redsink::append, redsink::create_table, redsink::postgres>;
    drop_table("streamed_bad");
    Sink sink(test_config(), {.schema = sink_schema, .table = "streamed_bad", .batch_rows = 1000});
    auto stream = random_stream({.seed = 93, .events = 3000});
    std::erase_if(stream, [](const AccountChange& change) { return redsink::is_delete(change.op); });
    stream.resize(1800);
    stream[1700].row.name = "bad \xC0\x80 overlong";
    try {
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        FAIL("the bad value was accepted");
    } catch (const redsink::BadValue& error) {
        CHECK(error.position() == stream[1700].position);
        CHECK(error.column() == "name");
    }
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM sink_test.streamed_bad").as<int>(0, 0) == 1000);
    CHECK(sink.stats().acknowledged ==
          last_positions(std::vector<AccountChange>(stream.begin(), stream.begin() + 1000)));
}

TEST_CASE("write() is all or nothing: the retry loop an app writes around it duplicates nothing",
          "[pg][sink][delivery][fault]") {
    // Append mode, where a duplicate would show as a row too many.
    using Sink = redsink::Sink<Account, redsink::append, redsink::create_table, redsink::postgres>;
    drop_table("write_retried");
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = "write_retried",
                              .batch_rows = 50,
                              .flush_interval = std::chrono::hours(1),
                              .max_attempts = 2,
                              .retry_backoff = std::chrono::milliseconds(10)});
    auto stream = random_stream({.seed = 94, .events = 400});
    // Every key once, so that the only refusal is the one each section plants.
    for (std::size_t i = 0; i < stream.size(); ++i) {
        stream[i].op = redsink::Op::create;
        stream[i].row.id = static_cast<std::int64_t>(i);
    }
    int throws = 0;
    const auto write = [&](const AccountChange& change) {
        for (int attempt = 1;; ++attempt) {
            try {
                sink.write(change);
                return;
            } catch (const redsink::Error& error) {
                REQUIRE(error.retryable());
                // A write that took its event and then threw would throw again and again.
                REQUIRE(attempt < 20);
                ++throws;
            }
        }
    };
    const auto flush = [&] {
        while (true) {
            try {
                sink.flush();
                return;
            } catch (const redsink::Error& error) {
                REQUIRE(error.retryable());
                ++throws;
            }
        }
    };
    for (std::size_t i = 0; i < 100; ++i) write(stream[i]);
    flush();
    pg_ctl("stop -m fast");
    // Every failed batch is raised once, by the next call, before it takes its event.
    for (std::size_t i = 100; i < stream.size(); ++i) write(stream[i]);
    CHECK(throws >= 1);
    CHECK(sink.stats().events_in == stream.size());
    pg_ctl("start");
    flush();
    Model model(InsertKind::append, DeleteKind::ignore);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("write_retried")) == model.rows());
    const auto stats = sink.stats();
    CHECK(stats.events == stream.size());
    CHECK(stats.events_pending == 0);
    CHECK(stats.events + stats.events_ignored + stats.events_pending == stats.events_in);
    CHECK(stats.acknowledged == last_positions(stream));
}

namespace {

struct LeakDoc {
    BOOST_HANA_DEFINE_STRUCT(LeakDoc, (std::int64_t, id), (std::string, card), (redsink::json, body));
};

template <class Sink>
std::string error_text(Sink& sink, const std::vector<redsink::Change<LeakDoc>>& changes) {
    try {
        for (const auto& change : changes) sink.write(change);
        sink.flush();
    } catch (const redsink::Error& error) {
        return error.what();
    }
    FAIL("the server accepted every row");
    return {};
}

}  // namespace

TEMPLATE_TEST_CASE("no row value in the sink's errors: CHECK, duplicate key, JSON the server refuses",
                   "[pg][sink][delivery][values]", redsink::redshift, redsink::postgres) {
    using Sink = redsink::Sink<LeakDoc, redsink::primary_key<"id">, redsink::append, redsink::create_table, TestType>;
    const std::string dialect(redsink::to_string(Sink::dialect));
    const std::string card = "4111-1111-1111-1111";
    const std::string ssn = "123-45-6789";
    auto conn = reader();
    const auto row = [&](std::int64_t id, std::string number, std::string body, std::int64_t offset) {
        return redsink::created(LeakDoc{id, std::move(number), redsink::json(std::move(body))}, {0, offset});
    };
    if (Sink::dialect == redsink::Dialect::redshift) install_super_stand_in(conn);

    SECTION("a CHECK constraint: 'Failing row contains (...)' stays out") {
        const std::string table = "leak_check_" + dialect;
        drop_table(table);
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .trace = sink_trace<Sink>()});
        conn.exec("ALTER TABLE " + qualified(table) + " ADD CONSTRAINT no_test_cards CHECK (card NOT LIKE '4111%')");
        const auto text = error_text(sink, {row(1, "none", "{}", 0), row(2, card, "{}", 1)});
        CHECK_THAT(text, Catch::Contains("no_test_cards") && Catch::Contains("23514"));
        CHECK(text.find(card) == std::string::npos);
        CHECK(text.find("4111") == std::string::npos);
    }
    SECTION("a duplicate key in append mode: 'Key (id)=(42) already exists' stays out") {
        const std::string table = "leak_key_" + dialect;
        drop_table(table);
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 1, .trace = sink_trace<Sink>()});
        conn.exec("CREATE UNIQUE INDEX " + table + "_id ON " + qualified(table) + " (id)");
        const auto text = error_text(sink, {row(42, "a", "{}", 0), row(42, "b", "{}", 1)});
        CHECK_THAT(text, Catch::Contains("23505") && Catch::Contains(table + "_id"));
        CHECK(text.find("(id)=(42)") == std::string::npos);
    }
    SECTION("a document the server's JSON refuses: its text stays out") {
        // Valid JSON that jsonb refuses (\u0000): the postgres dialect refuses it before sending,
        // the redshift dialect lets SUPER (here its stand-in) decide.
        const std::string table = "leak_json_" + dialect;
        drop_table(table);
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .trace = sink_trace<Sink>()});
        const auto text = error_text(sink, {row(1, "a", R"({"ssn":")" + ssn + R"(","x":"\u0000"})", 0)});
        if (Sink::dialect == redsink::Dialect::redshift)
            CHECK_THAT(text, Catch::Contains("22P05") && Catch::Contains("server text not shown"));
        else
            CHECK_THAT(text, Catch::Contains("is not valid JSON"));
        CHECK(text.find(ssn) == std::string::npos);
    }
}

TEST_CASE("a server down for 20 s: the sink rides it out within the default retry budget",
          "[pg][sink][delivery][fault]") {
    using Sink = UpsertSink<redsink::redshift>;
    drop_table("outage");
    const auto stream = random_stream({.seed = 95, .events = 1200});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    Sink sink(test_config(),
              {.schema = sink_schema, .table = "outage", .batch_rows = 200, .trace = sink_trace<Sink>()});
    const auto half = stream.begin() + 600;
    write_all(sink, {stream.begin(), half});

    pg_ctl("stop -m fast");
    const auto stopped = Clock::now();
    std::thread restart([] {
        std::this_thread::sleep_for(std::chrono::seconds(20));
        pg_ctl("start");
    });
    // Written and flushed while the server is down: the tasks keep trying until it is back.
    write_all(sink, {half, stream.end()});
    restart.join();
    CHECK(Clock::now() - stopped >= std::chrono::seconds(20));
    CHECK(sink.stats().retries >= 1);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("outage")) == model.rows());
    CHECK(sink.stats().acknowledged == last_positions(stream));
}

TEST_CASE("a sink started while the server is down starts once it is up", "[pg][sink][delivery][fault]") {
    using Sink = UpsertSink<redsink::postgres>;
    drop_table("late_start");
    pg_ctl("stop -m fast");
    std::thread restart([] {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        pg_ctl("start");
    });
    Sink sink(test_config(), {.schema = sink_schema, .table = "late_start"});
    restart.join();
    const auto stream = random_stream({.seed = 96, .events = 300});
    write_all(sink, stream);
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("late_start")) == model.rows());

    // A retry budget that runs out: a clear error that says how long it tried.
    pg_ctl("stop -m fast");
    try {
        Sink later(test_config(),
                   {.schema = sink_schema, .table = "late_start", .retry_budget = std::chrono::milliseconds(500)});
        FAIL("the sink started with the server down");
    } catch (const redsink::Error& error) {
        CHECK(error.retryable());
        CHECK_THAT(error.what(), Catch::Contains("starting the sink for sink_test.late_start, after ") &&
                                     Catch::Contains(" attempts in 0."));
    }
    pg_ctl("start");
}

namespace {

// Holds an exclusive lock on `table` for `held`, from another session, until its thread ends.
class LockHolder {
public:
    static std::unique_ptr<LockHolder> take(const std::string& table, std::chrono::milliseconds held) {
        auto holder = std::unique_ptr<LockHolder>(new LockHolder(table));
        holder->start(held);
        return holder;
    }
    ~LockHolder() {
        if (thread_.joinable()) thread_.join();
    }

private:
    explicit LockHolder(const std::string& table) : conn_(reader()) {
        conn_.exec("BEGIN");
        conn_.exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    }
    void start(std::chrono::milliseconds held) {
        thread_ = std::thread([this, held] {
            std::this_thread::sleep_for(held);
            conn_.exec("COMMIT");
        });
    }

    redsink::pq::Connection conn_;
    std::thread thread_;
};

}  // namespace

TEMPLATE_TEST_CASE("a lock held longer than the sink waits: retried until it is free, or a clear error",
                   "[pg][sink][delivery][fault]", redsink::redshift, redsink::postgres) {
    using Sink = UpsertSink<TestType>;
    const std::string dialect(redsink::to_string(Sink::dialect));
    const std::string table = "locked_" + dialect;
    drop_table(table);
    const auto stream = random_stream({.seed = 97, .events = 400});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    // The postgres dialect waits lock_timeout; the redshift dialect, which has none, statement_timeout.
    const auto wait = std::chrono::milliseconds(300);
    const auto options = [&](std::chrono::milliseconds budget) {
        return redsink::SinkOptions{
            .schema = sink_schema,
            .table = table,
            .batch_rows = 100'000,
            .retry_budget = budget,
            .statement_timeout = Sink::dialect == redsink::Dialect::redshift ? wait : std::chrono::milliseconds(0),
            .lock_timeout = wait,
            .trace = sink_trace<Sink>()};
    };
    // What the sink's transaction waits for: the Redshift dialect's own lock table, or the target.
    const auto locked = Sink::dialect == redsink::Dialect::redshift
                            ? redsink::sql::lock_table({sink_schema, table}).display()
                            : qualified(table);
    {
        Sink sink(test_config(), options(std::chrono::seconds(60)));
        for (const auto& change : stream) sink.write(change);
        const auto holder = LockHolder::take(locked, std::chrono::milliseconds(2'000));
        sink.flush();
        CHECK(sink.stats().retries >= 2);
    }
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());

    Sink sink(test_config(), options(std::chrono::milliseconds(1'000)));
    for (const auto& change : stream) sink.write(change);
    {
        const auto holder = LockHolder::take(locked, std::chrono::milliseconds(3'000));
        try {
            sink.flush();
            FAIL("the batch was written while the lock was held");
        } catch (const redsink::Error& error) {
            CHECK(error.retryable());
            CHECK(error.sqlstate() == (Sink::dialect == redsink::Dialect::redshift ? "57014" : "55P03"));
            CHECK_THAT(error.what(), Catch::Contains(qualified(table)) && Catch::Contains(" attempts in 1."));
        }
    }
    sink.flush();  // the lock is free: the kept batch is written
    CHECK(table_rows(conn, qualified(table)) == model.rows());
}

TEMPLATE_TEST_CASE("a row the server refuses is found by bisection: the error names its event", "[pg][sink][delivery]",
                   redsink::redshift, redsink::postgres) {
    using Append = redsink::Sink<Account, AccountKey, redsink::append, redsink::create_table, TestType>;
    using Upsert = UpsertSink<TestType>;
    const std::string dialect(redsink::to_string(TestType::value));
    auto conn = reader();
    auto stream = random_stream({.seed = 98, .events = 1000, .keys = 5000});
    // Every key once, so that the only refusal is the one each section plants.
    for (std::size_t i = 0; i < stream.size(); ++i) {
        stream[i].op = redsink::Op::create;
        stream[i].row.id = static_cast<std::int64_t>(i);
    }
    // A CHECK the 737th event breaks, applied by INSERT ... SELECT from the stage (upsert) or by
    // multi-row INSERTs into the target (the redshift dialect's append).
    stream[737].row.version = -1;
    const auto expected = "event at " + redsink::to_string(stream[737].position) + " (found in ";
    int rollbacks = 0;
    const auto count_rollbacks = [&](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::done && sql == "ROLLBACK") ++rollbacks;
    };
    const auto refused = [&](auto& sink) {
        try {
            for (const auto& change : stream) sink.write(change);
            sink.flush();
        } catch (const redsink::Error& error) {
            return std::string(error.what());
        }
        return std::string("accepted");
    };
    SECTION("upsert through the stage") {
        const std::string table = "bisect_upsert_" + dialect;
        drop_table(table);
        Upsert sink(
            test_config(),
            {.schema = sink_schema, .table = table, .batch_rows = 1000, .trace = sink_trace<Upsert>(count_rollbacks)});
        conn.exec("ALTER TABLE " + qualified(table) + " ADD CONSTRAINT version_not_negative CHECK (version >= 0)");
        const auto text = refused(sink);
        CHECK_THAT(text, Catch::Contains(expected) && Catch::Contains("23514"));
        // The failed attempt's ROLLBACK, then one trial per halving of 1000 rows (ten) and
        // perhaps one more for the row left, each rolled back; nothing written.
        INFO(rollbacks << " rollbacks");
        CHECK(rollbacks >= 11);
        CHECK(rollbacks <= 12);
        CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).template as<int>(0, 0) == 0);
    }
    SECTION("a key twice in append mode, against a unique index: the second is at fault") {
        const std::string table = "bisect_pair_" + dialect;
        drop_table(table);
        stream[737].row.version = 737;
        stream[901].row.id = stream[222].row.id;
        Append sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 1000});
        conn.exec("CREATE UNIQUE INDEX " + table + "_id ON " + qualified(table) + " (id)");
        const auto text = refused(sink);
        CHECK_THAT(text, Catch::Contains("23505"));
        if (TestType::value == redsink::Dialect::redshift)
            CHECK_THAT(text, Catch::Contains("event at " + redsink::to_string(stream[901].position) + " (found in "));
        else  // COPY names the line itself
            CHECK_THAT(text, Catch::Contains("event at " + redsink::to_string(stream[901].position)));
    }
}
