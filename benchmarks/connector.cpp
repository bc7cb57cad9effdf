// The connector's path against its parts, on one stream of Debezium messages (the fixture's
// creates, updates and snapshot reads, about 2.4 KB each with their schemas, each message a key of
// its own), in the same run:
//   connector/kafka         the Kafka front end (redsink::kafka::Connector, as the connector
//                           program runs it) consuming the messages from librdkafka's mock
//                           cluster, decoding, writing through the Sink, committing offsets;
//   connector/decode_sink   redsink::debezium::Decoder then the Sink, one loop, one thread;
//   connector/decode_sink_rows  the same with debezium::RowDecoder and a Sink<Row> made from the
//                           first message's schema (the runtime path against the struct's);
//   connector/sink          the Sink alone, writing the same events decoded beforehand.
// Every case ends with all the events committed in the table (and for the connector, its offsets
// committed to Kafka), and the table is checked. Against the database that
// REDSINK_TEST_CONNINFO names (scripts/with-postgres).
//   REDSINK_BENCH_CONNECTOR_EVENTS   messages in the stream (default 24,000: librdkafka's mock keeps
//                                    5 MiB per partition, about 2,000 of these messages)
#include "debezium_fixture.hpp"
#include "pg.hpp"

#include <redsink/debezium.hpp>
#include <redsink/kafka.hpp>
#include <redsink/sink.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace redsink_bench {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view schema = "redsink_bench";
constexpr const char* topic = "dbserver1.inventory.customers";
// The mock cluster keeps the last 5 MiB of each partition: 16 partitions hold 24,000 messages.
constexpr int partitions = 16;

// The connector program's sink for a table with the default properties (insert.mode=upsert,
// delete.enabled=true, schema.evolution=basic, tasks.max=1, batch.rows=10000), on PostgreSQL.
using CustomerSink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                   redsink::evolve_schema, redsink::postgres>;
// The same policies for Rows whose columns come from the messages' schemas.
using RowSink =
    redsink::Sink<redsink::Row, redsink::upsert, redsink::hard_delete, redsink::evolve_schema, redsink::postgres>;

std::atomic<int> failures{0};

std::int64_t events() {
    const char* value = std::getenv("REDSINK_BENCH_CONNECTOR_EVENTS");
    const std::int64_t n = value != nullptr && *value != '\0' ? std::atoll(value) : 24'000;
    if (n < 1) throw std::runtime_error("REDSINK_BENCH_CONNECTOR_EVENTS must be at least 1");
    return n;
}

// One message of the stream: the partition and offset it has in Kafka (by its id, as a keyed
// producer places it), and its bytes.
struct StreamMessage {
    std::int32_t id;
    std::int32_t partition;
    std::int64_t offset;
    std::string key;
    std::string value;
};

// n messages: the fixture's row events in turn, message i re-keyed to the id 1,000,000 + i.
const std::vector<StreamMessage>& stream(std::size_t n) {
    static std::vector<StreamMessage> messages;
    if (messages.size() == n) return messages;
    messages.clear();
    std::array<std::int64_t, partitions> next_offset{};
    const auto& fixture = fixture_messages();
    for (std::size_t i = 0; i < n; ++i) {
        const auto& from = fixture[i % fixture.size()];
        const auto old_id = fixture_key_id(from);
        const auto id = static_cast<std::int32_t>(1'000'000 + i);
        const auto partition = id % partitions;
        messages.push_back({id, partition, next_offset[static_cast<std::size_t>(partition)]++,
                            rekeyed(from.key, old_id, id), rekeyed(from.value, old_id, id)});
    }
    return messages;
}

std::string expected_fingerprint(const std::vector<StreamMessage>& messages) {
    std::int64_t sum = 0;
    for (const auto& message : messages) sum += message.id;
    return fmt::format("{} {}", messages.size(), sum);
}

