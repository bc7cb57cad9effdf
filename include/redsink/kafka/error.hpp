#pragma once

// Kafka's failures as redsink errors, and which of librdkafka's codes another try may fix.
#include <redsink/error.hpp>

#include <librdkafka/rdkafka.h>

#include <string>

namespace redsink::kafka {

// librdkafka's codes for a broker or coordinator that is away, busy or moving: the same request
// may succeed later. Anything else (a fenced member, an unknown topic, a bad request) will not.
[[nodiscard]] constexpr bool retryable_code(rd_kafka_resp_err_t code) noexcept {
    switch (code) {
        case RD_KAFKA_RESP_ERR__TRANSPORT:
        case RD_KAFKA_RESP_ERR__RESOLVE:
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        case RD_KAFKA_RESP_ERR__TIMED_OUT:
        case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        case RD_KAFKA_RESP_ERR__WAIT_COORD:
        case RD_KAFKA_RESP_ERR__IN_PROGRESS:
        case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR__RETRY:
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
        case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT:
        case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: return true;
        default: return false;
    }
}

// A failure on the Kafka side: the consumer's configuration, the cluster, committing offsets,
// or a message the connector cannot write. It never quotes a secret property's value. A
// redsink::Error: kind() is transient when librdkafka says another try may succeed, other when
// not; code() is librdkafka's (RD_KAFKA_RESP_ERR_NO_ERROR when the connector itself refused).
class KafkaError : public redsink::Error {
public:
    explicit KafkaError(const std::string& message) : KafkaError(message, RD_KAFKA_RESP_ERR_NO_ERROR) {}
    KafkaError(const std::string& message, rd_kafka_resp_err_t code)
        : redsink::Error(retryable_code(code) ? ErrorKind::transient : ErrorKind::other, {}, message, {}, "kafka"),
          code_(code) {}
    // From librdkafka's error object, which says itself whether it is retriable.
    KafkaError(const std::string& message, const rd_kafka_error_t& error)
        : redsink::Error(rd_kafka_error_is_retriable(&error) != 0 ? ErrorKind::transient : ErrorKind::other, {},
                         message, {}, "kafka"),
          code_(rd_kafka_error_code(&error)) {}

    [[nodiscard]] rd_kafka_resp_err_t code() const noexcept { return code_; }

private:
    rd_kafka_resp_err_t code_;
};

}  // namespace redsink::kafka
