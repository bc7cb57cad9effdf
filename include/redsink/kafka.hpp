#pragma once

// The Kafka front end (the optional target redsink::kafka, with librdkafka): topics of Debezium
// change events into sinks, committing offsets only for what the warehouse committed.
// See docs/kafka.md.
#include <redsink/kafka/commit.hpp>
#include <redsink/kafka/connector.hpp>
#include <redsink/kafka/error.hpp>
#include <redsink/kafka/handle.hpp>
#include <redsink/kafka/offsets.hpp>
#include <redsink/kafka/options.hpp>
#include <redsink/kafka/route.hpp>
