// The Kafka front end on librdkafka's mock cluster, writing into a real PostgreSQL: offsets
// committed only for what the warehouse committed, a restart resuming there, a broker down,
// two consumers sharing a group and one leaving, a SIGTERM mid-stream, and exactly_once seeking
// to the table's positions. Every final table is checked against the producer's model.
#include <kafka/mock.hpp>
#include <support/sink.hpp>

#include <redsink/kafka.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using redsink_test::dbz::Customer;
using redsink_test::kafka::CustomerStream;
using redsink_test::kafka::MockCluster;
using namespace std::chrono_literals;

namespace {

using UpsertSink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                 redsink::create_table, redsink::postgres>;
using AppendSink = redsink::Sink<Customer, redsink::append, redsink::create_table, redsink::postgres>;
using OnceSink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                               redsink::create_table, redsink::exactly_once, redsink::postgres>;
// Append mode: an event written twice would be two rows.
using OnceAppendSink =
    redsink::Sink<Customer, redsink::append, redsink::create_table, redsink::exactly_once, redsink::postgres>;

const std::string topic = "dbserver1.inventory.customers";

redsink::SinkOptions options_for(const std::string& table) {
    redsink::SinkOptions options{.schema = redsink_test::sink_schema, .table = table, .batch_rows = 200};
    options.flush_interval = 200ms;
    return options;
}

std::vector<std::string> table_rows(const std::string& table) {
    auto conn = redsink_test::reader();
    const auto result = conn.exec("SELECT id, first_name, last_name, coalesce(email, '<NULL>') FROM " +
                                  redsink_test::qualified(table) + " ORDER BY id, first_name");
    std::vector<std::string> rows;
    for (int row = 0; row < result.rows(); ++row)
        rows.push_back(
            fmt::format("{}|{}|{}|{}", result.get(row, 0), result.get(row, 1), result.get(row, 2), result.get(row, 3)));
    return rows;
}

// The rows of one side that the other lacks, for a failure's message.
std::string differences(const std::vector<std::string>& actual, const std::vector<std::string>& expected) {
    std::string out;
    for (const auto& row : actual)
        if (std::find(expected.begin(), expected.end(), row) == expected.end()) out += "  table only: " + row + "\n";
    for (const auto& row : expected)
        if (std::find(actual.begin(), actual.end(), row) == actual.end()) out += "  model only: " + row + "\n";
    return out;
}

std::vector<std::string> model_rows(const std::map<std::int32_t, Customer>& model) {
    std::vector<std::string> rows;
    for (const auto& [id, row] : model)
        rows.push_back(fmt::format("{}|{}|{}|{}", row.id, row.first_name, row.last_name, row.email.value_or("<NULL>")));
    return rows;
}

// Polls until `done()` holds, for at most `limit` (a bound against a hang, not a timing expectation).
bool poll_until(redsink::kafka::Connector& connector, const std::function<bool()>& done,
                std::chrono::seconds limit = 60s) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        connector.poll();
    }
    return true;
}

std::atomic<bool> terminate_requested{false};
extern "C" void on_terminate(int) {
    terminate_requested.store(true);
}

}  // namespace

