// The connector as a program: streams Debezium topics from Kafka into Redshift or PostgreSQL, a
// table per topic, configured like a Kafka Connect sink connector from a properties file and the
// environment. No table is compiled in: each topic's table is created from its first message's
// schema and gains the columns later messages bring (schema.evolution=basic).
//
//     redsink_connector connector.properties
//
//     redsink_connector --check connector.properties   # or --help, --version
//
// docs/connector.md lists the properties. SIGTERM or SIGINT stops it
// within shutdown.timeout.ms: every sink flushed, the offsets of what was committed committed, the
// group left; a second signal exits at once.
#include "connector_metrics.hpp"
#include "connector_properties.hpp"
#include "connector_routes.hpp"

#include <unistd.h>

#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using connector::ConfigError;
using connector::Settings;
namespace metrics = connector::metrics;

// ---- the log -------------------------------------------------------------------------------------

enum class Level { info, warn, error };

// One line: a UTC timestamp, the level, the table when there is one. INFO on stdout, the rest on
// stderr. Nothing logged holds the password (the connection is logged redacted).
void log(Level level, const std::string& table, const std::string& message) {
    const auto now = std::chrono::system_clock::now();
    const auto seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::array<char, 32> stamp{};
    std::strftime(stamp.data(), stamp.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    const char* name = level == Level::info ? "INFO" : level == Level::warn ? "WARN" : "ERROR";
    std::FILE* out = level == Level::info ? stdout : stderr;
    std::fprintf(out, "%s.%03lldZ %-5s %s%s%s%s\n", stamp.data(), static_cast<long long>(millis), name,
                 table.empty() ? "" : "[", table.c_str(), table.empty() ? "" : "] ", message.c_str());
    std::fflush(out);
}
void log(Level level, const std::string& message) {
    log(level, "", message);
}

// The tables written so far (a topic's sink is made at its first message), for the log's lines.
std::set<std::string> tables_made;

// The table an error names, of those written so far.
std::string table_of(const std::string& text) {
    for (const auto& name : tables_made)
        if (text.find(name) != std::string::npos) return name;
    return {};
}

// ---- stopping ------------------------------------------------------------------------------------

// Exit codes (docs/connector.md, --help).
constexpr int exit_stopped = 0, exit_failed = 1, exit_config = 2, exit_fenced = 3;

std::atomic<int> signals{0};
extern "C" void on_signal(int signal) {
    if (signals.fetch_add(1) == 0) return;
    // A second signal: at once, nothing more flushed or committed (what is not committed is read again).
    constexpr char message[] = "second signal: exiting at once\n";
    (void)!::write(2, message, sizeof message - 1);
    ::_exit(128 + signal);
}

// After the first signal: at shutdown.timeout.ms minus a margin (a quarter, at most 5 s) whatever
// waits to be tried again gives up (SinkOptions::stop), leaving the margin to commit offsets and
// leave the group; at shutdown.timeout.ms the process exits (1) whatever it is doing.
class ShutdownClock {
public:
    explicit ShutdownClock(std::chrono::milliseconds timeout)
        : thread_([this, timeout](std::stop_token done) { watch(done, timeout); }) {}
    [[nodiscard]] std::stop_token give_up() const { return give_up_.get_token(); }
    [[nodiscard]] bool gave_up() const { return give_up_.stop_requested(); }

private:
    void watch(const std::stop_token& done, std::chrono::milliseconds timeout) {
        using namespace std::chrono_literals;
        while (signals.load() == 0) {
            if (done.stop_requested()) return;
            std::this_thread::sleep_for(20ms);
        }
        const auto signalled = std::chrono::steady_clock::now();
        log(Level::info, "signal: stopping within shutdown.timeout.ms (" + std::to_string(timeout.count()) +
                             " ms); a second signal exits at once");
        const auto margin = std::min<std::chrono::milliseconds>(timeout / 4, 5s);
        const auto wait_until = [&](std::chrono::steady_clock::time_point when) {
            while (std::chrono::steady_clock::now() < when) {
                if (done.stop_requested()) return false;
                std::this_thread::sleep_for(10ms);
            }
            return true;
        };
        if (!wait_until(signalled + timeout - margin)) return;
        log(Level::warn,
            "shutdown.timeout.ms nearly spent: giving up what waits to be tried again (not committed, "
            "so not acknowledged: read again at the next start)");
        give_up_.request_stop();
        if (!wait_until(signalled + timeout)) return;
        log(Level::error, "shutdown.timeout.ms spent: exiting now");
        std::_Exit(exit_failed);
    }

    std::stop_source give_up_;
    std::jthread thread_;  // last: stopped and joined before the stop source goes
};

// ---- running -------------------------------------------------------------------------------------

void log_progress(redsink::kafka::Connector& connector) {
    const auto progress = connector.progress();
    std::string last = "never";
    if (progress.last_commit) {
        const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() -
                                                                               *progress.last_commit);
        last = std::to_string(ago.count()) + " ms ago";
    }
    std::array<char, 256> head{};
    std::snprintf(head.data(), head.size(), "progress: %llu events, %.0f events/s, %llu offset commits (last %s)",
                  static_cast<unsigned long long>(progress.messages), progress.messages_per_second,
                  static_cast<unsigned long long>(progress.offset_commits), last.c_str());
    std::string line = head.data();
    for (const auto& [where, partition] : progress.partitions)
        line += ", " + where.topic + "[" + std::to_string(where.partition) + "] lag " +
                (partition.lag >= 0 ? std::to_string(partition.lag) : std::string("unknown"));
    if (progress.partitions.empty())
        line +=
            "; no partitions assigned: waiting for the group to assign partitions (after a crash, up to "
            "kafka.session.timeout.ms until the group drops the old member)";
    if (progress.consumer_errors > 0) line += ", last consumer error: " + progress.last_consumer_error;
    log(Level::info, line);
}

