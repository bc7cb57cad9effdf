// Decoding Debezium change events (redsink::debezium) against simdjson's own parse of the same
// bytes: what the decoder adds to reading the JSON. Part of redsink_bench_encode when the
// redsink::debezium target is built; no database.
#include "debezium.hpp"
#include "debezium_fixture.hpp"

#include <redsink/debezium.hpp>
#include <redsink/detail/json_syntax.hpp>
#include <redsink/detail/utf8.hpp>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

namespace redsink_bench {
namespace {

const std::vector<Stored>& messages() {
    return fixture_messages();
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

// The same messages into Change<Row>s whose columns come from the messages' schemas
// (RowDecoder): the runtime path against the struct's (decode).
void decode_rows(benchmark::State& state) {
    redsink::debezium::RowDecoder decoder;
    for (auto _ : state) {
        for (const auto& stored : messages()) {
            auto decoded =
                decoder.decode({"dbserver1.inventory.customers", 0, stored.offset, stored.key, stored.value});
            benchmark::DoNotOptimize(decoded.change.row[0]);
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

// The encoders' own validators (detail/utf8.hpp, detail/json_syntax.hpp) against simdjson's, on
// the texts a record's members hold: whether simdjson should replace them (issue #12's point 5).
// Ours also find a NUL byte, the fault's offset and the character count (varchar limits), which
// simdjson::validate_utf8 does not.
const std::vector<std::string>& texts(int kind) {
    static const auto all = [] {
        std::vector<std::vector<std::string>> out(4);
        for (int i = 0; i < 1000; ++i) {
            out[0].push_back("customer name " + std::to_string(i));
            out[1].push_back("Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC " + std::to_string(i) + " caf\xC3\xA9");
            std::string text;
            for (int k = 0; k < 64; ++k) text += "lorem ipsum dolor sit amet, consectetur " + std::to_string(k) + " ";
            out[2].push_back(text);
            out[3].push_back("{\"id\":" + std::to_string(i) +
                             ",\"tags\":[\"a\",\"b\"],\"nested\":{\"x\":1.5,\"y\":null,\"z\":\"text\"}}");
        }
        return out;
    }();
    return all[static_cast<std::size_t>(kind)];
}

template <class Check>
void validate(benchmark::State& state, int kind, Check check) {
    std::size_t valid = 0;
    for (auto _ : state)
        for (const auto& text : texts(kind)) valid += check(text) ? 1 : 0;
    benchmark::DoNotOptimize(valid);
    state.counters["events_per_second"] =
        benchmark::Counter(static_cast<double>(texts(kind).size()), benchmark::Counter::kIsIterationInvariantRate);
}

bool ours_utf8(const std::string& text) {
    return redsink::detail::check_utf8(text).fault == redsink::detail::Utf8Fault::none;
}
bool simdjson_utf8(const std::string& text) {
    return simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace

void register_debezium_cases() {
    benchmark::RegisterBenchmark("debezium/decode", decode)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("debezium/decode_rows", decode_rows)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("debezium/simdjson_parse", simdjson_parse)->Unit(benchmark::kMicrosecond);
    const char* const kinds[] = {"short_ascii", "mixed_utf8", "long_3kb"};
    for (int kind = 0; kind < 3; ++kind) {
        benchmark::RegisterBenchmark((std::string("validate/utf8_ours_") + kinds[kind]).c_str(),
                                     [kind](benchmark::State& state) { validate(state, kind, ours_utf8); })
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark((std::string("validate/utf8_simdjson_") + kinds[kind]).c_str(),
                                     [kind](benchmark::State& state) { validate(state, kind, simdjson_utf8); })
            ->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark("validate/json_ours", [](benchmark::State& state) {
        validate(state, 3,
                 [](const std::string& text) { return redsink::detail::JsonSyntax(text, true).check().empty(); });
    })->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("validate/json_simdjson", [](benchmark::State& state) {
        simdjson::dom::parser parser;
        validate(state, 3, [&](const std::string& text) { return !parser.parse(text).error(); });
    })->Unit(benchmark::kMicrosecond);
}

}  // namespace redsink_bench
