#pragma once

// The connector's offsets against Kafka: its commits (what the OffsetBook says may be committed,
// tried as a RetryPolicy allows, and counted: docs/kafka.md, "Commit retries"), and each
// partition's progress against its high watermark.
#include <redsink/kafka/error.hpp>
#include <redsink/kafka/handle.hpp>
#include <redsink/kafka/offsets.hpp>
#include <redsink/retry.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace redsink::kafka::detail {

// Commits a consumer's acknowledged offsets, and keeps the counts Progress reports of them.
class OffsetCommitter {
public:
    // `last_error`: where a failed commit's message goes (the connector's last consumer error).
    explicit OffsetCommitter(std::string& last_error) : last_error_(last_error) {}

    // Commits, for the partitions held (or only those of `only`), the next offset to read where it
    // moved (OffsetBook::to_commit), tried as `retries` allows while librdkafka's code is transient
    // (a coordinator moving or coming back). A failed commit is counted, not thrown: the warehouse
    // holds the rows, and the offsets go with the next commit (or the messages are read again,
    // which at-least-once allows). False when it failed.
    bool commit(rd_kafka_t* handle, OffsetBook& offsets, const std::set<TopicPartition>& only,
                const RetryPolicy& retries, bool flushed) {
        const auto moved = offsets.to_commit(only, flushed);
        if (moved.empty()) return true;
        auto list = make_list();
        for (const auto& [where, next] : moved)
            rd_kafka_topic_partition_list_add(list.get(), where.topic.c_str(), where.partition)->offset = next;
        try {
            with_retries<KafkaError>(
                retries, {},
                [&] {
                    const auto error = rd_kafka_commit(handle, list.get(), 0);
                    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) return;
                    ++failures_;
                    last_code_ = error;
                    last_error_ = std::string("committing offsets: ") + rd_kafka_err2str(error);
                    throw KafkaError(last_error_, error);
                },
                [](const KafkaError& error) { return error.retryable(); });
        } catch (const KafkaError&) {
            return false;
        }
        ++commits_;
        last_time_ = std::chrono::system_clock::now();
        offsets.committed(moved);
        return true;
    }

    [[nodiscard]] std::uint64_t commits() const noexcept { return commits_; }
    [[nodiscard]] std::uint64_t failures() const noexcept { return failures_; }
    // librdkafka's code of the last failed commit.
    [[nodiscard]] rd_kafka_resp_err_t last_code() const noexcept { return last_code_; }
    [[nodiscard]] const std::optional<std::chrono::system_clock::time_point>& last_time() const noexcept {
        return last_time_;
    }

private:
    std::string& last_error_;
    std::uint64_t commits_ = 0, failures_ = 0;
    rd_kafka_resp_err_t last_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::optional<std::chrono::system_clock::time_point> last_time_;
};

// Each partition held, with its lag: the high watermark librdkafka last fetched (cached: no
// request) minus the next offset to read (or, before any read, the committed one).
[[nodiscard]] inline std::map<TopicPartition, PartitionProgress> partitions_progress(rd_kafka_t* handle,
                                                                                     const OffsetBook& offsets) {
    std::map<TopicPartition, PartitionProgress> out;
    for (const auto& [where, state] : offsets.held()) {
        PartitionProgress one = offsets.progress(where, state);
        std::int64_t low = -1, high = -1;
        if (handle != nullptr &&
            rd_kafka_get_watermark_offsets(handle, where.topic.c_str(), where.partition, &low, &high) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            high >= 0) {
            one.high_watermark = high;
            const auto from = one.next_offset >= 0 ? one.next_offset : one.committed;
            if (from >= 0) one.lag = std::max<std::int64_t>(0, high - from);
        }
        out.emplace(where, one);
    }
    return out;
}

}  // namespace redsink::kafka::detail