TEST_CASE("offsets are committed for what the table holds, and a new consumer resumes there", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 3);
    CustomerStream stream(cluster, topic, 3, 11);
    stream.produce(3000, 400);
    redsink_test::drop_table("kafka_resume");
    {
        UpsertSink sink(redsink_test::test_config(), options_for("kafka_resume"));
        redsink::kafka::Connector connector({.properties = cluster.consumer("resume")});
        connector.route<Customer>(topic, sink);
        REQUIRE(poll_until(connector, [&] { return connector.progress().messages == 3000; }));
        connector.close();
        CHECK(sink.stats().events_pending == 0);
    }
    CHECK(table_rows("kafka_resume") == model_rows(stream.model()));
    CHECK(cluster.committed("resume", topic, 3) == stream.ends());

    const auto before = stream.ends();
    stream.produce(1000, 400);
    UpsertSink sink(redsink_test::test_config(), options_for("kafka_resume"));
    // With librdkafka's statistics, to on_statistics on the polling thread.
    auto properties = cluster.consumer("resume");
    properties["statistics.interval.ms"] = "100";
    std::vector<std::string> statistics;
    const auto polling = std::this_thread::get_id();
    redsink::kafka::Connector connector({.properties = properties, .on_statistics = [&](std::string_view json) {
                                             CHECK(std::this_thread::get_id() == polling);
                                             statistics.emplace_back(json);
                                         }});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return connector.progress().messages >= 1000; }));
    // Nothing read twice: a few more polls find nothing.
    for (int i = 0; i < 10; ++i) connector.poll();
    const auto progress = connector.progress();
    CHECK(progress.messages == 1000);
    CHECK(progress.offset_commits >= 1);
    for (const auto& [where, partition] : progress.partitions) {
        CHECK(partition.next_offset == stream.ends()[static_cast<std::size_t>(where.partition)]);
        CHECK(partition.high_watermark == stream.ends()[static_cast<std::size_t>(where.partition)]);
        CHECK(partition.lag == 0);
    }
    // totals(): progress() without the rate; sink_stats(): the sink's stats by topic.
    const auto totals = connector.totals();
    CHECK(totals.messages == 1000);
    CHECK(totals.messages_per_second == 0);
    CHECK(totals.partitions.size() == progress.partitions.size());
    const auto stats = connector.sink_stats();
    REQUIRE(stats.size() == 1);
    CHECK(stats.at(topic).events_in == 1000);
    REQUIRE(poll_until(connector, [&] { return !statistics.empty(); }));
    CHECK_THAT(statistics.back(), Catch::StartsWith("{") && Catch::Contains("\"rxmsgs\":"));
    connector.close();
    CHECK(sink.stats().events_in == 1000);
    CHECK(table_rows("kafka_resume") == model_rows(stream.model()));
    CHECK(cluster.committed("resume", topic, 3) == stream.ends());
    CHECK(before != stream.ends());
}

TEST_CASE("a broker down for 2 s: the connector recovers, nothing is lost", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 12);
    stream.produce(4000, 500);
    redsink_test::drop_table("kafka_broker_down");
    UpsertSink sink(redsink_test::test_config(), options_for("kafka_broker_down"));
    redsink::kafka::Connector connector({.properties = cluster.consumer("down"), .commit_interval = 100ms});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return connector.progress().messages >= 1000; }));
    cluster.broker_down(1);
    const auto up_at = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < up_at) connector.poll();
    cluster.broker_up(1);
    // The mock forgets the group's members when its broker comes back: the consumer finds its
    // assignment lost, rejoins, and reads again from the last committed offsets.
    const bool committed = poll_until(
        connector, [&] { return stream.caught_up(connector.progress(), "down"); }, 90s);
    const auto seen = connector.progress();
    for (const auto& [where, partition] : seen.partitions)
        UNSCOPED_INFO("partition " << where.partition << ": next " << partition.next_offset << ", acknowledged "
                                   << partition.acknowledged << ", committed " << partition.committed << ", end "
                                   << stream.ends()[static_cast<std::size_t>(where.partition)]);
    UNSCOPED_INFO("commits " << seen.offset_commits << ", failed " << seen.commit_failures << ", last error "
                             << seen.last_consumer_error << ", rebalances " << seen.rebalances);
    REQUIRE(committed);
    connector.close();
    const auto progress = connector.progress();
    INFO("commits " << progress.offset_commits << ", failed " << progress.commit_failures << ", last error "
                    << progress.last_consumer_error);
    CHECK(table_rows("kafka_broker_down") == model_rows(stream.model()));
    CHECK(cluster.committed("down", topic, 2) == stream.ends());
}

