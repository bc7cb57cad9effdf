#pragma once

// librdkafka's mock cluster and a producer of Debezium-style change events for the connector's
// tests (the gotchas they follow are in ../shared/design/SOURCES.md and docs/testing.md).
#include <redsink/kafka.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <debezium/support.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace redsink_test::kafka {

// A mock cluster, owned by a handle of its own (destroyed after the cluster, as librdkafka needs).
class MockCluster {
public:
    explicit MockCluster(int brokers = 1) {
        std::array<char, 256> reason{};
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "0", reason.data(), reason.size());
        owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason.data(), reason.size());
        if (owner_ == nullptr) throw std::runtime_error(reason.data());
        cluster_ = rd_kafka_mock_cluster_new(owner_, brokers);
        if (cluster_ == nullptr) throw std::runtime_error("no mock cluster");
    }
    MockCluster(const MockCluster&) = delete;
    MockCluster& operator=(const MockCluster&) = delete;
    ~MockCluster() {
        rd_kafka_mock_cluster_destroy(cluster_);
        rd_kafka_destroy(owner_);
    }

    [[nodiscard]] std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
    void create_topic(const std::string& topic, int partitions) {
        if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw std::runtime_error("cannot create " + topic);
    }
    void broker_down(std::int32_t broker) { rd_kafka_mock_broker_set_down(cluster_, broker); }
    void broker_up(std::int32_t broker) { rd_kafka_mock_broker_set_up(cluster_, broker); }

    // Consumer properties for a group on this cluster, with the timings the mock needs.
    [[nodiscard]] redsink::kafka::Properties consumer(const std::string& group) const {
        return {{"bootstrap.servers", bootstraps()}, {"group.id", group},         {"session.timeout.ms", "6000"},
                {"heartbeat.interval.ms", "500"},    {"fetch.wait.max.ms", "50"}, {"log_level", "3"}};
    }

    // The offsets `group` committed for partitions 0..partitions-1 of `topic` (-1001: none).
    [[nodiscard]] std::vector<std::int64_t> committed(const std::string& group, const std::string& topic,
                                                      int partitions) const {
        auto out = try_committed(group, topic, partitions, 10'000);
        if (!out) throw std::runtime_error("reading the committed offsets of " + group + " failed");
        return *out;
    }

    // committed(), or nothing when the coordinator does not answer within `timeout_ms`.
    [[nodiscard]] std::optional<std::vector<std::int64_t>> try_committed(const std::string& group,
                                                                         const std::string& topic, int partitions,
                                                                         int timeout_ms) const {
        auto properties = consumer(group);
        auto conf = redsink::kafka::detail::make_conf(properties);
        std::array<char, 256> reason{};
        redsink::kafka::detail::Handle handle(
            rd_kafka_new(RD_KAFKA_CONSUMER, conf.release(), reason.data(), reason.size()));
        if (!handle) throw std::runtime_error(reason.data());
        auto list = redsink::kafka::detail::make_list(partitions);
        for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
        const auto error = rd_kafka_committed(handle.get(), list.get(), timeout_ms);
        std::vector<std::int64_t> out;
        for (int p = 0; p < partitions; ++p) out.push_back(list->elems[p].offset);
        rd_kafka_consumer_close(handle.get());
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
        return out;
    }

private:
    rd_kafka_t* owner_ = nullptr;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// A producer on the mock cluster: keyed messages to a given partition, a null value a tombstone.
class Producer {
public:
    explicit Producer(const MockCluster& cluster) {
        std::array<char, 256> reason{};
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstraps().c_str(), reason.data(), reason.size());
        rd_kafka_conf_set(conf, "linger.ms", "5", reason.data(), reason.size());
        handle_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason.data(), reason.size()));
        if (!handle_) throw std::runtime_error(reason.data());
    }

    // An absent key or value is Kafka's null (a tombstone's value, a message without a key).
    void send(const std::string& topic, int partition, const std::optional<std::string>& key,
              const std::optional<std::string>& value) {
        char* bytes = value ? const_cast<char*>(value->data()) : nullptr;
        const std::size_t size = value ? value->size() : 0;
        const char* key_bytes = key ? key->data() : nullptr;
        const std::size_t key_size = key ? key->size() : 0;
        const auto error =
            rd_kafka_producev(handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_bytes, key_size),
                              RD_KAFKA_V_VALUE(bytes, size), RD_KAFKA_V_END);
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error(rd_kafka_err2str(error));
        rd_kafka_poll(handle_.get(), 0);
    }
    void flush() { rd_kafka_flush(handle_.get(), 10'000); }

private:
    redsink::kafka::detail::Handle handle_;
};

inline std::string json_text(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            constexpr const char* hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[(c >> 4) & 0xF];
            out += hex[c & 0xF];
        } else {
            out += c;
        }
    }
    return out + "\"";
}

