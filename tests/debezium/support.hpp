#pragma once

// Records for the Debezium fixtures, and a reader for their message files (see
// fixtures/make_fixtures.py for the format).
#include <redsink/debezium.hpp>
#include <redsink/record.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace redsink_test::dbz {

// inventory.customers of Debezium's tutorial.
struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::optional<std::string>, email));
};

// inventory.products (MySQL), without schemas.
struct Product {
    BOOST_HANA_DEFINE_STRUCT(Product, (std::int32_t, id), (std::string, name),
                             (std::optional<std::string>, description), (std::optional<double>, weight));
};

// One member per logical type.
struct Kinds {
    BOOST_HANA_DEFINE_STRUCT(Kinds, (std::int64_t, id), (bool, flag), (std::int16_t, small), (std::int32_t, medium),
                             (double, ratio), (float, ratio32), (redsink::decimal<12, 2>, amount),
                             (std::optional<redsink::decimal<38, 0>>, big),
                             (std::optional<redsink::decimal<20, 4>>, vsd), (std::chrono::year_month_day, day),
                             (std::optional<std::int32_t>, at_ms), (std::optional<std::string>, at_us),
                             (std::optional<std::int64_t>, at_ns), (std::optional<redsink::timestamp>, ts_ms),
                             (std::optional<redsink::timestamp>, ts_us), (std::optional<redsink::timestamp>, ts_ns),
                             (std::optional<redsink::timestamptz>, zoned), (std::optional<std::string>, zoned_time),
                             (std::optional<redsink::json>, doc), (std::optional<redsink::varchar<36>>, uid),
                             (std::optional<std::string>, mood), (std::optional<std::string>, raw),
                             (std::optional<redsink::json>, tags));
};

// A message read from a fixture, owning its bytes.
struct StoredMessage {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<std::string> comments;  // the "# ..." lines before it

    [[nodiscard]] redsink::debezium::Message message() const {
        redsink::debezium::Message out{topic, partition, offset, std::nullopt, std::nullopt};
        if (key) out.key = *key;
        if (value) out.value = *value;
        return out;
    }
};

inline std::string fixture_path(const std::string& name) {
    return std::string(REDSINK_SOURCE_DIR) + "/tests/debezium/" + name;
}

// "key: text" is the text, "key:" alone is absent.
inline std::optional<std::string> payload_line(const std::string& line, const std::string& label) {
    REQUIRE(line.rfind(label, 0) == 0);
    if (line.size() == label.size()) return std::nullopt;
    REQUIRE(line[label.size()] == ' ');
    return line.substr(label.size() + 1);
}

inline std::vector<StoredMessage> read_messages(const std::string& path, const std::string& topic = "dbserver1") {
    std::ifstream in(path, std::ios::binary);
    INFO(path);
    REQUIRE(in.good());
    std::vector<StoredMessage> out;
    std::vector<std::string> comments;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("#", 0) == 0) {
            comments.push_back(line);
            continue;
        }
        if (line.empty()) continue;
        REQUIRE(line.rfind("@ ", 0) == 0);
        StoredMessage message;
        message.topic = topic;
        std::istringstream place(line.substr(2));
        place >> message.partition >> message.offset;
        REQUIRE(std::getline(in, line));
        message.key = payload_line(line, "key:");
        REQUIRE(std::getline(in, line));
        message.value = payload_line(line, "value:");
        message.comments = std::move(comments);
        comments.clear();
        out.push_back(std::move(message));
    }
    return out;
}

inline redsink::timestamp at_micros(std::int64_t micros) {
    return redsink::timestamp(std::chrono::sys_time<std::chrono::microseconds>(std::chrono::microseconds(micros)));
}

}  // namespace redsink_test::dbz
