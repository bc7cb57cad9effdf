#pragma once

// What a Kafka connector is configured with, and what it reports (docs/kafka.md).
#include <redsink/kafka/handle.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace redsink::kafka {

struct ConnectorOptions {
    // librdkafka's consumer properties: bootstrap.servers and group.id at least. The connector's
    // defaults, which these override: partition.assignment.strategy=cooperative-sticky (a
    // rebalance moves only the partitions that must move), auto.offset.reset=earliest (a new group
    // reads its topics from the start). enable.auto.commit and enable.auto.offset.store are the
    // connector's own (false): it commits offsets itself.
    Properties properties;
    // How long one poll waits for a message.
    std::chrono::milliseconds poll_timeout{100};
    // How often the acknowledged offsets are committed to Kafka (and always when partitions are
    // revoked, and at close()).
    std::chrono::milliseconds commit_interval{1000};
    // Backpressure: when a topic's sink holds more events not yet committed than this, its
    // partitions are paused (the consumer keeps polling, so it stays in its group) until the
    // sink is down to half.
    std::size_t max_pending_events = 200'000;
    // Retries of the offset commits at a revoke and at close(), with SinkOptions' names and
    // meanings (the retry engine, redsink/retry.hpp): tries counting the first (0: as many as
    // retry_budget allows), a delay doubling from retry_backoff up to retry_backoff_max, half of
    // it random. A periodic commit is tried once: the next one carries its offsets.
    int max_attempts = 0;
    std::chrono::milliseconds retry_budget{5'000};
    std::chrono::milliseconds retry_backoff{200};
    std::chrono::milliseconds retry_backoff_max{1'000};
    // librdkafka's statistics, a JSON text (its STATISTICS.md), every statistics.interval.ms of
    // `properties` (librdkafka's default 0: never). Called by poll() on its thread; the text is
    // valid only during the call. What it throws, poll() throws.
    std::function<void(std::string_view json)> on_statistics = {};
};

// A topic and partition.
struct TopicPartition {
    std::string topic;
    std::int32_t partition = 0;

    friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

struct PartitionProgress {
    std::int64_t next_offset = -1;     // the offset after the last message read (-1: none read)
    std::int64_t acknowledged = -1;    // the last offset the warehouse committed
    std::int64_t committed = -1;       // the offset committed to Kafka (the next one to read)
    std::int64_t high_watermark = -1;  // the partition's end, as last fetched (-1: unknown)
    std::int64_t lag = -1;             // messages after next_offset (or committed) to the end; -1: unknown
    bool paused = false;
};

// What a connector reports: totals, per partition it holds, and its last offset commit.
struct Progress {
    std::uint64_t messages = 0;        // read and written to a sink
    double messages_per_second = 0;    // since the previous progress() call (or the start)
    std::uint64_t offset_commits = 0;  // commits of offsets to Kafka that succeeded
    std::uint64_t commit_failures = 0;
    std::uint64_t consumer_errors = 0;  // errors librdkafka reported and recovers from itself
    std::string last_consumer_error;
    std::uint64_t rebalances = 0;
    std::optional<std::chrono::system_clock::time_point> last_commit;
    std::map<TopicPartition, PartitionProgress> partitions;  // the partitions assigned now
};

}  // namespace redsink::kafka