// Runs until a signal; 0 when the stop flushed and committed everything, else the error is thrown.
int run(const Settings& settings, const ShutdownClock& clock) {
    // metrics.port: the server reads what this thread publishes (metrics::Server).
    std::optional<metrics::Server> server;
    std::map<std::string, double> statistics;  // librdkafka's last, from poll() on this thread
    auto consumer_options = settings.kafka;
    if (settings.metrics_port != 0) {
        server.emplace(settings.metrics_port);
        log(Level::info, "metrics: serving GET /metrics on port " + std::to_string(server->port()));
        consumer_options.on_statistics = [&statistics](std::string_view json) {
            if (auto read = metrics::read_statistics(json); !read.empty()) statistics = std::move(read);
        };
    }
    std::optional<redsink::kafka::Connector> connector;
    try {
        connector.emplace(std::move(consumer_options));
    } catch (const redsink::kafka::KafkaError& error) {
        throw ConfigError(error.what());
    }
    const auto publish_metrics = [&] {
        if (!server) return;
        metrics::Snapshot snapshot;
        for (auto& [topic, stats] : connector->sink_stats())
            snapshot.tables.emplace(settings.schema + "." + settings.table_for(topic), std::move(stats));
        snapshot.consumer = connector->totals();
        snapshot.statistics = statistics;
        server->publish(std::move(snapshot));
    };
    log(Level::info,
        "writing to " + settings.connection.redacted() + " (" + settings.dialect + ", insert.mode=" +
            settings.insert_mode + ", delete.enabled=" + (settings.delete_enabled ? "true" : "false") +
            ", schema.evolution=" + settings.evolution + ", tasks.max=" + std::to_string(settings.tasks) +
            ", delivery.guarantee=" + (settings.exactly_once ? "exactly_once" : "at_least_once") +
            (settings.order_by == redsink::debezium::OrderBy::none         ? std::string()
             : settings.order_by == redsink::debezium::OrderBy::source_lsn ? std::string(", order.by=source.lsn")
                                                                           : std::string(", order.by=source.ts_ms")) +
            ")");
    // Each topic's sink is made at its first message, from that message's schema (the table created
    // or checked then); every sink is of the one type the settings name.
    connector::route_topics(
        *connector, settings, clock.give_up(),
        [](const std::string& topic, const std::string& table, std::size_t columns) {
            tables_made.insert(table);
            log(Level::info, table,
                topic + " -> " + table + " (" + std::to_string(columns) + " columns from the first message)");
        });
    connector->start();
    log(Level::info,
        (settings.topics_regex.empty() ? "consuming " + std::to_string(settings.topics.size()) + " topics"
                                       : "consuming the topics matching " + settings.subscription_pattern()) +
            "; waiting for the group to assign partitions");
    const auto now = [] { return std::chrono::steady_clock::now(); };
    auto next_progress = now() + settings.progress_interval;
    auto next_assignment_check = now();
    auto next_metrics = now();
    bool assigned = false;
    while (signals.load() == 0) {
        connector->poll();
        if (server && now() >= next_metrics) {
            next_metrics = now() + std::chrono::seconds(1);
            publish_metrics();
        }
        if (now() >= next_assignment_check) {
            next_assignment_check = now() + std::chrono::milliseconds(200);
            if (const bool held = !connector->assignment().empty(); held != assigned) {
                assigned = held;
                log(Level::info,
                    held ? "partitions assigned" : "no partitions: waiting for the group to assign partitions");
            }
        }
        if (now() >= next_progress) {
            log_progress(*connector);
            next_progress += settings.progress_interval;
        }
    }
    log(Level::info, "stopping: flushing the sinks and committing offsets (within shutdown.timeout.ms)");
    connector->close();
    log_progress(*connector);
    log(Level::info, "stopped: everything read is committed, and its offsets");
    return exit_stopped;
}

