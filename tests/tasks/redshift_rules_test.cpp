// Redshift's transaction rules, reproduced on the PostgreSQL stand-in: sessions that are
// SERIALIZABLE by default, LOCK as the first statement, one COMMIT per batch, prepared statements
// dropped under the sink's feet, what readers of the target see, and a batch held after its
// retries ran out.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;
using redsink::Positions;
using redsink::pq::TracePoint;

namespace {

// Runs the test's own statement on a task's session, out of the trace (and of the grammar check).
redsink::pq::Result untraced(redsink::pq::Connection& conn, const std::string& sql) {
    const auto trace = conn.trace();
    conn.set_trace({});
    struct Restore {
        redsink::pq::Connection& conn;
        const redsink::pq::TraceHook& trace;
        ~Restore() { conn.set_trace(trace); }
    } restore{conn, trace};
    return conn.exec(sql);
}

template <class Dialect>
using UpsertSink =
    redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table, Dialect>;

// The statements each thread sent, in order, and what the trace saw across threads.
class StatementAudit {
public:
    redsink::pq::TraceHook hook(redsink::pq::TraceHook then = {}) {
        return [this, then = std::move(then)](TracePoint point, std::string_view sql) {
            if (point == TracePoint::sending) {
                log_redshift_sending(sql);
                const std::lock_guard lock(mutex_);
                auto& previous = last_[std::this_thread::get_id()];
                if (previous == "BEGIN" && !sql.starts_with("LOCK TABLE")) ++lock_not_first_;
                if (sql.starts_with("TRUNCATE")) ++truncates_;
                if (sql.starts_with("DEALLOCATE")) ++deallocations_;
                previous = std::string(sql.substr(0, 16));
            }
            if (point == TracePoint::done && sql == "COMMIT") {
                const std::lock_guard lock(mutex_);
                ++commits_;
            }
            if (point == TracePoint::failed) {
                const std::lock_guard lock(mutex_);
                failed_.emplace_back(sql.substr(0, 60));
            }
            if (then) then(point, sql);
        };
    }
    [[nodiscard]] int commits() const { return commits_; }
    [[nodiscard]] int lock_not_first() const { return lock_not_first_; }
    [[nodiscard]] int truncates() const { return truncates_; }
    [[nodiscard]] int deallocations() const { return deallocations_; }
    // The statements that failed, as "sql; sql; ...".
    [[nodiscard]] std::string failed() const {
        std::string out;
        for (const auto& sql : failed_) out += sql + "; ";
        return out;
    }

private:
    std::mutex mutex_;
    std::map<std::thread::id, std::string> last_;
    int commits_ = 0;
    int lock_not_first_ = 0;
    int truncates_ = 0;
    int deallocations_ = 0;
    std::vector<std::string> failed_;
};

struct SerializableRun {
    std::size_t tasks = 1;
    redsink::ApplyLock lock = redsink::ApplyLock::sink_table;
    int kills = 0;  // backends killed part-way
};

// 20,000 upserts and deletes over 700 keys in batches of 400 through the Redshift dialect, into a
// database whose sessions are SERIALIZABLE: the table ends as the model says, and no batch runs
// out of retries.
void check_serializable(const SerializableRun& run) {
    using Sink = UpsertSink<redsink::redshift>;
    const auto config = serializable_config();
    const std::string table = "serializable_" + std::to_string(run.tasks) + "_" +
                              (run.lock == redsink::ApplyLock::target ? "target" : "own") +
                              (run.kills > 0 ? "_killed" : "");
    redsink::pq::Connection admin(config);
    admin.exec("DROP TABLE IF EXISTS sink_test." + table);
    const auto stream = random_stream({.seed = 301, .events = 20'000, .keys = 700});
    StatementAudit audit;
    std::mutex kill_mutex;
    int fills = 0;
    int killed = 0;
    auto task_config = config;
    task_config.application_name = "redsink_" + table;
    redsink::pq::Connection killer(config);
    std::vector<std::string> isolation;
    std::mutex isolation_mutex;
    redsink::SinkStats stats;
    {
        Sink sink(
            task_config,
            {.schema = sink_schema,
             .table = table,
             .batch_rows = 400,
             .tasks = run.tasks,
             .lock = run.lock,
             .trace = audit.hook([&](TracePoint point, std::string_view sql) {
                 if (run.kills == 0 || point != TracePoint::sending ||
                     !sql.starts_with("INSERT INTO \"redsink_stage\""))
                     return;
                 const std::lock_guard lock(kill_mutex);
                 if (++fills % 23 != 0 || killed >= run.kills) return;
                 // A task loses its session in the middle of filling its stage.
                 killer.exec(
                     "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name LIKE $1 "
                     "AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1",
                     task_config.application_name + "%");
                 ++killed;
             }),
             .session_hook = [&](redsink::pq::Connection& conn, redsink::SessionPoint point) {
                 if (point != redsink::SessionPoint::before_batch) return;
                 const auto level = std::string(untraced(conn, "SHOW transaction_isolation").get(0, 0));
                 const std::lock_guard lock(isolation_mutex);
                 isolation.push_back(level);
             }});
        write_all(sink, stream);
        stats = sink.stats();
    }
    INFO("tasks " << run.tasks << ", retries " << stats.retries << ", reconnects " << stats.reconnects);
    REQUIRE_FALSE(isolation.empty());
    for (const auto& level : isolation) CHECK(level == "serializable");
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    CHECK(table_rows(admin, qualified(table)) == model.rows());
    // One COMMIT per batch, LOCK right after every BEGIN, never a TRUNCATE.
    CHECK(audit.commits() == static_cast<int>(stats.batches));
    CHECK(audit.lock_not_first() == 0);
    CHECK(audit.truncates() == 0);
    CHECK(stats.events + stats.events_ignored + stats.events_pending == stats.events_in);
    CHECK(stats.events_pending == 0);
    CHECK(killed == run.kills);
    INFO("failed statements: " << audit.failed());
    if (run.kills > 0)
        CHECK(stats.reconnects + stats.retries >= static_cast<std::size_t>(run.kills));
    else
        // With LOCK first, serialization failures are rare: none in dozens of runs here, 2 to 4 in
        // a few runs with 8 tasks on a loaded machine. With the lock taken after the stage is
        // filled, 85 to 240 of them: the bound tells the two apart without depending on the load.
        CHECK(stats.retries <= 20);
}

}  // namespace

TEST_CASE("serializable sessions: 1, 4 and 8 Redshift-dialect tasks end in the model's table",
          "[pg][redshift_rules][serializable]") {
    for (const std::size_t tasks : {1, 4, 8}) check_serializable({.tasks = tasks});
}

TEST_CASE("serializable sessions: 4 tasks while backends are killed", "[pg][redshift_rules][serializable]") {
    check_serializable({.tasks = 4, .kills = 3});
}

TEST_CASE("serializable sessions: 4 tasks locking the target instead of the sink's own table",
          "[pg][redshift_rules][serializable]") {
    check_serializable({.tasks = 4, .lock = redsink::ApplyLock::target});
}

TEST_CASE("prepared statements dropped under the sink's feet are prepared again", "[pg][redshift_rules]") {
    using Sink = UpsertSink<redsink::redshift>;
    drop_table("deallocated");
    const auto stream = random_stream({.seed = 302, .events = 3000, .keys = 200});
    StatementAudit audit;
    int between = 0;
    int after_failure = 0;
    redsink::SinkStats stats;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = "deallocated",
                                  .batch_rows = 250,
                                  .trace = audit.hook(),
                                  .session_hook = [&](redsink::pq::Connection& conn, redsink::SessionPoint point) {
                                      // Between batches, and after the failed attempt that this causes.
                                      untraced(conn, "DEALLOCATE ALL");
                                      ++(point == redsink::SessionPoint::before_batch ? between : after_failure);
                                  }});
        write_all(sink, stream);
        stats = sink.stats();
    }
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("deallocated")) == model.rows());
    CHECK(between == static_cast<int>(stats.batches));
    // A batch that finds the shapes it needs gone (SQLSTATE 26000) rolls back and retries; only a
    // batch whose every shape is new to the session escapes.
    CHECK(stats.retries >= stats.batches / 2);
    CHECK(after_failure == static_cast<int>(stats.retries));
    CHECK(audit.commits() == static_cast<int>(stats.batches));
}

