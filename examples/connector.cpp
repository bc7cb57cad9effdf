// The connector as a program: streams Debezium topics of the tutorial's inventory database
// (customers, products, orders, addresses) from Kafka into Redshift or PostgreSQL, configured
// like a Kafka Connect sink connector from a properties file and the environment.
//
//     redsink_connector connector.properties
//
// docs/connector.md lists the properties and shows how to add a table. SIGTERM or SIGINT stops it
// gracefully: every sink flushed, the offsets committed, the group left.
#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace inventory {

// The tables of Debezium's tutorial (its MySQL inventory database).
struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::string, email));
};
struct Product {
    BOOST_HANA_DEFINE_STRUCT(Product, (std::int32_t, id), (std::string, name),
                             (std::optional<std::string>, description), (std::optional<double>, weight));
};
struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int32_t, order_number), (std::chrono::year_month_day, order_date),
                             (std::int32_t, purchaser), (std::int32_t, quantity), (std::int32_t, product_id));
};
struct Address {
    BOOST_HANA_DEFINE_STRUCT(Address, (std::int32_t, id), (std::int32_t, customer_id), (std::string, street),
                             (std::string, city), (std::string, state), (std::string, zip), (std::string, type));
};

}  // namespace inventory

namespace {

// ---- configuration ------------------------------------------------------------------------------

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using Properties = std::map<std::string, std::string>;

// Kafka Connect's .properties: key=value (or key: value) lines, # and ! comments.
Properties read_properties(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read the properties file " + path);
    Properties out;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line[first] == '!') continue;
        const auto split = line.find_first_of("=:", first);
        if (split == std::string::npos) throw ConfigError(path + ":" + std::to_string(number) + ": expected key=value");
        const auto trim = [](std::string text) {
            const auto begin = text.find_first_not_of(" \t\r");
            const auto end = text.find_last_not_of(" \t\r");
            return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
        };
        const auto key = trim(line.substr(first, split - first));
        if (key == "connection.password")
            throw ConfigError(path + ":" + std::to_string(number) +
                              ": connection.password does not belong in the file: set REDSINK_CONNECTION_PASSWORD "
                              "or connection.password.file");
        out[key] = trim(line.substr(split + 1));
    }
    return out;
}

// REDSINK_INSERT_MODE overrides insert.mode, and so on: every property from the environment.
void apply_environment(Properties& properties, char** environment) {
    for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const auto split = text.find('=');
        if (text.rfind("REDSINK_", 0) != 0 || split == std::string::npos || text.rfind("REDSINK_CONNINFO", 0) == 0)
            continue;
        std::string key;
        for (const char c : text.substr(8, split - 8)) key += c == '_' ? '.' : static_cast<char>(std::tolower(c));
        properties[key] = text.substr(split + 1);
    }
}

std::string required(const Properties& properties, const std::string& key) {
    const auto at = properties.find(key);
    if (at == properties.end() || at->second.empty()) throw ConfigError("the property " + key + " is missing");
    return at->second;
}

std::string optional_property(const Properties& properties, const std::string& key, std::string fallback) {
    const auto at = properties.find(key);
    return at == properties.end() || at->second.empty() ? fallback : at->second;
}

std::string one_of(const Properties& properties, const std::string& key, const std::string& fallback,
                   std::initializer_list<const char*> allowed) {
    const auto value = optional_property(properties, key, fallback);
    std::string list;
    for (const auto* option : allowed) {
        if (value == option) return value;
        list += (list.empty() ? "" : ", ") + std::string(option);
    }
    throw ConfigError("the property " + key + " is \"" + value + "\"; expected one of " + list);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (const auto begin = item.find_first_not_of(" \t"); begin != std::string::npos)
            out.push_back(item.substr(begin, item.find_last_not_of(" \t") - begin + 1));
    return out;
}

struct Settings {
    redsink::ConnectionConfig connection;
    std::string schema;
    std::string dialect;      // redshift | postgres
    std::string insert_mode;  // insert | upsert
    bool delete_enabled = false;
    std::string evolution;  // none | basic
    std::size_t tasks = 1;
    std::size_t batch_rows = 10'000;
    redsink::kafka::ConnectorOptions kafka;
    std::vector<std::string> topics;
    std::map<std::string, std::string> tables;  // topic -> table
    std::chrono::milliseconds progress_interval{5000};
};