TEST_CASE("a partition assigned again with nothing read is caught up only where Kafka holds its end", "[kafka]") {
    // What the tests' waits count as done: after a lost assignment whose last commit failed, a
    // partition is held again with everything acknowledged and nothing read yet, and will be read
    // again from the group's offset; the same progress after a revoke that committed is done.
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 14);
    stream.produce(200, 30);
    redsink::kafka::Progress assigned_again;
    for (int p = 0; p < 2; ++p)
        assigned_again.partitions[{topic, p}] = {.acknowledged = stream.ends()[static_cast<std::size_t>(p)] - 1};
    CHECK_FALSE(stream.caught_up(assigned_again, "again"));

    redsink_test::drop_table("kafka_again");
    UpsertSink sink(redsink_test::test_config(), options_for("kafka_again"));
    redsink::kafka::Connector connector({.properties = cluster.consumer("again")});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "again"); }));
    connector.close();
    CHECK(stream.caught_up(assigned_again, "again"));
    CHECK_FALSE(stream.caught_up(assigned_again, "another"));
    auto read_one_less = assigned_again;
    read_one_less.partitions.begin()->second.committed = stream.ends()[0] - 1;
    CHECK_FALSE(stream.caught_up(read_one_less, "again"));
}

TEST_CASE("two consumers in one group share the partitions; one leaves, the other takes them over", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 4);
    CustomerStream stream(cluster, topic, 4, 13);
    redsink_test::drop_table("kafka_group");

    // Each member polls on its own thread and publishes what it holds and has acknowledged.
    struct Member {
        std::atomic<bool> stop{false};
        std::mutex mutex;
        redsink::kafka::Progress progress;
        std::uint64_t messages = 0;
        std::string failure;
        std::thread thread;
    };
    const auto start = [&](Member& member) {
        member.thread = std::thread([&cluster, &member] {
            try {
                UpsertSink sink(redsink_test::test_config(), options_for("kafka_group"));
                redsink::kafka::Connector connector({.properties = cluster.consumer("group")});
                connector.route<Customer>(topic, sink);
                while (!member.stop.load()) {
                    connector.poll();
                    const std::lock_guard lock(member.mutex);
                    member.progress = connector.progress();
                    member.messages = member.progress.messages;
                }
                connector.close();
            } catch (const std::exception& error) {
                const std::lock_guard lock(member.mutex);
                member.failure = error.what();
            }
        });
    };
    const auto holds = [](Member& member) {
        const std::lock_guard lock(member.mutex);
        return member.progress.partitions.size();
    };
    // Acknowledged offsets of the partitions the members hold, merged.
    const auto all_caught_up = [&](std::initializer_list<Member*> members) {
        redsink::kafka::Progress merged;
        for (auto* member : members) {
            const std::lock_guard lock(member->mutex);
            for (const auto& [where, partition] : member->progress.partitions) merged.partitions[where] = partition;
        }
        return stream.caught_up(merged, "group");
    };
    const auto wait = [](const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + 90s;
        while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(20ms);
        return done();
    };

    Member a, b;
    start(a);
    start(b);
    CHECK(wait([&] { return holds(a) + holds(b) == 4 && holds(a) > 0 && holds(b) > 0; }));
    stream.produce(3000, 600);
    CHECK(wait([&] { return all_caught_up({&a, &b}); }));
    {
        const std::lock_guard lock_a(a.mutex), lock_b(b.mutex);
        CHECK(a.messages > 0);
        CHECK(b.messages > 0);
        CHECK(a.messages + b.messages >= 3000);
    }
    b.stop = true;
    b.thread.join();
    INFO("member b: " << b.failure);
    CHECK(b.failure.empty());
    stream.produce(2000, 600);
    const bool a_took_over = wait([&] { return holds(a) == 4 && all_caught_up({&a}); });
    {
        const std::lock_guard lock(a.mutex);
        for (const auto& [where, partition] : a.progress.partitions)
            UNSCOPED_INFO("a holds partition " << where.partition << ": next " << partition.next_offset
                                               << ", acknowledged " << partition.acknowledged << ", committed "
                                               << partition.committed << ", end "
                                               << stream.ends()[static_cast<std::size_t>(where.partition)]);
        UNSCOPED_INFO("a: commits " << a.progress.offset_commits << ", failed " << a.progress.commit_failures
                                    << ", rebalances " << a.progress.rebalances << ", last error "
                                    << a.progress.last_consumer_error);
    }
    CHECK(a_took_over);
    a.stop = true;
    a.thread.join();
    INFO("member a: " << a.failure);
    CHECK(a.failure.empty());
    const auto rows = table_rows("kafka_group");
    INFO(differences(rows, model_rows(stream.model())));
    CHECK(rows == model_rows(stream.model()));
    CHECK(cluster.committed("group", topic, 4) == stream.ends());
}