TEST_CASE("the stage is recreated inside the transaction, and its statements prepared again after the DDL",
          "[pg][redshift_rules]") {
    using Sink = UpsertSink<redsink::redshift>;
    const auto stream = random_stream({.seed = 303, .events = 3000, .keys = 200});
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    for (const std::size_t recreate : {std::size_t{1}, std::size_t{1'000'000}}) {
        INFO("stage_recreate_batches " << recreate);
        const std::string table = "recreated_" + std::to_string(recreate);
        drop_table(table);
        StatementAudit audit;
        int drops = 0;
        redsink::SinkStats stats;
        {
            Sink sink(test_config(), {.schema = sink_schema,
                                      .table = table,
                                      .batch_rows = 250,
                                      .stage_recreate_batches = recreate,
                                      .trace = audit.hook([&](TracePoint point, std::string_view sql) {
                                          if (point == TracePoint::sending && sql == "DROP TABLE \"redsink_stage\"")
                                              ++drops;
                                      })});
            write_all(sink, stream);
            stats = sink.stats();
        }
        auto conn = reader();
        CHECK(table_rows(conn, qualified(table)) == model.rows());
        CHECK(audit.commits() == static_cast<int>(stats.batches));
        CHECK(audit.truncates() == 0);
        if (recreate == 1) {
            CHECK(drops == static_cast<int>(stats.batches) - 1);
            // The shapes the DDL made Redshift forget are freed before the next transaction.
            CHECK(audit.deallocations() >= drops - 1);
        } else {
            CHECK(drops == 0);
            CHECK(audit.deallocations() == 0);
        }
    }
}