inline std::string customer_json(const dbz::Customer& row) {
    return R"({"id":)" + std::to_string(row.id) + R"(,"first_name":)" + json_text(row.first_name) + R"(,"last_name":)" +
           json_text(row.last_name) + R"(,"email":)" + (row.email ? json_text(*row.email) : std::string("null")) + "}";
}

// A topic written with keys that stay in one partition (id % partitions), and each partition's
// end offset: what the producers of the tests' streams share.
class KeyedTopic {
public:
    KeyedTopic(const MockCluster& cluster, std::string topic, int partitions)
        : cluster_(cluster),
          topic_(std::move(topic)),
          partitions_(partitions),
          ends_(static_cast<std::size_t>(partitions), 0),
          producer_(cluster) {}

    // Per partition, the offset after its last message.
    [[nodiscard]] const std::vector<std::int64_t>& ends() const noexcept { return ends_; }
    [[nodiscard]] std::int64_t total() const noexcept {
        std::int64_t sum = 0;
        for (const auto end : ends_) sum += end;
        return sum;
    }
    [[nodiscard]] const std::string& topic() const noexcept { return topic_; }
    [[nodiscard]] int partitions() const noexcept { return partitions_; }

    // Every partition's offset committed to Kafka at its end, by the consumers of `group` (not the
    // acknowledged offset alone: after a partition is lost and read again, the sink's acknowledged
    // offset is where it had been, while the replay is still under way). A partition assigned
    // again after its last message was acknowledged, with nothing read since, has no committed
    // offset in the connector's progress: it does not know where the group's offset is. Its
    // offset was committed at a revoke (nothing more to read), or it was not (the commit failed
    // while the coordinator was away, and the partition will be read again): Kafka says which.
    [[nodiscard]] bool caught_up(const redsink::kafka::Progress& progress, const std::string& group) const {
        bool ask_kafka = false;
        for (int p = 0; p < partitions_; ++p) {
            const auto end = ends_[static_cast<std::size_t>(p)];
            if (end == 0) continue;
            const auto at = progress.partitions.find({topic_, p});
            if (at == progress.partitions.end()) return false;
            const auto& partition = at->second;
            if (partition.committed == end) continue;
            const bool assigned_again =
                partition.committed < 0 && partition.next_offset < 0 && partition.acknowledged == end - 1;
            if (!assigned_again) return false;
            ask_kafka = true;
        }
        if (!ask_kafka) return true;
        const auto committed = cluster_.try_committed(group, topic_, partitions_, 2'000);
        if (!committed) return false;
        for (std::size_t p = 0; p < ends_.size(); ++p)
            if (ends_[p] != 0 && (*committed)[p] != ends_[p]) return false;
        return true;
    }

protected:
    void send(int id, const std::string& key, const std::optional<std::string>& value) {
        const int partition = id % partitions_;
        producer_.send(topic_, partition, key, value);
        ++ends_[static_cast<std::size_t>(partition)];
    }
    void flush() { producer_.flush(); }

private:
    const MockCluster& cluster_;
    std::string topic_;
    int partitions_;
    std::vector<std::int64_t> ends_;
    Producer producer_;
};

// Produces change events of customers (Debezium's envelope without schemas, keyed by id, a key
// always in the same partition) and keeps the model of the table they imply, and each
// partition's end offset.
class CustomerStream : public KeyedTopic {
public:
    CustomerStream(const MockCluster& cluster, std::string topic, int partitions, std::uint32_t seed)
        : KeyedTopic(cluster, std::move(topic), partitions), random_(seed) {}

