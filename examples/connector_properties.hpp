#pragma once

// The connector program's properties (examples/connector.cpp): the table of every property, the
// file and the environment they come from, and the settings they make. docs/connector.md.
#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

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
inline constexpr std::array<PropertySpec, 29> property_table{{
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

inline std::string optional_property(const Properties& properties, const std::string& key, std::string fallback) {
    const auto at = properties.find(key);
    return at == properties.end() || at->second.empty() ? fallback : at->second;
}

inline std::string required(const Properties& properties, const std::string& key) {
    const auto value = optional_property(properties, key, "");
    if (value.empty()) throw ConfigError("the property " + key + " is missing");
    return value;
}

inline std::string one_of(const Properties& properties, const std::string& key, const std::string& fallback,
                          std::initializer_list<const char*> allowed) {
    const auto value = optional_property(properties, key, fallback);
    std::string list;
    for (const auto* option : allowed) {
        if (value == option) return value;
        list += (list.empty() ? "" : ", ") + std::string(option);
    }
    throw ConfigError("the property " + key + " is \"" + value + "\"; expected one of " + list);
}

inline std::size_t positive(const Properties& properties, const std::string& key, const std::string& fallback) {
    const auto text = optional_property(properties, key, fallback);
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc{} && end == text.data() + text.size() && value > 0) return value;
    throw ConfigError("the property " + key + " is \"" + text + "\"; expected a positive number");
}

// A TCP port to listen on: 0 (none) to 65535.
inline std::uint16_t port_number(const Properties& properties, const std::string& key, const std::string& fallback) {
    const auto text = optional_property(properties, key, fallback);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc{} && end == text.data() + text.size() && value <= 65535)
        return static_cast<std::uint16_t>(value);
    throw ConfigError("the property " + key + " is \"" + text + "\"; expected a port number, 0 (none) to 65535");
}

