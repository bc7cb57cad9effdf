#pragma once

#include "baselines.hpp"
#include "handwritten.hpp"
#include "pg.hpp"
#include "records.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// What every database case shares: the rows, the tables, the untimed setup and the check.
namespace redsink_bench {

inline constexpr std::string_view schema = "redsink_bench";

// Enough rows that a run is dominated by steady-state loading: 100,000 narrow rows (about 6 MB
// of text) and 20,000 wide ones (about 30 MB).
template <class R>
inline constexpr std::size_t rows_per_iteration = std::is_same_v<R, Narrow> ? 100'000 : 20'000;

// The rows every loader writes, ids 0 .. n-1.
template <class R>
const std::vector<R>& stream_rows() {
    static const auto rows = make_rows<R>(rows_per_iteration<R>, 1);
    return rows;
}

// For upserts: an older version of every other key, present before the timed part.
template <class R>
const std::vector<R>& present_rows() {
    static const auto rows = [] {
        std::vector<R> out;
        for (std::size_t id = 0; id < rows_per_iteration<R>; id += 2)
            out.push_back(make_row<R>(static_cast<std::int64_t>(id), 0));
        return out;
    }();
    return rows;
}

// What Setup::fingerprint must read after the rows are loaded.
template <class R>
std::string fingerprint(const std::vector<R>& rows) {
    std::int64_t sum = 0;
    for (const auto& row : rows) sum += hand::Table<R>::versioned_value(row);
    return fmt::format("{} {}", rows.size(), sum);
}

// How the target table starts each timed iteration.
enum class Start { empty, half_present };

// Cases that failed; main() turns them into its exit status.
inline std::atomic<int> failures{0};

// The benchmark's own connection, for everything outside the timed region.
class Setup {
public:
    explicit Setup(std::string table)
        : conn_(pg::connect(pg::conninfo())), table_(fmt::format("{}.{}", schema, std::move(table))) {
        pg::exec(conn_.get(), fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema));
    }

    [[nodiscard]] const std::string& table() const { return table_; }

    void exec(const std::string& sql) { pg::exec(conn_.get(), sql); }

    template <class R>
    void create(Start start) {
        pg::exec(conn_.get(), "DROP TABLE IF EXISTS " + table_);
        pg::exec(conn_.get(), hand::create_table_sql<R>(table_, start == Start::half_present));
    }

    // A fresh table (TRUNCATE gives it new storage) with, for upserts, half of the keys present.
    template <class R>
    void reset(Start start) {
        pg::exec(conn_.get(), "TRUNCATE " + table_);
        if (start == Start::half_present) {
            hand::Loader<R> loader(pg::conninfo(), table_);
            loader.copy(present_rows<R>());
        }
        pg::exec(conn_.get(), "ANALYZE " + table_);
    }

    // "rows sum": the row count and the sum of a column that differs between versions of a row.
    template <class R>
    [[nodiscard]] std::string fingerprint() {
        return pg::query_value(conn_.get(), fmt::format("SELECT count(*) || ' ' || sum({}) FROM {}",
                                                        hand::Table<R>::versioned_column, table_));
    }

private:
    pg::Conn conn_;
    std::string table_;
};

// Runs `load` once per iteration on a fresh table, timing only `load`; `prepare` runs untimed
// before it. Afterwards the table must hold exactly the stream's rows (or `expected`, when the
// server refuses some), updates applied.
template <class R, class Prepare, class Load>
void run_case(benchmark::State& state, Setup& setup, Start start, Prepare&& prepare, Load&& load,
              const std::vector<R>* expected = nullptr) {
    const auto& rows = stream_rows<R>();
    try {
        for (auto _ : state) {
            state.PauseTiming();
            setup.reset<R>(start);
            prepare(rows);
            state.ResumeTiming();
            load(rows);
        }
        if (const auto found = setup.fingerprint<R>(), wanted = fingerprint(expected ? *expected : rows);
            found != wanted)
            throw std::runtime_error(fmt::format("the table holds {} (rows, sum of {}), not {}", found,
                                                 hand::Table<R>::versioned_column, wanted));
    } catch (const std::exception& error) {
        ++failures;
        state.SkipWithError(error.what());
        return;
    }
    state.counters["rows_per_second"] =
        benchmark::Counter(static_cast<double>(rows.size()), benchmark::Counter::kIsIterationInvariantRate);
}

// A name for the case's table, unique per case: "narrow_sink_redshift_upsert_10000_1".
inline std::string table_name(std::string_view record, std::string_view loader, std::int64_t batch = 0,
                              std::int64_t tasks = 0) {
    std::string name = fmt::format("{}_{}", record, loader);
    if (batch > 0) name += fmt::format("_{}", batch);
    if (tasks > 0) name += fmt::format("_{}", tasks);
    return name;
}

inline benchmark::internal::Benchmark* timed_once(benchmark::internal::Benchmark* bench) {
    // The work is in the server: wall time; one pass over the rows per repetition.
    return bench->UseRealTime()->Iterations(1)->Unit(benchmark::kMillisecond);
}

// Registers the sink cases (sink_cases.cpp) and the serializable stand-in (serializable.cpp).
void register_sink_cases();
void register_serializable_cases();

}  // namespace redsink_bench