    // `count` events over ids 1..keys: creates and updates, and deletes followed by tombstones
    // when `deletes`.
    void produce(int count, int keys, bool deletes = true) {
        std::uniform_int_distribution<int> id_of(1, keys), kind(0, 9);
        for (int i = 0; i < count; ++i) {
            const int id = id_of(random_);
            const auto existing = model_.find(id);
            if (deletes && existing != model_.end() && kind(random_) == 0) {
                send(id, R"({"before":)" + customer_json(existing->second) + R"(,"after":null,"op":"d"})");
                model_.erase(existing);
                if (++i < count) send(id, std::nullopt);  // the tombstone after it
                continue;
            }
            dbz::Customer row{id, "first \"" + std::to_string(serial_), "last\\" + std::to_string(id), std::nullopt};
            if (serial_ % 3 == 0) row.email = "c" + std::to_string(serial_) + "@example.com";
            ++serial_;
            const char* op = existing == model_.end() ? "c" : "u";
            send(id, R"({"before":null,"after":)" + customer_json(row) + R"(,"op":")" + op + R"(","ts_ms":1})");
            model_[id] = row;
        }
        flush();
    }

    // Updates of existing ids (1..keys, created first when missing) of which about half carry
    // Debezium's unavailable-value placeholder for last_name and email (unchanged TOAST values):
    // the model keeps the stored ones.
    void produce_toasted(int count, int keys) {
        std::uniform_int_distribution<int> id_of(1, keys), kind(0, 9);
        for (int i = 0; i < count; ++i) {
            const int id = id_of(random_);
            const auto existing = model_.find(id);
            dbz::Customer row{id, "toast " + std::to_string(serial_), "last " + std::to_string(serial_), std::nullopt};
            if (serial_ % 2 == 0) row.email = "t" + std::to_string(serial_) + "@example.com";
            ++serial_;
            if (existing == model_.end() || kind(random_) < 5) {
                send(id, R"({"before":null,"after":)" + customer_json(row) + R"(,"op":")" +
                             (existing == model_.end() ? "c" : "u") + R"("})");
                model_[id] = row;
                continue;
            }
            const std::string placeholder = R"("__debezium_unavailable_value")";
            send(id, R"({"before":null,"after":{"id":)" + std::to_string(id) + R"(,"first_name":)" +
                         json_text(row.first_name) + R"(,"last_name":)" + placeholder + R"(,"email":)" + placeholder +
                         R"(},"op":"u"})");
            existing->second.first_name = row.first_name;
        }
        flush();
    }

    // Creates only (ids from the next unused one): for appends, every event a new row.
    void produce_creates(int count) {
        for (int i = 0; i < count; ++i) {
            const int id = next_id_++;
            dbz::Customer row{id, "only " + std::to_string(id), "x", std::nullopt};
            send(id, R"({"before":null,"after":)" + customer_json(row) + R"(,"op":"c"})");
            model_[id] = row;
        }
        flush();
    }

    [[nodiscard]] const std::map<std::int32_t, dbz::Customer>& model() const noexcept { return model_; }

private:
    void send(int id, const std::optional<std::string>& value) {
        KeyedTopic::send(id, R"({"id":)" + std::to_string(id) + "}", value);
    }

    std::mt19937 random_;
    std::map<std::int32_t, dbz::Customer> model_;
    int serial_ = 0;
    int next_id_ = 1;
};

}  // namespace redsink_test::kafka