TEST_CASE("SIGTERM mid-stream: flush, commit, leave; the restart appends every event once", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 3);
    CustomerStream stream(cluster, topic, 3, 14);
    stream.produce_creates(6000);
    redsink_test::drop_table("kafka_sigterm");
    const auto previous = std::signal(SIGTERM, on_terminate);
    terminate_requested = false;
    std::uint64_t first_run = 0;
    {
        AppendSink sink(redsink_test::test_config(), options_for("kafka_sigterm"));
        redsink::kafka::Connector connector({.properties = cluster.consumer("sigterm")});
        connector.route<Customer>(topic, sink);
        // The signal arrives from another thread while run() polls.
        std::atomic<bool> started{false};
        std::thread signaller([&] {
            while (!started.load()) std::this_thread::sleep_for(5ms);
            std::this_thread::sleep_for(100ms);
            std::raise(SIGTERM);
        });
        started = true;
        connector.run(terminate_requested);
        signaller.join();
        first_run = sink.stats().events_in;
        CHECK(sink.stats().events_pending == 0);
    }
    std::signal(SIGTERM, previous);
    INFO("events written before the signal: " << first_run);
    CHECK(first_run < 6000);
    {
        AppendSink sink(redsink_test::test_config(), options_for("kafka_sigterm"));
        redsink::kafka::Connector connector({.properties = cluster.consumer("sigterm")});
        connector.route<Customer>(topic, sink);
        REQUIRE(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "sigterm"); }));
        connector.close();
        CHECK(sink.stats().events_in == 6000 - first_run);
    }
    // Appended: a row per event, none twice.
    CHECK(table_rows("kafka_sigterm") == model_rows(stream.model()));
}

TEST_CASE("a stop while the database refuses: the batch is given up, only what was committed is", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 15);
    stream.produce_creates(500);
    redsink_test::drop_table("kafka_give_up");
    std::stop_source stop;
    auto options = options_for("kafka_give_up");
    options.lock_timeout = 100ms;  // each attempt fails on the lock below, and is tried again
    options.stop = stop.get_token();
    AppendSink sink(redsink_test::test_config(), options);
    redsink::kafka::Connector connector({.properties = cluster.consumer("give_up")});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "give_up"); }));
    const auto committed = stream.ends();
    auto locker = redsink_test::reader();
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE " + redsink_test::qualified("kafka_give_up") + " IN ACCESS EXCLUSIVE MODE");
    stream.produce_creates(300);
    REQUIRE(poll_until(connector, [&] { return connector.progress().messages == 800; }));
    std::thread stopper([&] {
        std::this_thread::sleep_for(500ms);
        stop.request_stop();
    });
    const auto from = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(connector.close(), Catch::Contains("the sink was stopped (SinkOptions::stop)"));
    CHECK(std::chrono::steady_clock::now() - from < 5s);
    stopper.join();
    locker.exec("ROLLBACK");
    CHECK(sink.stats().events_pending > 0);
    // Nothing of what was given up is acknowledged: the group's offsets are where they were.
    CHECK(cluster.committed("give_up", topic, 2) == committed);
    CHECK(table_rows("kafka_give_up").size() == 500);
}