// librdkafka's mock cluster (in this process: its broker thread shares the machine with the
// consumer) holding the stream in `topic`, produced once, before anything is timed.
class MockTopic {
public:
    explicit MockTopic(const std::vector<StreamMessage>& messages) {
        std::array<char, 512> reason{};
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "0", reason.data(), reason.size());
        owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason.data(), reason.size()));
        if (!owner_) throw std::runtime_error(reason.data());
        cluster_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
        if (cluster_ == nullptr) throw std::runtime_error("no mock cluster");
        bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
        if (rd_kafka_mock_topic_create(cluster_, topic, partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw std::runtime_error("cannot create the topic");
        produce(messages);
    }
    MockTopic(const MockTopic&) = delete;
    MockTopic& operator=(const MockTopic&) = delete;
    ~MockTopic() { rd_kafka_mock_cluster_destroy(cluster_); }

    [[nodiscard]] const std::string& bootstraps() const noexcept { return bootstraps_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    void produce(const std::vector<StreamMessage>& messages) {
        redsink::kafka::detail::Conf conf = redsink::kafka::detail::make_conf(
            {{"bootstrap.servers", bootstraps_}, {"linger.ms", "5"}, {"log_level", "3"}});
        std::array<char, 512> reason{};
        redsink::kafka::detail::Handle producer(
            rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason.data(), reason.size()));
        if (!producer) throw std::runtime_error(reason.data());
        conf.release();
        for (const auto& message : messages) {
            for (;;) {
                const auto error = rd_kafka_producev(
                    producer.get(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(message.partition),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(const_cast<char*>(message.key.data()), message.key.size()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()), RD_KAFKA_V_END);
                if (error == RD_KAFKA_RESP_ERR_NO_ERROR) break;
                if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) throw std::runtime_error(rd_kafka_err2str(error));
                rd_kafka_poll(producer.get(), 100);
            }
            rd_kafka_poll(producer.get(), 0);
        }
        if (rd_kafka_flush(producer.get(), 60'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw std::runtime_error("the stream was not produced in time");
        // Every message still there: each partition's log starts at offset 0.
        for (int partition = 0; partition < partitions; ++partition) {
            std::int64_t low = -1, high = -1;
            redsink::kafka::detail::check(
                rd_kafka_query_watermark_offsets(producer.get(), topic, partition, &low, &high, 10'000),
                "reading the topic's offsets");
            if (low != 0)
                throw std::runtime_error(fmt::format(
                    "the mock cluster dropped the first {} messages of partition {} (it keeps 5 MiB of each): "
                    "fewer REDSINK_BENCH_CONNECTOR_EVENTS",
                    low, partition));
        }
        size_ = messages.size();
    }

    redsink::kafka::detail::Handle owner_;  // destroyed after the cluster, as librdkafka needs
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
    std::string bootstraps_;
    std::size_t size_ = 0;
};

std::unique_ptr<MockTopic> mock_topic;

MockTopic& kafka_topic(const std::vector<StreamMessage>& messages) {
    if (!mock_topic || mock_topic->size() != messages.size()) {
        mock_topic.reset();
        mock_topic = std::make_unique<MockTopic>(messages);
    }
    return *mock_topic;
}

// The case's table: dropped before each pass (the sink creates it again, untimed), checked after.
class Table {
public:
    explicit Table(std::string name) : conn_(pg::connect(pg::conninfo())), name_(std::move(name)) {
        pg::exec(conn_.get(), fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema));
    }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    void drop() { pg::exec(conn_.get(), fmt::format("DROP TABLE IF EXISTS {}.{}", schema, name_)); }

    void check(const std::vector<StreamMessage>& messages) {
        const auto found =
            pg::query_value(conn_.get(), fmt::format("SELECT count(*) || ' ' || sum(id) FROM {}.{}", schema, name_));
        if (const auto wanted = expected_fingerprint(messages); found != wanted)
            throw std::runtime_error(fmt::format("the table holds {} (rows, sum of ids), not {}", found, wanted));
    }

    [[nodiscard]] redsink::SinkOptions sink_options() const {
        redsink::SinkOptions options;
        options.schema = std::string(schema);
        options.table = name_;
        return options;
    }

private:
    pg::Conn conn_;
    std::string name_;
};

redsink::debezium::Message message_of(const StreamMessage& message) {
    return {topic, message.partition, message.offset, message.key, message.value};
}

void finish(benchmark::State& state, std::size_t n) {
    state.counters["events_per_second"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

// Runs one pass per iteration: `prepare` untimed, `pass` timed (it may pause the timer itself),
// then the table is checked.
template <class Prepare, class Pass>
void run_passes(benchmark::State& state, const char* table_name, Prepare&& prepare, Pass&& pass) {
    const auto& messages = stream(static_cast<std::size_t>(state.range(0)));
    try {
        Table table(table_name);
        prepare(messages);
        for (auto _ : state) {
            state.PauseTiming();
            table.drop();
            pass(state, table, messages);  // resumes the timer, pauses it again at its end
            table.check(messages);
            state.ResumeTiming();
        }
    } catch (const std::exception& error) {
        ++failures;
        state.SkipWithError(error.what());
        return;
    }
    finish(state, messages.size());
}

// (a) The connector: consumes the topic from its start (a new consumer group each pass), decodes,
// writes, commits the table and the offsets. Timed from the first message read until close()
// returned: every sink flushed, the offsets committed, the group left. Not timed, as the sink's
// start is not in the other cases: joining the group (the mock's first join waits 3 s for more
// members) and librdkafka's start of the assigned partitions (the committed offsets asked for,
// the reset to the earliest, the first fetch: about 100 ms here), reported as first_message_ms.
void kafka_case(benchmark::State& state) {
    static int group = 0;
    std::string bootstraps;
    run_passes(
        state, "connector_kafka",
        [&](const std::vector<StreamMessage>& messages) { bootstraps = kafka_topic(messages).bootstraps(); },
        [&](benchmark::State& timer, Table& table, const std::vector<StreamMessage>& messages) {
            CustomerSink sink(redsink::ConnectionConfig::parse(pg::conninfo()), table.sink_options());
            redsink::kafka::Connector connector({.properties = {{"bootstrap.servers", bootstraps},
                                                                {"group.id", fmt::format("redsink-bench-{}", ++group)},
                                                                {"log_level", "3"}}});
            connector.route<Customer>(topic, sink);
            connector.start();
            std::size_t read = 0;
            const auto give_up = std::chrono::steady_clock::now() + 60s;
            while (connector.assignment().empty()) {
                if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("no assignment in 60 s");
                read += connector.poll() ? 1 : 0;
            }
            const auto assigned = std::chrono::steady_clock::now();
            while (read == 0) {
                if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("no message in 60 s");
                read += connector.poll() ? 1 : 0;
            }
            timer.counters["first_message_ms"] =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - assigned).count();
            timer.ResumeTiming();
            auto idle_since = std::chrono::steady_clock::now();
            std::size_t read_at_idle = read;
            while (read < messages.size()) {
                if (connector.poll()) {
                    ++read;
                    continue;
                }
                // Idle: a bound against a hang, not a timing expectation.
                const auto now = std::chrono::steady_clock::now();
                if (read != read_at_idle) {
                    read_at_idle = read;
                    idle_since = now;
                } else if (now - idle_since > 60s) {
                    throw std::runtime_error(
                        fmt::format("read {} of {} messages, then nothing for 60 s", read, messages.size()));
                }
            }
            connector.close();
            timer.PauseTiming();
            const auto progress = connector.progress();
            timer.counters["offset_commits"] = static_cast<double>(progress.offset_commits);
            if (progress.messages != messages.size())
                throw std::runtime_error(fmt::format("read {} messages, not {}", progress.messages, messages.size()));
        });
}

// (b) Decode, then the Sink: the same messages in one loop on one thread, no Kafka.
void decode_sink_case(benchmark::State& state) {
    run_passes(
        state, "connector_decode_sink", [](const std::vector<StreamMessage>&) {},
        [](benchmark::State& timer, Table& table, const std::vector<StreamMessage>& messages) {
            CustomerSink sink(redsink::ConnectionConfig::parse(pg::conninfo()), table.sink_options());
            redsink::debezium::Decoder<Customer> decoder;
            timer.ResumeTiming();
            for (const auto& message : messages) sink.write(decoder.decode(message_of(message)).change);
            sink.flush();
            timer.PauseTiming();
        });
}

// (b') As (b), as Rows: debezium::RowDecoder, the table made from the first message's schema.
void decode_sink_rows_case(benchmark::State& state) {
    run_passes(
        state, "connector_decode_sink_rows", [](const std::vector<StreamMessage>&) {},
        [](benchmark::State& timer, Table& table, const std::vector<StreamMessage>& messages) {
            // The sink's start is not timed (nor in the other cases): it needs the first row's schema.
            redsink::debezium::RowDecoder decoder;
            auto first = decoder.decode(message_of(messages.front()));
            RowSink sink(redsink::ConnectionConfig::parse(pg::conninfo()), table.sink_options(),
                         first.change.row.schema());
            timer.ResumeTiming();
            sink.write(std::move(first.change));
            for (std::size_t i = 1; i < messages.size(); ++i)
                sink.write(decoder.decode(message_of(messages[i])).change);
            sink.flush();
            timer.PauseTiming();
        });
}

// (c) The Sink alone: the same events, decoded before anything is timed.
void sink_case(benchmark::State& state) {
    std::vector<redsink::Change<Customer>> changes;
    run_passes(
        state, "connector_sink",
        [&](const std::vector<StreamMessage>& messages) {
            redsink::debezium::Decoder<Customer> decoder;
            changes.reserve(messages.size());
            for (const auto& message : messages) changes.push_back(decoder.decode(message_of(message)).change);
        },
        [&](benchmark::State& timer, Table& table, const std::vector<StreamMessage>&) {
            CustomerSink sink(redsink::ConnectionConfig::parse(pg::conninfo()), table.sink_options());
            timer.ResumeTiming();
            for (const auto& change : changes) sink.write(change);
            sink.flush();
            timer.PauseTiming();
        });
}

benchmark::internal::Benchmark* one_pass(benchmark::internal::Benchmark* bench, std::int64_t n) {
    // Wall time: the work is spread over the app's thread, the sink's task, librdkafka's threads
    // and the server. One pass over the stream per repetition.
    return bench->ArgNames({"events"})->Args({n})->UseRealTime()->Iterations(1)->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace redsink_bench

int main(int argc, char** argv) {
    using namespace redsink_bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    std::int64_t n = 0;
    try {
        n = events();
        auto conn = pg::connect(pg::conninfo());
        benchmark::AddCustomContext("postgresql_version", pg::query_value(conn.get(), "SHOW server_version"));
        benchmark::AddCustomContext("libpq_version", std::to_string(PQlibVersion()));
        benchmark::AddCustomContext("librdkafka_version", rd_kafka_version_str());
    } catch (const std::exception& error) {
        fmt::print(stderr, "redsink_bench_connector: {}\n", error.what());
        return 1;
    }
    one_pass(benchmark::RegisterBenchmark("connector/kafka", kafka_case), n);
    one_pass(benchmark::RegisterBenchmark("connector/decode_sink", decode_sink_case), n);
    one_pass(benchmark::RegisterBenchmark("connector/decode_sink_rows", decode_sink_rows_case), n);
    one_pass(benchmark::RegisterBenchmark("connector/sink", sink_case), n);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    mock_topic.reset();
    if (failures > 0) fmt::print(stderr, "redsink_bench_connector: {} case(s) failed\n", failures.load());
    return failures > 0 ? 1 : 0;
}
