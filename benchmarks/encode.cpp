// redsink_bench_encode: the client-side work before a batch is sent, without a database.
// redsink's encoder and SQL builder against the same work written by hand with fmt.
#ifdef REDSINK_BENCH_DEBEZIUM
#include "debezium.hpp"
#endif
#include "handwritten.hpp"
#include "records.hpp"

#include <redsink/encode.hpp>
#include <redsink/record.hpp>
#include <redsink/row_from_record.hpp>
#include <redsink/sql/dml.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace redsink_bench {
namespace {

// One default-sized batch (SinkOptions::batch_rows).
constexpr std::size_t batch_rows = 10'000;
constexpr auto dialect = redsink::Dialect::redshift;
constexpr std::string_view table = "redsink_bench.encoded";

template <class R>
const std::vector<R>& batch() {
    static const auto rows = make_rows<R>(batch_rows);
    return rows;
}

template <class R>
const redsink::sql::TableSpec& spec() {
    static const auto table_spec =
        redsink::table_spec<R>(redsink::sql::TableRef::make("redsink_bench", "encoded"), dialect);
    return table_spec;
}

void rate(benchmark::State& state, std::size_t bytes) {
    state.counters["rows_per_second"] =
        benchmark::Counter(static_cast<double>(batch_rows), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["bytes_per_row"] = static_cast<double>(bytes) / static_cast<double>(batch_rows);
}

// Bind parameters for the multi-row INSERT: the statement text once, every value, the pointers.
template <class R>
void redsink_params(benchmark::State& state) {
    const auto columns = redsink::column_contexts<R>(dialect);
    redsink::ParamBuffer params;
    std::vector<const char*> values;
    for (auto _ : state) {
        auto sql = redsink::sql::insert_values_sql(spec<R>().name.quoted(), spec<R>().columns, false,
                                                   hand::rows_per_statement<R>, dialect);
        params.clear();
        for (const auto& row : batch<R>()) redsink::encode_row(row, params, columns);
        values.resize(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) values[i] = params.data(i);
        benchmark::DoNotOptimize(sql.data());
        benchmark::DoNotOptimize(values.data());
        benchmark::ClobberMemory();
    }
    rate(state, params.bytes());
}

// The same values as Rows (redsink::Row, docs/rows.md), each encoded by its column's Row encoder,
// against the struct's members: what the runtime record costs the writing thread. The events are
// made before the timing, as an app hands the sink events it made; the argument is how many (the
// batch repeated): 10,000, or 100,000, more than the caches keep.
template <class R>
std::vector<R> repeated(std::size_t rows) {
    std::vector<R> out;
    while (out.size() < rows) out.insert(out.end(), batch<R>().begin(), batch<R>().end());
    out.resize(rows);
    return out;
}

void encode_rate(benchmark::State& state, std::size_t rows) {
    state.counters["rows_per_second"] =
        benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsIterationInvariantRate);
}

template <class R>
void struct_encode(benchmark::State& state) {
    const auto columns = redsink::column_contexts<R>(dialect);
    const auto rows = repeated<R>(static_cast<std::size_t>(state.range(0)));
    redsink::ParamBuffer params;
    for (auto _ : state) {
        params.clear();
        for (const auto& row : rows) redsink::encode_row(row, params, columns);
        benchmark::DoNotOptimize(params.data(0));
        benchmark::ClobberMemory();
    }
    encode_rate(state, rows.size());
}

template <class R>
void row_encode(benchmark::State& state) {
    const auto schema = redsink::row_schema_of<R>();
    const auto columns = redsink::column_contexts<R>(dialect);
    std::vector<redsink::Row> rows;
    for (const auto& row : repeated<R>(static_cast<std::size_t>(state.range(0))))
        rows.push_back(redsink::row_of(row, schema));
    redsink::ParamBuffer params;
    for (auto _ : state) {
        params.clear();
        for (const auto& row : rows)
            for (std::size_t i = 0; i < columns.size(); ++i) redsink::encode_value(row[i], params, columns[i]);
        benchmark::DoNotOptimize(params.data(0));
        benchmark::ClobberMemory();
    }
    encode_rate(state, rows.size());
}

template <class R>
void fmt_params(benchmark::State& state) {
    hand::TextParams params;
    for (auto _ : state) {
        auto sql = hand::insert_sql<R>(table, hand::rows_per_statement<R>);
        params.clear();
        for (const auto& row : batch<R>()) hand::Table<R>::format(row, params);
        const char* const* values = params.values();
        benchmark::DoNotOptimize(sql.data());
        benchmark::DoNotOptimize(values);
        benchmark::ClobberMemory();
    }
    rate(state, params.bytes());
}

// COPY's text for the batch (the postgres dialect's path): redsink encodes, then escapes each
// value into COPY format; by hand, values are formatted straight into the COPY text.
template <class R>
void redsink_copy_text(benchmark::State& state) {
    const auto columns = redsink::column_contexts<R>(redsink::Dialect::postgres);
    redsink::ParamBuffer params;
    std::string text;
    constexpr auto width = redsink::record_info<R>::size;
    for (auto _ : state) {
        params.clear();
        text.clear();
        for (const auto& row : batch<R>()) redsink::encode_row(row, params, columns);
        for (std::size_t row = 0; row < batch_rows; ++row) {
            for (std::size_t column = 0; column < width; ++column) {
                if (column > 0) text.push_back('\t');
                redsink::append_copy_field(text, params, row * width + column);
            }
            text.push_back('\n');
        }
        benchmark::DoNotOptimize(text.data());
        benchmark::ClobberMemory();
    }
    rate(state, text.size());
}

template <class R>
void fmt_copy_text(benchmark::State& state) {
    hand::CopyRows text;
    for (auto _ : state) {
        text.clear();
        for (const auto& row : batch<R>()) hand::Table<R>::format(row, text);
        benchmark::DoNotOptimize(text.data());
        benchmark::ClobberMemory();
    }
    rate(state, text.bytes());
}

// Both encoders must produce the same text for every value, or the comparison means nothing.
template <class R>
bool same_text() {
    const auto columns = redsink::column_contexts<R>(dialect);
    redsink::ParamBuffer ours;
    hand::TextParams theirs;
    for (const auto& row : batch<R>()) {
        redsink::encode_row(row, ours, columns);
        hand::Table<R>::format(row, theirs);
    }
    const char* const* values = theirs.values();
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const char* a = ours.data(i);
        const char* b = values[i];
        if ((a == nullptr) != (b == nullptr) || (a != nullptr && std::string_view(a) != std::string_view(b))) {
            fmt::print(stderr, "redsink_bench_encode: {} value {} differs: redsink '{}', fmt '{}'\n", record_name<R>, i,
                       a != nullptr ? a : "NULL", b != nullptr ? b : "NULL");
            return false;
        }
    }
    return ours.size() == static_cast<std::size_t>(theirs.count());
}