TEST_CASE("exactly_once: a partition starts after the table's positions, whatever the group's offsets", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 15);
    stream.produce(1500, 300);
    redsink_test::drop_table("kafka_once");
    redsink_test::drop_table("redsink_positions_kafka_once");
    {
        OnceSink sink(redsink_test::test_config(), options_for("kafka_once"));
        redsink::kafka::Connector connector({.properties = cluster.consumer("once-a")});
        connector.route<Customer>(topic, sink);
        REQUIRE(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "once-a"); }));
        connector.close();
    }
    stream.produce(500, 300);
    // A new group has no offsets (it would read from the start): the table's positions win.
    OnceSink sink(redsink_test::test_config(), options_for("kafka_once"));
    redsink::kafka::Connector connector({.properties = cluster.consumer("once-b")});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "once-b"); }));
    connector.close();
    CHECK(connector.progress().messages == 500);
    CHECK(sink.stats().events_skipped == 0);
    CHECK(table_rows("kafka_once") == model_rows(stream.model()));
}

TEST_CASE("exactly_once, Fencing::partition: two members of one group share one identity; one leaves", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 4);
    CustomerStream stream(cluster, topic, 4, 17);
    const std::string table = "kafka_once_shared";
    redsink_test::drop_table(table);
    redsink_test::drop_table("redsink_positions_" + table);

    // Each member polls on its own thread, with its own exactly_once sink of the same identity.
    struct Member {
        std::atomic<bool> stop{false};
        std::mutex mutex;
        redsink::kafka::Progress progress;
        std::size_t written = 0;  // events its sink committed
        std::size_t skipped = 0;
        std::string failure;
        std::thread thread;
    };
    const auto start = [&](Member& member) {
        member.thread = std::thread([&cluster, &member, &table] {
            try {
                auto options = options_for(table);
                options.fencing = redsink::Fencing::partition;
                OnceAppendSink sink(redsink_test::test_config(), options);
                redsink::kafka::Connector connector({.properties = cluster.consumer("once-shared")});
                connector.route<Customer>(topic, sink);
                const auto publish = [&] {
                    const std::lock_guard lock(member.mutex);
                    member.progress = connector.progress();
                    member.written = sink.stats().events;
                    member.skipped = sink.stats().events_skipped;
                };
                while (!member.stop.load()) {
                    connector.poll();
                    publish();
                }
                connector.close();
                publish();
            } catch (const std::exception& error) {
                const std::lock_guard lock(member.mutex);
                member.failure = error.what();
            }
        });
    };
    const auto holds = [](Member& member) {
        const std::lock_guard lock(member.mutex);
        return member.progress.partitions.size();
    };
    const auto all_caught_up = [&](std::initializer_list<Member*> members) {
        redsink::kafka::Progress merged;
        for (auto* member : members) {
            const std::lock_guard lock(member->mutex);
            for (const auto& [where, partition] : member->progress.partitions) merged.partitions[where] = partition;
        }
        return stream.caught_up(merged, "once-shared");
    };
    const auto wait = [](const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + 90s;
        while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(20ms);
        return done();
    };

    Member a, b;
    start(a);
    start(b);
    CHECK(wait([&] { return holds(a) + holds(b) == 4 && holds(a) > 0 && holds(b) > 0; }));
    stream.produce_creates(3000);
    CHECK(wait([&] { return all_caught_up({&a, &b}); }));
    {
        const std::lock_guard lock_a(a.mutex), lock_b(b.mutex);
        INFO("a: " << a.failure << "; b: " << b.failure);
        CHECK(a.written > 0);
        CHECK(b.written > 0);
    }
    b.stop = true;
    b.thread.join();
    INFO("member b: " << b.failure);
    CHECK(b.failure.empty());
    stream.produce_creates(2000);
    const bool a_took_over = wait([&] { return holds(a) == 4 && all_caught_up({&a}); });
    {
        const std::lock_guard lock(a.mutex);
        for (const auto& [where, partition] : a.progress.partitions)
            UNSCOPED_INFO("a holds partition " << where.partition << ": next " << partition.next_offset
                                               << ", acknowledged " << partition.acknowledged << ", committed "
                                               << partition.committed << ", end "
                                               << stream.ends()[static_cast<std::size_t>(where.partition)]);
        UNSCOPED_INFO("a: commits " << a.progress.offset_commits << ", failed " << a.progress.commit_failures
                                    << ", rebalances " << a.progress.rebalances << ", last error "
                                    << a.progress.last_consumer_error);
    }
    CHECK(a_took_over);
    a.stop = true;
    a.thread.join();
    INFO("member a: " << a.failure);
    CHECK(a.failure.empty());

    // Every event once: one row per create, and the members' commits add up to the stream.
    const auto rows = table_rows(table);
    INFO(differences(rows, model_rows(stream.model())));
    CHECK(rows == model_rows(stream.model()));
    CHECK(static_cast<std::int64_t>(rows.size()) == stream.total());
    CHECK(static_cast<std::int64_t>(a.written + b.written) == stream.total());
    CHECK(cluster.committed("once-shared", topic, 4) == stream.ends());
    // Per partition, the positions table holds its last offset, in an epoch raised by each claim
    // (the partitions that were b's were claimed again by a).
    auto conn = redsink_test::reader();
    const auto positions = conn.exec("SELECT source_partition, committed_offset, epoch FROM " +
                                     redsink_test::qualified("redsink_positions_" + table) +
                                     " WHERE source_partition >= 0 ORDER BY source_partition");
    REQUIRE(positions.rows() == 4);
    int moved = 0;
    for (int row = 0; row < 4; ++row) {
        CHECK(positions.as<std::int64_t>(row, 1) == stream.ends()[static_cast<std::size_t>(row)] - 1);
        moved += positions.as<std::int64_t>(row, 2) >= 2 ? 1 : 0;
    }
    CHECK(moved > 0);
}