// ---- --check -------------------------------------------------------------------------------------

// Reads the topics' metadata from Kafka (for topics.regex: which topics match now), then connects
// to the database and checks what each topic's table will need of it. 0 when everything is
// ready, 1 when something is not.
int check(const Settings& settings) {
    int problems = 0;
    const auto report = [&](bool good, const std::string& what, const std::string& detail) {
        if (!good) ++problems;
        std::printf("%-6s %s%s%s\n", good ? "ok" : "FAILED", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
    };
    std::printf("properties: ok\n");
    std::vector<std::string> topics = settings.topics;
    const auto& servers = settings.kafka.properties.at("bootstrap.servers");
    try {
        auto conf = redsink::kafka::detail::make_conf(settings.kafka.properties);
        std::array<char, 512> reason{};
        const redsink::kafka::detail::Handle handle(
            rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason.data(), reason.size()));
        if (!handle) throw redsink::kafka::KafkaError(std::string("cannot create the consumer: ") + reason.data());
        conf.release();
        const rd_kafka_metadata_t* metadata = nullptr;
        redsink::kafka::detail::check(rd_kafka_metadata(handle.get(), 1, nullptr, &metadata, 10'000),
                                      "reading the topics' metadata");
        const std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(
            metadata, rd_kafka_metadata_destroy);
        report(true, "kafka " + servers, std::to_string(metadata->broker_cnt) + " brokers");
        const auto state = [&](const rd_kafka_metadata_topic_t& topic) {
            return topic.err != RD_KAFKA_RESP_ERR_NO_ERROR ? std::string(rd_kafka_err2str(topic.err))
                                                           : std::to_string(topic.partition_cnt) + " partitions";
        };
        if (!settings.topics_regex.empty()) {
            const std::regex pattern(settings.topics_regex, std::regex::extended);
            for (int i = 0; i < metadata->topic_cnt; ++i)
                if (const std::string name = metadata->topics[i].topic; std::regex_match(name, pattern)) {
                    topics.push_back(name);
                    report(metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR, "topic " + name,
                           state(metadata->topics[i]));
                }
            std::printf("%zu topics match topics.regex now (topics created later are picked up as they come)\n",
                        topics.size());
        }
        for (const auto& topic : settings.topics) {
            std::string found = "missing";
            for (int i = 0; i < metadata->topic_cnt; ++i)
                if (topic == metadata->topics[i].topic) found = state(metadata->topics[i]);
            report(found.find("partitions") != std::string::npos, "topic " + topic, found);
        }
    } catch (const std::exception& error) {
        report(false, "kafka " + servers, error.what());
    }
    try {
        auto config = settings.connection;
        if (!config.connect_timeout) config.connect_timeout = 10;
        redsink::pq::Connection conn(config);
        report(true, "database " + settings.connection.redacted(), "connected");
        for (const auto& topic : topics) {
            const auto target = redsink::sql::TableRef::make(settings.schema, settings.table_for(topic));
            try {
                // What the sink's start will check (Sink's preflight), for the policies the properties name.
                const auto state = redsink::inspect_table(conn, target);
                const bool missing = state.columns.empty();
                if (missing && settings.evolution == "none")
                    throw std::runtime_error("the table is missing, and schema.evolution=none does not create it");
                const bool upsert = settings.insert_mode == "upsert";
                const bool on_conflict =
                    upsert && settings.dialect == "postgres" && (missing || !state.primary_key.empty());
                redsink::PrivilegeNeeds needs;
                needs.creates_table = missing;
                needs.stages = needs.reads = upsert || settings.delete_enabled;
                needs.deletes = settings.delete_enabled || (upsert && !on_conflict);
                needs.updates = on_conflict;
                needs.lock_table = settings.dialect == "redshift";
                if (settings.dead_letters)
                    needs.dead_letter_table = redsink::sql::TableRef::make(settings.schema, settings.dead_letter_table);
                if (settings.exactly_once) needs.positions_table = redsink::detail::positions_table(target);
                if (settings.order_by != redsink::debezium::OrderBy::none && settings.delete_enabled)
                    needs.own_tables.push_back(redsink::detail::tombstones_table(target));
                redsink::check_privileges(conn, target, state, needs);
                report(true, "table " + target.display() + " (" + topic + ")",
                       missing ? "will be created" : "privileges");
            } catch (const std::exception& error) {
                report(false, "table " + target.display() + " (" + topic + ")", error.what());
            }
        }
    } catch (const std::exception& error) {
        report(false, "database " + settings.connection.redacted(), error.what());
    }
    std::printf("%s\n", problems == 0 ? "ready" : "not ready");
    return problems == 0 ? 0 : exit_failed;
}

// ---- --help --------------------------------------------------------------------------------------

void help(const char* program) {
    std::printf(
        "usage: %s CONNECTOR.properties     run the connector until SIGTERM or SIGINT\n"
        "       %s --check CONNECTOR.properties   check the properties, the database and Kafka, and exit\n"
        "       %s --help | --version\n\n"
        "Streams Debezium topics from Kafka into Redshift or PostgreSQL, a table per topic, each created from\n"
        "its messages' schemas and given the columns they add (docs/connector.md).\n"
        "Every property can also come from the environment, over the file: REDSINK_ and its name in capitals\n"
        "with _ for . (REDSINK_INSERT_MODE=insert); the password only from REDSINK_CONNECTION_PASSWORD or\n"
        "connection.password.file. Unknown properties are errors.\n\nproperties (default; Kafka Connect's):\n",
        program, program, program);
    for (const auto& spec : connector::property_table) {
        std::printf("  %-26s %s", std::string(spec.name).c_str(), std::string(spec.meaning).c_str());
        if (!spec.alias.empty()) std::printf("; also as %s", std::string(spec.alias).c_str());
        if (!spec.fallback.empty()) std::printf("; default %s", std::string(spec.fallback).c_str());
        if (!spec.connect.empty()) std::printf("; Connect: %s", std::string(spec.connect).c_str());
        std::printf("\n");
    }
    std::printf(
        "  %-26s any librdkafka consumer property\n  %-26s the table one topic goes into, over table.name.format\n\n"
        "exit codes:\n"
        "  0  stopped by SIGTERM or SIGINT: everything read written and its offsets committed (--check: ready)\n"
        "  1  a failure while running, or a stop that had to give up what it could not write within\n"
        "     shutdown.timeout.ms (read again at the next start) (--check: not ready)\n"
        "  2  a configuration error: the properties, the environment, the command line\n"
        "  3  fenced (delivery.guarantee=exactly_once): another member claimed a partition it still wrote\n"
        "  128+signal  a second SIGTERM or SIGINT: exited at once (143, 130)\n",
        "kafka.<property>", "topic.<topic>.table");
}

}  // namespace