inline std::vector<std::string> split_list(const std::string& text) {
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
    std::string evolution;      // none | basic
    bool dead_letters = false;  // errors.tolerance=all
    bool exactly_once = false;  // delivery.guarantee=exactly_once
    std::string dead_letter_table;
    std::size_t tasks = 1;
    std::size_t batch_rows = 10'000;
    redsink::kafka::ConnectorOptions kafka;
    std::vector<std::string> topics;             // or
    std::string topics_regex;                    // as given; subscription() makes librdkafka's pattern of it
    std::string table_format;                    // table.name.format
    std::map<std::string, std::string> renames;  // topic -> table, from topic.<topic>.table
    redsink::debezium::RowKey key;
    std::chrono::milliseconds progress_interval{5000};
    std::chrono::milliseconds shutdown_timeout{30'000};
    std::uint16_t metrics_port = 0;  // 0: no metrics

    // The table `topic` goes into: topic.<topic>.table, else table.name.format.
    [[nodiscard]] std::string table_for(const std::string& topic) const {
        if (const auto rename = renames.find(topic); rename != renames.end()) return rename->second;
        std::string out = table_format;
        for (const auto& [placeholder, value] : {std::pair<std::string, std::string>{"${topic}", topic},
                                                 {"${source.table}", topic.substr(topic.rfind('.') + 1)}})
            for (auto at = out.find(placeholder); at != std::string::npos;
                 at = out.find(placeholder, at + value.size()))
                out.replace(at, placeholder.size(), value);
        return out;
    }
    // What librdkafka subscribes to for topics.regex: the whole name matches, as in Kafka Connect.
    [[nodiscard]] std::string subscription_pattern() const {
        auto pattern = topics_regex;
        if (pattern.starts_with('^')) pattern.erase(0, 1);
        if (pattern.ends_with('$')) pattern.pop_back();
        return "^(" + pattern + ")$";
    }
};

// primary.key.mode and primary.key.fields, checked against insert.mode and delete.enabled.
inline redsink::debezium::RowKey key_from(const Properties& properties, const std::string& insert_mode,
                                          bool delete_enabled) {
    using redsink::debezium::KeyMode;
    redsink::debezium::RowKey key;
    const auto mode =
        one_of(properties, "primary.key.mode", "record_key", {"record_key", "record_value", "kafka", "none"});
    key.mode = mode == "record_key"     ? KeyMode::record_key
               : mode == "record_value" ? KeyMode::record_value
               : mode == "kafka"        ? KeyMode::kafka
                                        : KeyMode::none;
    key.fields = split_list(optional_property(properties, "primary.key.fields", ""));
    if (key.mode == KeyMode::record_value && key.fields.empty())
        throw ConfigError("primary.key.mode=record_value needs primary.key.fields: the row's fields that make the key");
    if ((key.mode == KeyMode::kafka || key.mode == KeyMode::none) && !key.fields.empty())
        throw ConfigError("primary.key.fields is given, and primary.key.mode=" + mode + " takes no fields");
    if (key.mode == KeyMode::none && insert_mode == "upsert")
        throw ConfigError(
            "insert.mode=upsert needs a key, and primary.key.mode=none gives none: set primary.key.mode "
            "(record_key, record_value, kafka) or insert.mode=insert");
    if (delete_enabled && key.mode != KeyMode::record_key && key.mode != KeyMode::record_value)
        throw ConfigError(
            "delete.enabled=true needs primary.key.mode=record_key or record_value (a delete names its row "
            "by key), and it is " +
            mode + ": set delete.enabled=false");
    return key;
}

inline Settings settings_from(const Properties& properties) {
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
    out.dead_letters = one_of(properties, "errors.tolerance", "none", {"none", "all"}) == "all";
    out.dead_letter_table = optional_property(properties, "errors.deadletter.table.name", "redsink_dead_letters");
    if (!out.dead_letters && properties.contains("errors.deadletter.table.name"))
        throw ConfigError(
            "errors.deadletter.table.name is given, and errors.tolerance is none: dead letters are "
            "written with errors.tolerance=all");
    out.exactly_once =
        one_of(properties, "delivery.guarantee", "at_least_once", {"at_least_once", "exactly_once"}) == "exactly_once";
    out.tasks = positive(properties, "tasks.max", "1");
    out.batch_rows = positive(properties, "batch.rows", "10000");
    out.progress_interval = std::chrono::milliseconds(positive(properties, "progress.interval.ms", "5000"));
    out.shutdown_timeout = std::chrono::milliseconds(positive(properties, "shutdown.timeout.ms", "30000"));
    out.metrics_port = port_number(properties, "metrics.port", "0");
    auto& kafka = out.kafka.properties;
    kafka["bootstrap.servers"] = required(properties, "bootstrap.servers");
    kafka["group.id"] = optional_property(properties, "group.id", "redsink-connector");
    // A crashed member's partitions wait this long for the group to drop it (docs/connector.md).
    kafka["session.timeout.ms"] = "10000";
    for (const auto& [key, value] : properties)
        if (key.rfind("kafka.", 0) == 0) kafka[key.substr(6)] = value;
    // librdkafka's names and values are checked now: a configuration error, not a failure later.
    const redsink::kafka::detail::Conf conf(rd_kafka_conf_new());
    std::array<char, 512> reason{};
    for (const auto& [name, value] : kafka)
        if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason.data(), reason.size()) !=
            RD_KAFKA_CONF_OK)
            throw ConfigError("the property kafka." + name + " was refused" +
                              (redsink::kafka::secret_property(name) ? std::string(" (its value is not shown)")
                                                                     : ": " + std::string(reason.data())));
    out.topics = split_list(optional_property(properties, "topics", ""));
    out.topics_regex = optional_property(properties, "topics.regex", "");
    if (out.topics.empty() == out.topics_regex.empty())
        throw ConfigError(out.topics.empty() ? "the property topics (or topics.regex) is missing"
                                             : "topics and topics.regex are both given: give one of them");
    if (!out.topics_regex.empty()) {
        try {
            (void)std::regex(out.topics_regex, std::regex::extended);
        } catch (const std::regex_error& error) {
            throw ConfigError("the property topics.regex is not a regular expression: " + std::string(error.what()));
        }
    }
    out.table_format = optional_property(properties, "table.name.format", "${source.table}");
    for (auto at = out.table_format.find("${"); at != std::string::npos; at = out.table_format.find("${", at + 2))
        if (out.table_format.compare(at, 8, "${topic}") != 0 &&
            out.table_format.compare(at, 15, "${source.table}") != 0)
            throw ConfigError("the property table.name.format is \"" + out.table_format +
                              "\": its placeholders are ${topic} and ${source.table}");
    // topic.<topic>.table: one topic's table, over table.name.format.
    for (const auto& [name, value] : properties)
        if (open_ended(name) && name.starts_with("topic.")) out.renames[name.substr(6, name.size() - 12)] = value;
    out.key = key_from(properties, out.insert_mode, out.delete_enabled);
    return out;
}

}  // namespace connector
