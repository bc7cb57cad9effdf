#pragma once

// The Debezium messages the decoder's and the connector's benchmarks read: the creates, updates
// and snapshot reads of the decoder tests' PostgreSQL fixture (envelopes with their schema, about
// 2.4 KB each), as benchmarks/debezium.cpp and benchmarks/connector.cpp use them.
#include <redsink/record.hpp>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace redsink_bench {

// inventory.customers of Debezium's tutorial, as the PostgreSQL connector sends it.
struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int32_t, id), (std::string, first_name), (std::string, last_name),
                             (std::optional<std::string>, email));
};

struct Stored {
    std::int64_t offset;
    std::string key;
    std::string value;
};

// The fixture's row events (ops c, u and r), in file order, offsets 0, 1, 2, ...
inline const std::vector<Stored>& fixture_messages() {
    static const auto stored = [] {
        const std::string path = std::string(REDSINK_SOURCE_DIR) + "/tests/debezium/fixtures/postgres_customers.txt";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path);
        std::vector<Stored> out;
        std::string line;
        std::int64_t offset = 0;
        while (std::getline(in, line)) {
            if (line.rfind("@ ", 0) != 0) continue;
            std::string key;
            std::string value;
            if (!std::getline(in, key) || !std::getline(in, value)) break;
            const bool row = value.find("\"op\":\"c\"") != std::string::npos ||
                             value.find("\"op\":\"u\"") != std::string::npos ||
                             value.find("\"op\":\"r\"") != std::string::npos;
            if (row && key.rfind("key: ", 0) == 0 && value.rfind("value: ", 0) == 0)
                out.push_back({offset++, key.substr(5), value.substr(7)});
        }
        if (out.size() < 4) throw std::runtime_error(path + ": fewer messages than expected");
        return out;
    }();
    return stored;
}

// The id a fixture message's key holds: {"schema":...,"payload":{"id":1001}}.
inline std::int32_t fixture_key_id(const Stored& message) {
    const std::string_view marker = "\"payload\":{\"id\":";
    const auto at = message.key.find(marker);
    if (at == std::string::npos) throw std::runtime_error("a fixture key without payload.id: " + message.key);
    return static_cast<std::int32_t>(std::stol(message.key.substr(at + marker.size())));
}

// `text` with every "id":<from> (a whole number) replaced by "id":<to>: the key's id and the
// row's, before and after.
inline std::string rekeyed(const std::string& text, std::int32_t from, std::int32_t to) {
    const std::string old_field = "\"id\":" + std::to_string(from);
    const std::string new_field = "\"id\":" + std::to_string(to);
    std::string out;
    out.reserve(text.size() + 16);
    std::size_t done = 0;
    for (auto at = text.find(old_field); at != std::string::npos; at = text.find(old_field, at + 1)) {
        const auto end = at + old_field.size();
        if (end < text.size() && text[end] >= '0' && text[end] <= '9') continue;  // a longer number
        out.append(text, done, at - done);
        out += new_field;
        done = end;
    }
    out.append(text, done);
    return out;
}

}  // namespace redsink_bench