int main(int argc, char** argv, char** environment) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        help(argv[0]);
        return 0;
    }
    if (args.size() == 1 && args[0] == "--version") {
        std::printf("redsink_connector %s\n", REDSINK_VERSION);
        return 0;
    }
    const bool checking = args.size() == 2 && args[0] == "--check";
    if (!checking && (args.size() != 1 || args[0].starts_with("-"))) {
        std::fprintf(stderr, "usage: %s [--check] CONNECTOR.properties, or --help (docs/connector.md)\n", argv[0]);
        return exit_config;
    }
    std::optional<Settings> settings;
    try {
        auto properties = connector::read_properties(args.back());
        connector::apply_environment(properties, environment);
        settings = connector::settings_from(properties);
        if (checking) return check(*settings);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGINT, on_signal);
        const ShutdownClock clock(settings->shutdown_timeout);
        try {
            return run(*settings, clock);
        } catch (...) {
            if (clock.gave_up())
                log(Level::error, "the stop gave up what it could not write within shutdown.timeout.ms");
            throw;
        }
    } catch (const ConfigError& error) {
        log(Level::error, std::string("configuration: ") + error.what());
        return exit_config;
    } catch (const redsink::Error& error) {
        log(Level::error, table_of(error.what()), error.what());
        return error.kind() == redsink::ErrorKind::fenced ? exit_fenced : exit_failed;
    } catch (const std::exception& error) {
        log(Level::error, table_of(error.what()), error.what());
        return exit_failed;
    }
}