Settings settings_from(const Properties& properties) {
    Settings out;
    if (properties.contains("connection.hostname") || !std::getenv("REDSINK_CONNINFO")) {
        out.connection.host = required(properties, "connection.hostname");
        out.connection.port = optional_property(properties, "connection.port", "5439");
        out.connection.user = required(properties, "connection.username");
        out.connection.database = required(properties, "connection.database");
        out.connection.sslmode = optional_property(properties, "connection.sslmode", "");
        if (const auto file = optional_property(properties, "connection.password.file", ""); !file.empty()) {
            std::ifstream in(file);
            if (!in) throw ConfigError("cannot read connection.password.file " + file);
            std::getline(in, out.connection.password);
        } else if (properties.contains("connection.password")) {
            out.connection.password = properties.at("connection.password");  // from the environment
        }
    } else {
        out.connection = redsink::ConnectionConfig::from_env();  // REDSINK_CONNINFO
    }
    out.connection.application_name = optional_property(properties, "name", "redsink-connector");
    out.schema = optional_property(properties, "table.schema", "public");
    out.dialect = one_of(properties, "dialect", "redshift", {"redshift", "postgres"});
    out.insert_mode = one_of(properties, "insert.mode", "upsert", {"insert", "upsert"});
    out.delete_enabled = one_of(properties, "delete.enabled", "true", {"true", "false"}) == "true";
    out.evolution = one_of(properties, "schema.evolution", "basic", {"none", "basic"});
    const auto number = [&](const std::string& key, const std::string& fallback) {
        const auto text = optional_property(properties, key, fallback);
        try {
            std::size_t used = 0;
            const auto value = std::stoul(text, &used);
            if (used == text.size() && value > 0) return static_cast<std::size_t>(value);
        } catch (const std::exception&) {
        }
        throw ConfigError("the property " + key + " is \"" + text + "\"; expected a positive number");
    };
    out.tasks = number("tasks.max", "1");
    out.batch_rows = number("batch.rows", "10000");
    out.progress_interval = std::chrono::milliseconds(number("progress.interval.ms", "5000"));
    out.kafka.properties["bootstrap.servers"] = required(properties, "bootstrap.servers");
    out.kafka.properties["group.id"] = optional_property(properties, "group.id", "redsink-connector");
    for (const auto& [key, value] : properties)
        if (key.rfind("kafka.", 0) == 0) out.kafka.properties[key.substr(6)] = value;
    out.topics = split_list(required(properties, "topics"));
    for (const auto& topic : out.topics) {
        // One table per topic, named after the topic's last part unless topic.<topic>.table says.
        const auto rename = properties.find("topic." + topic + ".table");
        out.tables[topic] = rename != properties.end() ? rename->second : topic.substr(topic.rfind('.') + 1);
    }
    return out;
}

// ---- sinks, by the settings ---------------------------------------------------------------------

// The records compiled in, by the source table a topic names (its last part).
template <class Visit>
void with_record(const std::string& source_table, Visit&& visit) {
    if (source_table == "customers")
        visit.template operator()<inventory::Customer, redsink::primary_key<"id">>();
    else if (source_table == "products")
        visit.template operator()<inventory::Product, redsink::primary_key<"id">>();
    else if (source_table == "orders")
        visit.template operator()<inventory::Order, redsink::primary_key<"order_number">>();
    else if (source_table == "addresses")
        visit.template operator()<inventory::Address, redsink::primary_key<"id">>();
    else
        throw ConfigError("no record for the source table " + source_table +
                          " (known: customers, products, orders, addresses; docs/connector.md shows how to add one)");
}

