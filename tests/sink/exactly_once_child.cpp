// The child process of the exactly-once tests (exactly_once_test.cpp): streams 4 partitions into
// a table through an exactly_once sink, resuming from resume_positions(), and earlier than it
// must on purpose. The parent kills it at random moments and starts it again.
//
//   redsink_exactly_once_child MODE DIALECT TASKS TABLE EVENTS SEED [PACE_MS]
//     MODE     append | upsert | rows (upsert of Rows whose source adds a column half-way)
//     DIALECT  postgres | redshift
//     EVENTS   events per partition
//     SEED     how far back each partition resumes (random, seeded)
//     PACE_MS  a pause after every 50 events (default 2)
//
// Exit codes: 0 when the whole stream is committed, 3 when the sink was fenced, 1 on any other
// error (printed on stderr).
#include "exactly_once.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;

namespace {

struct Args {
    std::string mode;
    std::string dialect;
    std::size_t tasks = 1;
    std::string table;
    std::int64_t events = 0;
    std::uint64_t seed = 0;
    int pace_ms = 2;
};

template <class Sink, class Event, class... Schema>
int stream(const Args& args, Event event, const Schema&... schema) {
    redsink::SinkOptions options;
    options.schema = "sink_test";
    options.table = args.table;
    options.batch_rows = 150;
    options.flush_interval = std::chrono::milliseconds(20);
    options.tasks = args.tasks;
    Sink sink(redsink::ConnectionConfig::parse(std::getenv("REDSINK_TEST_CONNINFO")), options, schema...);
    // Resume before the committed positions, by up to 300 events: those are skipped.
    const auto resume = sink.resume_positions();
    std::mt19937_64 random(args.seed);
    std::vector<std::int64_t> next(once_partitions, 0);
    for (std::int32_t partition = 0; partition < once_partitions; ++partition) {
        const auto found = resume.find(partition);
        if (found == resume.end()) continue;
        const auto back = static_cast<std::int64_t>(random() % 301);
        next[static_cast<std::size_t>(partition)] = std::max<std::int64_t>(0, found->second + 1 - back);
    }
    std::size_t written = 0;
    for (;;) {
        bool left = false;
        for (std::int32_t partition = 0; partition < once_partitions; ++partition) {
            auto& offset = next[static_cast<std::size_t>(partition)];
            // A few events of one partition at a time, as a consumer's fetches deliver them.
            for (int burst = static_cast<int>(random() % 5); burst >= 0 && offset < args.events; --burst) {
                sink.write(event(partition, offset++));
                if (++written % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(args.pace_ms));
            }
            left = left || offset < args.events;
        }
        if (!left) break;
        sink.poll();
    }
    sink.flush();
    const auto stats = sink.stats();
    fmt::print("written {} skipped {} committed {}\n", written, stats.events_skipped, stats.events);
    return 0;
}

template <class Dialect>
int run(const Args& args) {
    if (args.mode == "append") return stream<AppendOnce<Dialect>>(args, entry_event);
    if (args.mode == "rows")
        return stream<RowsOnce<Dialect>>(
            args,
            [&](std::int32_t partition, std::int64_t offset) {
                return account_row_event(partition, offset, args.events);
            },
            rows_first_schema());
    return stream<UpsertOnce<Dialect>>(args, account_event);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7 || std::getenv("REDSINK_TEST_CONNINFO") == nullptr) {
        std::fprintf(stderr, "usage: REDSINK_TEST_CONNINFO=... %s MODE DIALECT TASKS TABLE EVENTS SEED [PACE_MS]\n",
                     argv[0]);
        return 2;
    }
    Args args{argv[1], argv[2], std::stoul(argv[3]), argv[4], std::stoll(argv[5]), std::stoull(argv[6])};
    if (argc > 7) args.pace_ms = std::stoi(argv[7]);
    try {
        return args.dialect == "redshift" ? run<redsink::redshift>(args) : run<redsink::postgres>(args);
    } catch (const redsink::Error& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return error.kind() == redsink::ErrorKind::fenced ? 3 : 1;
    }
}
