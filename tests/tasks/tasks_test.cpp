// Tasks: several background writers, with per-key order, exact acknowledgements and
// Redshift-safe locking. Built a second time under ThreadSanitizer (REDSINK_SANITIZE_THREAD).
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace redsink_test;
using redsink::Positions;
using redsink::pq::TracePoint;

namespace {

template <class Dialect>
using UpsertSink =
    redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table, Dialect>;

// Checks, from inside on_commit, that the acknowledged positions pass no uncommitted event: for
// every key, the table must show the effect of the key's last acknowledged event or of a later
// event of that key (a key's events are written in order by one task).
class AckAudit {
public:
    AckAudit(const std::vector<AccountChange>& stream, std::string table) : table_(std::move(table)) {
        for (std::size_t i = 0; i < stream.size(); ++i) by_key_[stream[i].row.id].push_back(&stream[i]);
    }

    // The table must explain every key's last acknowledged event.
    void check(const Positions& acked) {
        ++calls_;
        for (const auto& [partition, offset] : previous_)
            if (acked.count(partition) == 0 || acked.at(partition) < offset)
                problems_.push_back("acknowledged positions went back in partition " + std::to_string(partition));
        previous_ = acked;
        std::map<std::int64_t, std::int64_t> table;  // id -> version
        const auto rows = conn_.exec("SELECT id, version FROM " + table_);
        for (int row = 0; row < rows.rows(); ++row)
            table[rows.as<std::int64_t>(row, 0)] = rows.as<std::int64_t>(row, 1);
        for (const auto& [id, events] : by_key_) {
            const auto found = acked.find(events.front()->position.partition);
            if (found == acked.end()) continue;
            std::size_t last = events.size();
            for (std::size_t i = 0; i < events.size(); ++i)
                if (events[i]->position.offset <= found->second) last = i;
            if (last == events.size()) continue;
            const auto row = table.find(id);
            bool explained = false;
            for (std::size_t i = last; i < events.size() && !explained; ++i) {
                const bool removes = redsink::is_delete(events[i]->op);
                explained = removes ? row == table.end() : row != table.end() && row->second == events[i]->row.version;
            }
            if (!explained)
                problems_.push_back("key " + std::to_string(id) + " acknowledged through offset " +
                                    std::to_string(events[last]->position.offset) + " but not committed");
        }
    }

    std::function<void(const Positions&)> callback() {
        return [this](const Positions& acked) {
            if (++inside_ > 1) overlapping_ = true;
            check(acked);
            --inside_;
        };
    }

    void verify() const {
        CHECK(calls_ > 0);
        CHECK_FALSE(overlapping_);
        CHECK(problems_.empty());
        for (const auto& problem : problems_) INFO(problem);
    }

private:
    std::string table_;
    std::map<std::int64_t, std::vector<const AccountChange*>> by_key_;
    redsink::pq::Connection conn_ = reader();
    Positions previous_;
    std::atomic<int> inside_{0};
    bool overlapping_ = false;
    int calls_ = 0;
    std::vector<std::string> problems_;
};

template <class Dialect>
void check_tasks(std::size_t tasks) {
    using Sink = UpsertSink<Dialect>;
    const std::string table = "tasks_" + std::string(redsink::to_string(Sink::dialect)) + "_" + std::to_string(tasks);
    drop_table(table);
    const auto stream = random_stream({.seed = 202, .events = 3000, .keys = 200});
    AckAudit audit(stream, qualified(table));
    std::mutex trace_mutex;
    std::size_t locks = 0;
    std::size_t commits = 0;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 240 / tasks,  // a batch is one task's
                                  .tasks = tasks,
                                  .trace = sink_trace<Sink>([&](TracePoint point, std::string_view sql) {
                                      if (point != TracePoint::done) return;
                                      const std::lock_guard lock(trace_mutex);
                                      locks += sql.starts_with("LOCK TABLE") ? 1 : 0;
                                      commits += sql == "COMMIT" ? 1 : 0;
                                  })});
        sink.on_commit(audit.callback());
        write_all(sink, stream);
        const auto stats = sink.stats();
        CHECK(stats.tasks.size() == tasks);
        std::size_t events = 0;
        for (const auto& task : stats.tasks) {
            CHECK(task.events > 0);
            events += task.events;
        }
        CHECK(events <= stats.events_in);  // ignored deletes go to no task
        CHECK(stats.batches == commits);
        if (Sink::dialect == redsink::Dialect::redshift)
            CHECK(locks == commits);
        else
            CHECK(locks == 0);
    }
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    audit.verify();
}

}  // namespace

