#pragma once

// The connector program's properties (examples/connector.cpp): the table of every property (its
// default and Kafka Connect's counterpart), and reading them from the properties file and the
// environment, an unknown name refused with the closest known one. docs/connector.md.
#include <redsink/kafka.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace connector {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using Properties = std::map<std::string, std::string>;

// One property: its name, default, Kafka Connect's (or Debezium's JDBC sink's) counterpart, what
// it means, and the counterpart's name when the program takes it too (an alias).
struct PropertySpec {
    std::string_view name;
    std::string_view fallback;
    std::string_view connect;
    std::string_view meaning;
    std::string_view alias = {};
};

// Every property but the open-ended ones (kafka.<property>, topic.<topic>.table).
inline constexpr std::array<PropertySpec, 30> property_table{{
    {"connection.hostname", "", "connection.url (its host)", "the warehouse's host; without it, REDSINK_CONNINFO"},
    {"connection.port", "5439", "connection.url (its port)", "the warehouse's port"},
    {"connection.username", "", "connection.username, connection.user", "the user", "connection.user"},
    {"connection.database", "", "connection.url (its database)", "the database"},
    {"connection.password", "", "connection.password", "only from REDSINK_CONNECTION_PASSWORD, never the file"},
    {"connection.password.file", "", "", "a file whose first line is the password"},
    {"connection.sslmode", "libpq's", "connection.url (sslmode)", "libpq's sslmode"},
    {"table.schema", "public", "", "the schema the tables are in"},
    {"dialect", "redshift", "dialect.name", "redshift or postgres"},
    {"insert.mode", "upsert", "insert.mode", "insert (a row per event) or upsert (a row per key)"},
    {"delete.enabled", "true", "delete.enabled (default false there)", "true: deletes delete the row; false: ignored"},
    {"schema.evolution", "basic", "schema.evolution", "basic: create tables, add columns; none: must match"},
    {"tasks.max", "1", "tasks.max", "connections writing in parallel, per table"},
    {"errors.tolerance", "none", "errors.tolerance",
     "none: a message that cannot be written stops the program; all: it goes to the dead-letter table"},
    {"errors.deadletter.table.name", "redsink_dead_letters", "errors.deadletter.topic.name (a topic there)",
     "with errors.tolerance=all: the dead letters' table, in table.schema"},
    {"order.by", "none", "",
     "none, source.lsn or source.ts_ms: each key keeps its newest event by it; late older ones are dropped"},
    {"delivery.guarantee", "at_least_once", "",
     "at_least_once, or exactly_once: each table's positions say where its partitions resume"},
    {"batch.rows", "10000", "batch.size", "events per batch and task", "batch.size"},
    {"bootstrap.servers", "", "bootstrap.servers (the worker's)", "Kafka's brokers"},
    {"group.id", "redsink-connector", "connect-<name>", "the consumer group"},
    {"topics", "", "topics", "comma-separated topics to consume (or topics.regex)"},
    {"topics.regex", "", "topics.regex",
     "the topics whose whole name matches this regular expression, those created later included"},
    {"table.name.format", "${source.table}", "table.name.format (default ${topic} there)",
     "a topic's table: ${topic} the topic's name, ${source.table} its last part"},
    {"primary.key.mode", "record_key", "primary.key.mode (default none there)",
     "the table's key: record_key (the message key's fields), record_value, kafka or none"},
    {"primary.key.fields", "", "primary.key.fields",
     "comma-separated: record_value's key columns; record_key's subset of the message key (default all)"},
    {"name", "redsink-connector", "name", "the sessions' application_name"},
    {"progress.interval.ms", "5000", "", "how often progress is logged"},
    {"metrics.port", "0", "", "serves Prometheus metrics at GET /metrics on this port; 0: none"},
    {"shutdown.timeout.ms", "30000", "task.shutdown.graceful.timeout.ms", "how long a stop may take",
     "task.shutdown.graceful.timeout.ms"},
    {"kafka.session.timeout.ms", "10000", "consumer.override.session.timeout.ms",
     "librdkafka's; the longest wait for a crashed member's partitions"},
}};

// The smallest number of one-character edits from `a` to `b` (Levenshtein).
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const auto above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// The known name closest to `name`, when it is close enough to be a misspelling of it.
[[nodiscard]] inline std::optional<std::string> closest_property(std::string_view name) {
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(2, name.size() / 4) + 1;
    for (const auto& spec : property_table)
        for (const auto known : {spec.name, spec.alias})
            if (!known.empty())
                if (const auto distance = edit_distance(name, known); distance < best_distance) {
                    best_distance = distance;
                    best = std::string(known);
                }
    return best;
}