// Calls `visit.operator()<Policies...>()` with the policies the settings name.
template <class Visit>
void with_policies(const Settings& settings, Visit&& visit) {
    const auto with_dialect = [&]<class... P>() {
        if (settings.dialect == "redshift")
            visit.template operator()<P..., redsink::redshift>();
        else
            visit.template operator()<P..., redsink::postgres>();
    };
    const auto with_schema = [&]<class... P>() {
        if (settings.evolution == "basic")
            with_dialect.template operator()<P..., redsink::evolve_schema>();
        else
            with_dialect.template operator()<P..., redsink::fixed_schema>();
    };
    const auto with_deletes = [&]<class... P>() {
        if (settings.delete_enabled)
            with_schema.template operator()<P..., redsink::hard_delete>();
        else
            with_schema.template operator()<P..., redsink::ignore_deletes>();
    };
    if (settings.insert_mode == "upsert")
        with_deletes.template operator()<redsink::upsert>();
    else
        with_deletes.template operator()<redsink::append>();
}

// Owns the sinks: each one is a Sink of its record and the settings' policies.
struct SinkHolder {
    virtual ~SinkHolder() = default;
};
template <class S>
struct HeldSink final : SinkHolder {
    template <class... Args>
    explicit HeldSink(Args&&... args) : sink(std::forward<Args>(args)...) {}
    S sink;
};

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) {
    stop_requested.store(true);
}

void print_progress(redsink::kafka::Connector& connector) {
    const auto progress = connector.progress();
    std::string last = "never";
    if (progress.last_commit) {
        const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() -
                                                                               *progress.last_commit);
        last = std::to_string(ago.count()) + " ms ago";
    }
    std::printf("progress: %llu events, %.0f events/s, %llu offset commits (last %s)",
                static_cast<unsigned long long>(progress.messages), progress.messages_per_second,
                static_cast<unsigned long long>(progress.offset_commits), last.c_str());
    for (const auto& [where, partition] : progress.partitions) {
        if (partition.lag >= 0)
            std::printf(", %s[%d] lag %lld", where.topic.c_str(), where.partition,
                        static_cast<long long>(partition.lag));
        else
            std::printf(", %s[%d] lag unknown", where.topic.c_str(), where.partition);
    }
    if (progress.consumer_errors > 0) std::printf(", last consumer error: %s", progress.last_consumer_error.c_str());
    std::printf("\n");
    std::fflush(stdout);
}

int run(const Settings& settings) {
    std::vector<std::unique_ptr<SinkHolder>> sinks;
    redsink::kafka::Connector connector(settings.kafka);
    for (const auto& topic : settings.topics) {
        const auto& table = settings.tables.at(topic);
        with_record(topic.substr(topic.rfind('.') + 1), [&]<class Record, class Key>() {
            with_policies(settings, [&]<class... Policies>() {
                using S = redsink::Sink<Record, Key, Policies...>;
                redsink::SinkOptions options;
                options.schema = settings.schema;
                options.table = table;
                options.tasks = settings.tasks;
                options.batch_rows = settings.batch_rows;
                auto held = std::make_unique<HeldSink<S>>(settings.connection, options);
                connector.route<Record>(topic, held->sink);
                sinks.push_back(std::move(held));
            });
        });
        std::printf("%s -> %s.%s\n", topic.c_str(), settings.schema.c_str(), table.c_str());
    }
    std::printf("writing to %s (%s, insert.mode=%s, delete.enabled=%s, schema.evolution=%s, tasks.max=%zu)\n",
                settings.connection.redacted().c_str(), settings.dialect.c_str(), settings.insert_mode.c_str(),
                settings.delete_enabled ? "true" : "false", settings.evolution.c_str(), settings.tasks);
    std::fflush(stdout);
    connector.start();
    auto next_progress = std::chrono::steady_clock::now() + settings.progress_interval;
    while (!stop_requested.load()) {
        connector.poll();
        if (std::chrono::steady_clock::now() >= next_progress) {
            print_progress(connector);
            next_progress += settings.progress_interval;
        }
    }
    std::printf("stopping: flushing the sinks and committing offsets\n");
    connector.close();
    print_progress(connector);
    return 0;
}

}  // namespace

int main(int argc, char** argv, char** environment) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CONNECTOR.properties (docs/connector.md)\n", argv[0]);
        return 2;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    try {
        auto properties = read_properties(argv[1]);
        apply_environment(properties, environment);
        return run(settings_from(properties));
    } catch (const ConfigError& error) {
        std::fprintf(stderr, "configuration: %s\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 1;
    }
}