template <class R>
void register_record() {
    const auto add = [](std::string_view label, void (*function)(benchmark::State&)) {
        benchmark::RegisterBenchmark(fmt::format("{}/{}", record_name<R>, label).c_str(), function)
            ->Unit(benchmark::kMicrosecond);
    };
    add("redsink_params", redsink_params<R>);
    add("fmt_params", fmt_params<R>);
    add("redsink_copy_text", redsink_copy_text<R>);
    add("fmt_copy_text", fmt_copy_text<R>);
    const auto add_batches = [](std::string_view label, void (*function)(benchmark::State&)) {
        benchmark::RegisterBenchmark(fmt::format("{}/{}", record_name<R>, label).c_str(), function)
            ->Unit(benchmark::kMicrosecond)
            ->ArgName("batch")
            ->Arg(10'000)
            ->Arg(100'000);
    };
    add_batches("struct_encode", struct_encode<R>);
    add_batches("row_encode", row_encode<R>);
}

}  // namespace
}  // namespace redsink_bench

int main(int argc, char** argv) {
    using namespace redsink_bench;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    if (!same_text<Narrow>() || !same_text<Wide>()) return 1;
    register_record<Narrow>();
    register_record<Wide>();
#ifdef REDSINK_BENCH_DEBEZIUM
    register_debezium_cases();
#endif
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
