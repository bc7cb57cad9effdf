#pragma once

// The connector program's settings (examples/connector.cpp): what the properties
// (connector_property_table.hpp) make, each checked, and checked against the others.
// docs/connector.md.
#include "connector_property_table.hpp"

#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <librdkafka/rdkafka.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace connector {

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
    std::string evolution;                                                   // none | basic
    bool dead_letters = false;                                               // errors.tolerance=all
    bool exactly_once = false;                                               // delivery.guarantee=exactly_once
    redsink::debezium::OrderBy order_by = redsink::debezium::OrderBy::none;  // order.by
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
    if (const auto order = one_of(properties, "order.by", "none", {"none", "source.lsn", "source.ts_ms"});
        order != "none") {
        out.order_by =
            order == "source.lsn" ? redsink::debezium::OrderBy::source_lsn : redsink::debezium::OrderBy::source_ts_ms;
        if (out.insert_mode != "upsert")
            throw ConfigError("order.by=" + order +
                              " keeps each key's newest event in its row: it needs insert.mode=upsert");
    }
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