// The property `name` stands for (an alias's property), or nothing.
[[nodiscard]] inline const PropertySpec* find_property(std::string_view name) {
    for (const auto& spec : property_table)
        if (spec.name == name || (!spec.alias.empty() && spec.alias == name)) return &spec;
    return nullptr;
}

[[nodiscard]] inline bool open_ended(std::string_view name) {
    return name.starts_with("kafka.") || (name.starts_with("topic.") && name.ends_with(".table") && name.size() > 12);
}

// Whether librdkafka knows `name` (a consumer property someone forgot to prefix with kafka.).
[[nodiscard]] inline bool librdkafka_property(const std::string& name, const std::string& value) {
    const redsink::kafka::detail::Conf conf(rd_kafka_conf_new());
    std::array<char, 512> reason{};
    return rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason.data(), reason.size()) !=
           RD_KAFKA_CONF_UNKNOWN;
}

// An unknown name is an error naming it and, when there is one, the name it was meant to be.
[[noreturn]] inline void unknown_property(const std::string& where, const std::string& name, const std::string& value) {
    std::string message = where + "unknown property " + name;
    if (const auto closest = closest_property(name))
        message += "; did you mean " + *closest + "?";
    else if (name.starts_with("topic."))
        message += "; did you mean topic.<topic>.table?";
    else if (librdkafka_property(name, value))
        message += "; did you mean kafka." + name + " (a librdkafka property)?";
    else
        message += " (redsink_connector --help lists them)";
    throw ConfigError(message);
}

// The property `name` stands for: itself, or the property of which it is an alias.
[[nodiscard]] inline std::string canonical(const std::string& name) {
    const auto* spec = find_property(name);
    return spec ? std::string(spec->name) : name;
}

// Kafka Connect's .properties: key=value (or key: value) lines, # and ! comments. Every name must
// be a property, an alias of one, or open-ended.
inline Properties read_properties(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read the properties file " + path);
    Properties out;
    std::map<std::string, std::string> given;  // property -> the name the file gave it under
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line[first] == '!') continue;
        const auto where = path + ":" + std::to_string(number) + ": ";
        const auto split = line.find_first_of("=:", first);
        if (split == std::string::npos) throw ConfigError(where + "expected key=value");
        const auto trim = [](std::string text) {
            const auto begin = text.find_first_not_of(" \t\r");
            const auto end = text.find_last_not_of(" \t\r");
            return begin == std::string::npos ? std::string() : text.substr(begin, end - begin + 1);
        };
        const auto key = trim(line.substr(first, split - first));
        auto value = trim(line.substr(split + 1));
        if (key == "connection.password")
            throw ConfigError(where +
                              "connection.password does not belong in the file: set REDSINK_CONNECTION_PASSWORD "
                              "or connection.password.file");
        if (!find_property(key) && !open_ended(key)) unknown_property(where, key, value);
        const auto property = canonical(key);
        if (const auto earlier = given.find(property); earlier != given.end() && earlier->second != key)
            throw ConfigError(where + earlier->second + " and " + key + " are one property: give one of them");
        given[property] = key;
        out[property] = std::move(value);
    }
    return out;
}

// REDSINK_INSERT_MODE overrides insert.mode, and so on: REDSINK_ and the name in capitals with _
// for . (REDSINK_KAFKA_* for kafka.*, REDSINK_TOPIC_<topic>_TABLE for a topic without _ in its
// name). Other REDSINK_ variables belong to other tools (REDSINK_CONNINFO, the build's and the
// tests'), except one within two edits of a property's: a misspelling, an error.
inline void apply_environment(Properties& properties, char** environment) {
    const auto variable = [](std::string_view name) {
        std::string out = "REDSINK_";
        for (const char c : name) out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
        return out;
    };
    for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const auto split = text.find('=');
        if (text.rfind("REDSINK_", 0) != 0 || split == std::string::npos) continue;
        const auto name = text.substr(0, split);
        if (name == "REDSINK_CONNINFO") continue;
        std::string key;
        for (const char c : name.substr(8)) key += c == '_' ? '.' : static_cast<char>(std::tolower(c));
        if (find_property(key) || open_ended(key)) {
            properties[canonical(key)] = text.substr(split + 1);
            continue;
        }
        for (const auto& spec : property_table)
            if (edit_distance(name, variable(spec.name)) <= 2)
                throw ConfigError("the environment variable " + name + " is no property's; did you mean " +
                                  variable(spec.name) + " (" + std::string(spec.name) + ")?");
    }
}

}  // namespace connector