TEMPLATE_TEST_CASE("tasks = 1, 2, 4, 8: the final table equals the model, acknowledgements stay exact", "[pg][tasks]",
                   redsink::redshift, redsink::postgres) {
    for (const std::size_t tasks : {1, 2, 4, 8}) {
        INFO("tasks = " << tasks);
        check_tasks<TestType>(tasks);
    }
}

TEST_CASE("append without a key spreads rows over every task", "[pg][tasks]") {
    using Sink = redsink::Sink<Account, redsink::append, redsink::create_table, redsink::postgres>;
    drop_table("tasks_keyless");
    const auto stream = random_stream({.seed = 203, .events = 2000});
    Sink sink(test_config(), {.schema = sink_schema, .table = "tasks_keyless", .batch_rows = 300, .tasks = 3});
    write_all(sink, stream);
    for (const auto& task : sink.stats().tasks) CHECK(task.events > 300);
    Model model(InsertKind::append, DeleteKind::ignore);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("tasks_keyless")) == model.rows());
}

TEMPLATE_TEST_CASE("a task whose connection is killed recovers; the others go on", "[pg][tasks][fault]",
                   redsink::redshift, redsink::postgres) {
    using Sink = UpsertSink<TestType>;
    const std::string table = "tasks_killed_" + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    auto config = test_config();
    config.application_name = "redsink_" + table;
    auto killer = reader();
    std::mutex kill_mutex;
    int fills = 0;
    int kills = 0;
    const auto stream = random_stream({.seed = 204, .events = 3000, .keys = 300});
    Sink sink(config,
              {.schema = sink_schema,
               .table = table,
               .batch_rows = 100,
               .tasks = 4,
               .trace = sink_trace<Sink>([&](TracePoint point, std::string_view sql) {
                   const bool fill =
                       sql.starts_with("INSERT INTO \"redsink_stage\"") || sql.starts_with("COPY \"redsink_stage\"");
                   if (point != TracePoint::sending || !fill) return;
                   const std::lock_guard lock(kill_mutex);
                   if (++fills != 6 || kills > 0) return;
                   // Task 2 loses its session while the tasks fill their stages.
                   killer.exec(
                       "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1",
                       config.application_name + "/2");
                   ++kills;
               })});
    write_all(sink, stream);
    const auto stats = sink.stats();
    CHECK(kills == 1);
    // Lost mid-batch (a retry) or between batches (the next batch reconnects first).
    CHECK(stats.tasks[1].reconnects >= 1);
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    CHECK(table_rows(killer, qualified(table)) == model.rows());
    Positions last;
    for (const auto& change : stream) last[change.position.partition] = change.position.offset;
    CHECK(stats.acknowledged == last);
}

TEST_CASE("a bad value is refused by write(), naming table and position; what came before is written", "[pg][tasks]") {
    using Sink = UpsertSink<redsink::postgres>;
    drop_table("tasks_bad");
    auto stream = random_stream({.seed = 205, .events = 2000, .keys = 400});
    stream[1500].op = redsink::Op::update;
    stream[1500].row.note = std::string("bad \xFF byte");
    const auto bad = stream[1500].position;
    Positions acked;
    AckAudit audit(stream, qualified("tasks_bad"));
    Sink sink(test_config(), {.schema = sink_schema, .table = "tasks_bad", .batch_rows = 25, .tasks = 4});
    sink.on_commit([&](const Positions& done) {
        acked = done;
        audit.callback()(done);
    });
    std::size_t taken = 0;
    bool surfaced = false;
    try {
        for (const auto& change : stream) {
            sink.write(change);
            ++taken;
        }
        sink.flush();
    } catch (const redsink::BadValue& error) {
        surfaced = true;
        CHECK(error.column() == "note");
        CHECK(error.position() == bad);
        CHECK_THAT(error.what(), Catch::Contains("sink_test.tasks_bad") && Catch::Contains(redsink::to_string(bad)));
    }
    CHECK(surfaced);
    CHECK(taken == 1500);  // the bad event was not taken
    CHECK_THROWS_WITH(sink.write(stream[0]), Catch::Contains("stopped after an earlier error"));
    CHECK_THROWS_WITH(sink.flush(), Catch::Contains("stopped after an earlier error"));
    // The batches handed over before the bad event (each task's, at 25 rows) are committed and
    // acknowledged; each task's unfinished batch is not.
    const auto stats = sink.stats();
    CHECK(stats.events + stats.events_ignored + stats.events_pending == stats.events_in);
    CHECK(stats.events_in == 1500);
    CHECK(stats.events >= 1500 - 4 * 24);
    CHECK(stats.batches >= 56);
    // Nothing at or after the bad event is acknowledged in its partition, then or later, and the
    // table holds what was acknowledged.
    if (acked.count(bad.partition) > 0) CHECK(acked.at(bad.partition) < bad.offset);
    CHECK_FALSE(acked.empty());
    audit.verify();
}