TEST_CASE("exactly_once, Fencing::partition: a member cannot write a partition another sink claimed since", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 18);
    stream.produce_creates(400);
    const std::string table = "kafka_once_zombie";
    redsink_test::drop_table(table);
    redsink_test::drop_table("redsink_positions_" + table);
    auto options = options_for(table);
    options.fencing = redsink::Fencing::partition;
    options.batch_rows = 100'000;  // everything read stays buffered until close()
    options.flush_interval = 600s;
    OnceAppendSink sink(redsink_test::test_config(), options);
    redsink::kafka::Connector connector({.properties = cluster.consumer("zombie")});
    connector.route<Customer>(topic, sink);
    REQUIRE(poll_until(connector, [&] { return connector.progress().messages == 400; }));
    // What the next owner of a lost partition does: claim it (nothing committed in it yet).
    OnceAppendSink next_owner(redsink_test::test_config(), options);
    CHECK(next_owner.claim_partitions({0}).empty());
    std::string message;
    try {
        connector.close();
    } catch (const redsink::Error& error) {
        CHECK(error.kind() == redsink::ErrorKind::fenced);
        message = error.what();
    }
    CHECK_THAT(message, Catch::Contains("(partition 0, epoch 1) was fenced by the sink that claimed it (epoch 2, "));
    // Nothing of the old owner's batch was committed, and nothing was acknowledged.
    CHECK(table_rows(table).empty());
    CHECK(sink.stats().events == 0);
    CHECK(connector.progress().offset_commits == 0);
}

