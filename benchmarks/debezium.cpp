// Decoding Debezium change events (redsink::debezium) against simdjson's own parse of the same
// bytes: what the decoder adds to reading the JSON. Part of redsink_bench_encode when the
// redsink::debezium target is built; no database.
#include "debezium.hpp"

#include <redsink/debezium.hpp>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace redsink_bench {
namespace {

// inventory.customers of Debezium's tutorial, as the PostgreSQL connector sends it.
struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::optional<std::string>, email));
};

struct Stored {
    std::int64_t offset;
    std::string key;
    std::string value;
};

// The creates, updates and snapshot reads of the decoder tests' PostgreSQL fixture: envelopes
// with their schema, about 2.4 KB each.
const std::vector<Stored>& messages() {
    static const auto stored = [] {
        const std::string path = std::string(REDSINK_SOURCE_DIR) + "/tests/debezium/fixtures/postgres_customers.txt";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path);
        std::vector<Stored> out;
        std::string line;
        std::int64_t offset = 0;
        while (std::getline(in, line)) {
            if (line.rfind("@ ", 0) != 0) continue;
            std::string key;
            std::string value;
            if (!std::getline(in, key) || !std::getline(in, value)) break;
            const bool row = value.find("\"op\":\"c\"") != std::string::npos ||
                             value.find("\"op\":\"u\"") != std::string::npos ||
                             value.find("\"op\":\"r\"") != std::string::npos;
            if (row && key.rfind("key: ", 0) == 0 && value.rfind("value: ", 0) == 0)
                out.push_back({offset++, key.substr(5), value.substr(7)});
        }
        if (out.size() < 4) throw std::runtime_error(path + ": fewer messages than expected");
        return out;
    }();
    return stored;
}

std::size_t value_bytes() {
    std::size_t bytes = 0;
    for (const auto& message : messages()) bytes += message.value.size();
    return bytes;
}

void rate(benchmark::State& state) {
    state.counters["events_per_second"] =
        benchmark::Counter(static_cast<double>(messages().size()), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["bytes_per_event"] = static_cast<double>(value_bytes()) / static_cast<double>(messages().size());
}

// Key and value into a Change<Customer>, with the source position and the schema check.
void decode(benchmark::State& state) {
    redsink::debezium::Decoder<Customer> decoder;
    for (auto _ : state) {
        for (const auto& stored : messages()) {
            auto decoded =
                decoder.decode({"dbserver1.inventory.customers", 0, stored.offset, stored.key, stored.value});
            benchmark::DoNotOptimize(decoded.change.row.id);
        }
    }
    rate(state);
}

// simdjson's DOM parse of the same key and value bytes, from the same std::string (copied into
// padded memory, as the decoder must).
void simdjson_parse(benchmark::State& state) {
    simdjson::dom::parser parser;
    for (auto _ : state) {
        for (const auto& stored : messages()) {
            for (const std::string* text : {&stored.key, &stored.value}) {
                auto document = parser.parse(text->data(), text->size(), true);
                if (document.error()) state.SkipWithError(simdjson::error_message(document.error()));
                benchmark::DoNotOptimize(document.value_unsafe());
            }
        }
    }
    rate(state);
}

}  // namespace

void register_debezium_cases() {
    benchmark::RegisterBenchmark("debezium/decode", decode)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("debezium/simdjson_parse", simdjson_parse)->Unit(benchmark::kMicrosecond);
}

}  // namespace redsink_bench