TEST_CASE("a row the server refuses stops the sink from the next call, naming the task, table and events",
          "[pg][tasks]") {
    using Sink = UpsertSink<redsink::postgres>;
    drop_table("tasks_refused");
    auto stream = random_stream({.seed = 207, .events = 2000, .keys = 400});
    // The last event of its key from 1500 on (an earlier one would be reduced away).
    std::size_t victim = 1500;
    const auto later = [&](std::size_t i) {
        for (std::size_t j = i + 1; j < stream.size(); ++j)
            if (stream[j].row.id == stream[i].row.id) return true;
        return false;
    };
    while (later(victim)) ++victim;
    stream[victim].op = redsink::Op::update;
    stream[victim].row.version = -7;
    const auto bad = stream[victim].position;
    Positions acked;
    Sink sink(test_config(), {.schema = sink_schema, .table = "tasks_refused", .batch_rows = 100, .tasks = 4});
    auto conn = reader();
    conn.exec("ALTER TABLE sink_test.tasks_refused ADD CONSTRAINT version_not_negative CHECK (version >= 0)");
    sink.on_commit([&](const Positions& done) { acked = done; });
    bool surfaced = false;
    try {
        for (const auto& change : stream) sink.write(change);
        sink.flush();
    } catch (const redsink::Error& error) {
        surfaced = true;
        CHECK(error.sqlstate() == "23514");
        CHECK(error.kind() == redsink::ErrorKind::constraint);
        CHECK_THAT(error.what(), Catch::Contains("sink_test.tasks_refused") && Catch::Contains("task ") &&
                                     Catch::Contains(" of 4: ") &&
                                     Catch::Contains("partition " + std::to_string(bad.partition)));
    }
    CHECK(surfaced);
    CHECK_THROWS_WITH(sink.write(stream[0]), Catch::Contains("stopped after an earlier error"));
    CHECK_THROWS_WITH(sink.flush(), Catch::Contains("stopped after an earlier error"));
    // Nothing at or after the refused event is acknowledged in its partition, then or later.
    if (acked.count(bad.partition) > 0) CHECK(acked.at(bad.partition) < bad.offset);
    CHECK(conn.exec("SELECT count(*) FROM sink_test.tasks_refused WHERE version < 0").as<int>(0, 0) == 0);
}

TEST_CASE("destroying a sink with batches in flight joins its tasks", "[pg][tasks]") {
    using Sink = UpsertSink<redsink::redshift>;
    drop_table("tasks_destroyed");
    const auto stream = random_stream({.seed = 206, .events = 3000});
    AckAudit audit(stream, qualified("tasks_destroyed"));
    Positions acked;
    std::mutex acked_mutex;
    {
        Sink sink(test_config(), {.schema = sink_schema, .table = "tasks_destroyed", .batch_rows = 200, .tasks = 4});
        sink.on_commit([&](const Positions& done) {
            const std::lock_guard lock(acked_mutex);
            acked = done;
        });
        for (const auto& change : stream) sink.write(change);
    }
    // Whatever was acknowledged before the sink went away is in the table.
    audit.check(acked);
    audit.verify();
}
