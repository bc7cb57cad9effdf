// KafkaError is a redsink::Error that keeps librdkafka's code: transient where librdkafka says
// another try may succeed, other where it cannot. No broker needed.
#include <redsink/kafka/connector.hpp>
#include <redsink/kafka/error.hpp>
#include <redsink/kafka/handle.hpp>
#include <redsink/kafka/options.hpp>

#include <catch2/catch.hpp>

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>

using redsink::ErrorKind;
using redsink::kafka::KafkaError;

TEST_CASE("KafkaError: a redsink::Error with librdkafka's code and a kind from it", "[kafka][error]") {
    const KafkaError refused("the property group.id is missing");
    CHECK(refused.code() == RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK(refused.kind() == ErrorKind::other);
    CHECK_FALSE(refused.retryable());
    CHECK(std::string(refused.what()) == "kafka: the property group.id is missing");
    CHECK(refused.message() == "the property group.id is missing");

    const KafkaError away("committing offsets failed", RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    CHECK(away.code() == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    CHECK(away.kind() == ErrorKind::transient);
    CHECK(away.retryable());
    const redsink::Error& root = away;  // caught as the root error, as the sink's are
    CHECK_THAT(root.what(), Catch::StartsWith("kafka: committing offsets failed"));

    for (const auto code : {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__WAIT_COORD,
                            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS}) {
        INFO(rd_kafka_err2name(code));
        CHECK(KafkaError("x", code).kind() == ErrorKind::transient);
    }
    for (const auto code : {RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
                            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__INVALID_ARG,
                            RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__FATAL}) {
        INFO(rd_kafka_err2name(code));
        CHECK(KafkaError("x", code).kind() == ErrorKind::other);
    }
}

TEST_CASE("KafkaError from an rd_kafka_error_t takes its code and librdkafka's retriable flag", "[kafka][error]") {
    // librdkafka's flag decides, not the code: an error object made without the flag is not
    // retriable even with a code that is transient on its own.
    const std::unique_ptr<rd_kafka_error_t, decltype(&rd_kafka_error_destroy)> plain(
        rd_kafka_error_new(RD_KAFKA_RESP_ERR__TIMED_OUT, "%s", "took too long"), &rd_kafka_error_destroy);
    REQUIRE(rd_kafka_error_is_retriable(plain.get()) == 0);
    const KafkaError not_flagged("joining", *plain);
    CHECK(not_flagged.code() == RD_KAFKA_RESP_ERR__TIMED_OUT);
    CHECK(not_flagged.kind() == ErrorKind::other);
    CHECK(KafkaError("joining", RD_KAFKA_RESP_ERR__TIMED_OUT).kind() == ErrorKind::transient);

    // redsink::kafka::detail::check throws it, naming what was being done.
    try {
        redsink::kafka::detail::check(RD_KAFKA_RESP_ERR__TRANSPORT, "committing offsets");
        FAIL("no error thrown");
    } catch (const KafkaError& error) {
        CHECK(error.code() == RD_KAFKA_RESP_ERR__TRANSPORT);
        CHECK(error.kind() == ErrorKind::transient);
        CHECK_THAT(error.what(), Catch::StartsWith("kafka: committing offsets failed: "));
    }
    CHECK_NOTHROW(redsink::kafka::detail::check(RD_KAFKA_RESP_ERR_NO_ERROR, "nothing"));
}

TEST_CASE("the connector's commit retries: SinkOptions' names, about 5 s as before", "[kafka][error]") {
    using namespace std::chrono_literals;
    const redsink::kafka::ConnectorOptions options;
    CHECK(options.max_attempts == 0);
    CHECK(options.retry_budget == 5s);
    CHECK(options.retry_backoff == 200ms);
    CHECK(options.retry_backoff_max == 1s);
    // Refused like SinkOptions' when they make no sense.
    using redsink::kafka::Connector;
    CHECK_THROWS_WITH(Connector({.properties = {{"group.id", "g"}}, .max_attempts = -1}),
                      Catch::Contains("ConnectorOptions::max_attempts must be 0 (no limit) or more"));
    CHECK_THROWS_WITH(Connector({.properties = {{"group.id", "g"}}, .retry_budget = -1ms}),
                      Catch::Contains("cannot be negative"));
    CHECK_NOTHROW(Connector({.properties = {{"group.id", "g"}}, .max_attempts = 3, .retry_budget = 0ms}));
    // A commit the coordinator refuses for a while is tried again by the engine; a fenced member's is not.
    CHECK(redsink::kafka::retryable_code(RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS));
    CHECK_FALSE(redsink::kafka::retryable_code(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION));
}