TEST_CASE("a message that cannot be decoded stops the connector; nothing after it is committed", "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 1);
    CustomerStream stream(cluster, topic, 1, 16);
    stream.produce_creates(100);
    {
        // One bad message, then more good ones.
        redsink_test::kafka::Producer producer(cluster);
        producer.send(topic, 0, R"({"id":9999})", R"({"before":null,"after":{"id":"nine"},"op":"c"})");
        producer.flush();
    }
    stream.produce_creates(50);
    redsink_test::drop_table("kafka_bad");
    UpsertSink sink(redsink_test::test_config(), options_for("kafka_bad"));
    redsink::kafka::Connector connector({.properties = cluster.consumer("bad")});
    connector.route<Customer>(topic, sink);
    std::string message;
    try {
        poll_until(
            connector, [] { return false; }, 30s);
    } catch (const redsink::debezium::DecodeError& error) {
        message = error.what();
    }
    CHECK_THAT(message,
               Catch::Contains("topic " + topic + ", partition 0, offset 100") && Catch::Contains("value.after.id"));
    connector.close();
    CHECK(cluster.committed("bad", topic, 1) == std::vector<std::int64_t>{100});
    CHECK(table_rows("kafka_bad").size() == 100);
}

TEST_CASE("unchanged TOAST values: an upsert sink keeps the stored ones; an append sink refuses the message",
          "[kafka]") {
    MockCluster cluster;
    cluster.create_topic(topic, 2);
    CustomerStream stream(cluster, topic, 2, 23);
    stream.produce_toasted(600, 40);
    {
        redsink_test::drop_table("kafka_toast");
        // Small batches: kept values come from within a batch and from the table.
        auto options = options_for("kafka_toast");
        options.batch_rows = 25;
        UpsertSink sink(redsink_test::test_config(), options);
        redsink::kafka::Connector connector({.properties = cluster.consumer("toast")});
        connector.route<Customer>(topic, sink);
        CHECK(poll_until(connector, [&] { return stream.caught_up(connector.progress(), "toast"); }));
        connector.close();
        const auto rows = table_rows("kafka_toast");
        const auto expected = model_rows(stream.model());
        INFO(differences(rows, expected));
        CHECK(rows == expected);
    }
    redsink_test::drop_table("kafka_toast_append");
    AppendSink sink(redsink_test::test_config(), options_for("kafka_toast_append"));
    redsink::kafka::Connector connector({.properties = cluster.consumer("toast_append")});
    connector.route<Customer>(topic, sink);
    std::string message;
    try {
        poll_until(
            connector, [] { return false; }, 30s);
    } catch (const redsink::Error& error) {
        message = error.what();
    }
    CHECK_THAT(message, Catch::Contains("kafka_toast_append") && Catch::Contains("\"last_name\"") &&
                            Catch::Contains("one row per key"));
    // The sink stopped: the connector's destructor leaves the group without committing.
}

TEST_CASE("configuration errors are clear and never quote a secret", "[kafka]") {
    CHECK_THROWS_WITH(redsink::kafka::Connector({.properties = {{"bootstrap.servers", "localhost:1"}}}),
                      Catch::Contains("group.id is missing"));
    CHECK_THROWS_WITH(redsink::kafka::Connector({.properties = {{"group.id", "g"}, {"enable.auto.commit", "true"}}}),
                      Catch::Contains("enable.auto.commit must stay false"));
    redsink::kafka::Connector connector(
        {.properties = {{"group.id", "g"}, {"sasl.jaas.config", "module required password=\"hunter2\";"}}});
    redsink_test::drop_table("kafka_config");
    UpsertSink sink(redsink_test::test_config(), options_for("kafka_config"));
    connector.route<Customer>(topic, sink);
    try {
        connector.start();
        FAIL("a bad property was taken");
    } catch (const redsink::kafka::KafkaError& error) {
        const std::string message = error.what();
        CHECK_THAT(message, Catch::Contains("sasl.jaas.config was refused"));
        CHECK(message.find("hunter2") == std::string::npos);
    }
    CHECK_THROWS_WITH(connector.route<Customer>("another.topic", sink), Catch::Contains("share one sink"));
}