TEST_CASE("readers of the target do not wait for the sink's own lock; ApplyLock::target makes them wait",
          "[pg][redshift_rules]") {
    using Sink = UpsertSink<redsink::redshift>;
    const auto stream = random_stream({.seed = 304, .events = 600, .keys = 100});
    for (const auto lock : {redsink::ApplyLock::sink_table, redsink::ApplyLock::target}) {
        const bool own = lock == redsink::ApplyLock::sink_table;
        const std::string table = own ? "readers_own" : "readers_target";
        drop_table(table);
        auto watcher = reader();
        auto dashboard = reader();
        dashboard.exec("SET lock_timeout = '300ms'");
        // Counted on the task's thread, checked here afterwards.
        int reads = 0;
        int blocked = 0;
        int unseen = 0;
        std::vector<std::string> refusals;
        {
            Sink sink(test_config(),
                      {.schema = sink_schema,
                       .table = table,
                       .batch_rows = 200,
                       .lock = lock,
                       .trace = [&](TracePoint point, std::string_view sql) {
                           if (point != TracePoint::sending || sql != "COMMIT") return;
                           // The batch's transaction holds its lock now: wait until the server shows it
                           // granted, then read the target as a dashboard would.
                           const auto locked = own ? redsink::sql::lock_table({sink_schema, table}).table : table;
                           const bool granted = eventually([&] {
                               return !watcher
                                           .exec(
                                               "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                               "WHERE c.relname = $1 AND l.mode = 'AccessExclusiveLock' AND "
                                               "l.granted",
                                               locked)
                                           .empty();
                           });
                           if (!granted) ++unseen;
                           ++reads;
                           try {
                               dashboard.exec("SELECT count(*) FROM " + qualified(table));
                           } catch (const redsink::Error& error) {
                               refusals.push_back(error.sqlstate());
                               ++blocked;
                           }
                       }});
            write_all(sink, stream);
        }
        INFO((own ? "sink_table" : "target"));
        CHECK(unseen == 0);
        CHECK(reads >= 3);
        for (const auto& sqlstate : refusals) CHECK(sqlstate == "55P03");  // lock_timeout
        CHECK(blocked == (own ? 0 : reads));
        Model model(InsertKind::upsert, DeleteKind::hard);
        model.apply(stream);
        CHECK(table_rows(watcher, qualified(table)) == model.rows());
    }
}
