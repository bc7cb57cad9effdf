#pragma once

// Owning handles over librdkafka's C API, and the properties a consumer is configured with.
#include <redsink/kafka/error.hpp>

#include <librdkafka/rdkafka.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace redsink::kafka {

// librdkafka's properties by their names (bootstrap.servers, group.id, security.protocol, ...).
using Properties = std::map<std::string, std::string, std::less<>>;

// Properties whose values are secrets: never printed, and an error about one does not quote
// librdkafka's message (which may quote the value).
[[nodiscard]] inline bool secret_property(std::string_view name) noexcept {
    for (const std::string_view word : {"password", "secret", "sasl.jaas.config", "sasl.oauthbearer.config",
                                        "ssl.key.pem", "ssl_key", "ssl.keystore"})
        if (name.find(word) != std::string_view::npos) return true;
    return false;
}

namespace detail {

struct ConfDelete {
    void operator()(rd_kafka_conf_t* conf) const noexcept { rd_kafka_conf_destroy(conf); }
};
struct HandleDelete {
    void operator()(rd_kafka_t* handle) const noexcept { rd_kafka_destroy(handle); }
};
struct ListDelete {
    void operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
struct MessageDelete {
    void operator()(rd_kafka_message_t* message) const noexcept { rd_kafka_message_destroy(message); }
};
struct ErrorDelete {
    void operator()(rd_kafka_error_t* error) const noexcept { rd_kafka_error_destroy(error); }
};

using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDelete>;
using Handle = std::unique_ptr<rd_kafka_t, HandleDelete>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDelete>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDelete>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDelete>;

// A configuration with `properties` set, in order. A refused property is an error naming it
// (and librdkafka's reason, unless the property is a secret).
[[nodiscard]] inline Conf make_conf(const Properties& properties) {
    Conf conf(rd_kafka_conf_new());
    std::array<char, 512> reason{};
    for (const auto& [name, value] : properties) {
        if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason.data(), reason.size()) !=
            RD_KAFKA_CONF_OK) {
            if (secret_property(name))
                throw KafkaError("the property " + name + " was refused (its value is not shown)");
            throw KafkaError("the property " + name + " was refused: " + reason.data());
        }
    }
    return conf;
}

[[nodiscard]] inline PartitionList make_list(int size = 0) {
    return PartitionList(rd_kafka_topic_partition_list_new(size));
}

// Throws when `error` is set, naming what was being done.
inline void check(rd_kafka_resp_err_t error, std::string_view doing) {
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw KafkaError(std::string(doing) + " failed: " + rd_kafka_err2str(error), error);
}
inline void check(rd_kafka_error_t* raw, std::string_view doing) {
    const ErrorPtr error(raw);
    if (error) throw KafkaError(std::string(doing) + " failed: " + rd_kafka_error_string(error.get()), *error);
}

}  // namespace detail
}  // namespace redsink::kafka
