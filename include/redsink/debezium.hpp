#pragma once

// Debezium change events (Kafka's JSON converter) into redsink changes: docs/debezium.md.
// Needs simdjson: link redsink::debezium.
#include <redsink/debezium/decoder.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/row_decoder.hpp>
