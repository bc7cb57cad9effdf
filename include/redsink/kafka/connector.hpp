#pragma once

// The Kafka front end: consumes topics of Debezium change events, each into its sink, and
// commits a partition's offsets only once the warehouse committed what was read from it.
// See docs/kafka.md.
#include <redsink/kafka/commit.hpp>
#include <redsink/kafka/handle.hpp>
#include <redsink/kafka/offsets.hpp>
#include <redsink/kafka/options.hpp>
#include <redsink/kafka/route.hpp>
#include <redsink/kafka/routes.hpp>
#include <redsink/position.hpp>
#include <redsink/retry.hpp>
#include <redsink/stats.hpp>

#include <librdkafka/rdkafka.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::kafka {

// Consumes topics of Debezium change events into sinks, one sink per topic:
//
//     redsink::kafka::Connector connector({.properties = {{"bootstrap.servers", "..."}, {"group.id", "..."}}});
//     connector.route<Customer>("dbserver1.inventory.customers", customers);   // a redsink::Sink<Customer, ...>
//     connector.run(stop);   // until `stop` is set (a SIGTERM handler): then flush, commit, leave
//
// Offsets: the connector takes each sink's on_commit; a partition's offset committed to Kafka is
// the acknowledged offset + 1, never more. Before a partition is revoked, its topic's sink is
// flushed and the partition's offset committed. With an exactly_once sink, a partition newly
// assigned starts after the offset the sink's positions table holds (resume_positions()), not at
// the group's offset; one whose sink has Fencing::partition is claimed first
// (Sink::claim_partitions), so that members of one group can share an identity. One thread: call
// everything from the thread that polls.
class Connector {
public:
    explicit Connector(ConnectorOptions options) : options_(std::move(options)) {
        for (const auto& [name, value] : options_.properties)
            if ((name == "enable.auto.commit" || name == "enable.auto.offset.store") && value != "false")
                throw KafkaError(name +
                                 " must stay false: the connector commits offsets only for what the "
                                 "warehouse committed");
        if (!options_.properties.contains("group.id"))
            throw KafkaError("the property group.id is missing: offsets are committed to a consumer group");
        if (options_.max_attempts < 0) throw KafkaError("ConnectorOptions::max_attempts must be 0 (no limit) or more");
        if (options_.retry_budget.count() < 0 || options_.retry_backoff.count() < 0 ||
            options_.retry_backoff_max.count() < 0)
            throw KafkaError("ConnectorOptions::retry_budget, retry_backoff and retry_backoff_max cannot be negative");
    }
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Leaves the group without flushing: what was not acknowledged is not committed, and is read
    // again by the partition's next owner. Call close() to flush and commit first.
    ~Connector() {
        if (handle_) {
            closing_ = true;
            rd_kafka_consumer_close(handle_.get());
            handle_.reset();
        }
    }

    // Writes the change events of `topic` into `sink` (a redsink::Sink<Record, ...>), decoded
    // with `decode`. Before start(); a sink takes one topic (its positions are the topic's
    // partitions), and the connector takes its on_commit callback.
    template <class Record, class SinkT>
    void route(std::string topic, SinkT& sink, const debezium::Options& decode = {}) {
        before_start("route(" + topic + ")");
        routes_.add(topic, std::make_unique<detail::SinkRoute<Record, SinkT>>(topic, sink, decode, acknowledge()));
    }

    // Writes the change events of `topic` as Rows whose columns come from each message's schema
    // (debezium::RowDecoder, keyed as `key` says) into a Sink<Row, ...> that `make` creates from
    // the first message's row schema (docs/kafka.md). At-least-once sinks; exactly_once ones take
    // `committed` as well (below).
    template <class SinkT>
    void route_rows(std::string topic, detail::RowSinkFactory<SinkT> make, const debezium::Options& decode = {},
                    const debezium::RowKey& key = {}) {
        static_assert(!detail::RowRoute<SinkT>::exactly_once,
                      "redsink: an exactly_once sink of Rows: give route_rows the table's committed positions");
        route_rows<SinkT>(std::move(topic), std::move(make), detail::RowPositions{}, decode, key);
    }

    // exactly_once sinks: `committed(topic)` reads what the topic's table holds
    // (redsink::committed_positions, with the options `make` gives that topic's sink); until the
    // first message makes the sink, a partition assigned starts after it.
    template <class SinkT>
    void route_rows(std::string topic, detail::RowSinkFactory<SinkT> make, detail::RowPositions committed,
                    const debezium::Options& decode = {}, const debezium::RowKey& key = {}) {
        before_start("route_rows(" + topic + ")");
        routes_.add(topic, std::make_unique<detail::RowRoute<SinkT>>(topic, std::move(make),
                                                                     debezium::RowDecoder(decode, key, SinkT::dialect),
                                                                     acknowledge(), std::move(committed)));
    }

    // As route_rows, for every topic whose name matches `pattern` (a regular expression, as
    // librdkafka matches it), those created while the connector runs included: each topic gets a
    // sink of its own, made by `make` from its first message.
    template <class SinkT>
    void route_rows_matching(std::string pattern, detail::RowSinkFactory<SinkT> make,
                             const debezium::Options& decode = {}, const debezium::RowKey& key = {}) {
        static_assert(
            !detail::RowRoute<SinkT>::exactly_once,
            "redsink: an exactly_once sink of Rows: give route_rows_matching the table's committed positions");
        route_rows_matching<SinkT>(std::move(pattern), std::move(make), detail::RowPositions{}, decode, key);
    }

    template <class SinkT>
    void route_rows_matching(std::string pattern, detail::RowSinkFactory<SinkT> make, detail::RowPositions committed,
                             const debezium::Options& decode = {}, const debezium::RowKey& key = {}) {
        before_start("route_rows_matching(" + pattern + ")");
        routes_.add_pattern(std::move(pattern), [this, make = std::move(make), committed = std::move(committed), decode,
                                                 key](const std::string& topic) {
            return std::make_unique<detail::RowRoute<SinkT>>(
                topic, make, debezium::RowDecoder(decode, key, SinkT::dialect), acknowledge(), committed);
        });
    }

    // Creates the consumer and subscribes to the routed topics (the group assigns partitions
    // during the following polls).
    void start() {
        if (handle_) return;
        if (routes_.empty()) throw KafkaError("no topic to consume: call route() or route_rows() first");
        Properties properties{{"partition.assignment.strategy", "cooperative-sticky"},
                              {"auto.offset.reset", "earliest"}};
        for (const auto& [name, value] : options_.properties) properties[name] = value;
        properties["enable.auto.commit"] = "false";
        properties["enable.auto.offset.store"] = "false";
        auto conf = detail::make_conf(properties);
        rd_kafka_conf_set_opaque(conf.get(), this);
        rd_kafka_conf_set_rebalance_cb(conf.get(), &Connector::rebalance_callback);
        if (options_.on_statistics) rd_kafka_conf_set_stats_cb(conf.get(), &Connector::statistics_callback);
        std::array<char, 512> reason{};
        handle_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason.data(), reason.size()));
        if (!handle_) throw KafkaError(std::string("cannot create the consumer: ") + reason.data());
        conf.release();  // the handle owns it now
        rd_kafka_poll_set_consumer(handle_.get());
        const auto subscription = routes_.subscription();
        auto topics = detail::make_list(static_cast<int>(subscription.size()));
        for (const auto& name : subscription)
            rd_kafka_topic_partition_list_add(topics.get(), name.c_str(), RD_KAFKA_PARTITION_UA);
        detail::check(rd_kafka_subscribe(handle_.get(), topics.get()), "subscribing to the topics");
        started_ = last_commit_ = last_rate_ = std::chrono::steady_clock::now();
    }

    // Reads and writes at most one message (waiting up to poll_timeout), then polls the sinks,
    // commits acknowledged offsets when commit_interval has passed, and pauses or resumes topics
    // for backpressure. True when it read a message. Throws a decode error or a sink's error: the
    // message was not written, and nothing after the last acknowledged offset is committed.
    bool poll() {
        start();
        raise_failure();
        detail::MessagePtr message(
            rd_kafka_consumer_poll(handle_.get(), static_cast<int>(options_.poll_timeout.count())));
        raise_failure();
        bool read = false;
        if (message) {
            if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                consumer_error(*message);
            } else {
                // The topic's name as librdkafka holds it: no copy per message.
                const std::string_view topic = rd_kafka_topic_name(message->rkt);
                auto& route = routes_.of(topic);
                route.write(*message);
                ++messages_;
                read = true;
                offsets_.read({topic, message->partition}, message->offset);
                if (++since_pending_check_ >= pending_check_every) {
                    since_pending_check_ = 0;
                    apply_backpressure();
                }
            }
        }
        routes_.each([](const std::string&, detail::Route& route) { route.poll(); });
        if (!read) {
            apply_backpressure();
            settle_replays();
        }
        if (const auto now = std::chrono::steady_clock::now(); now - last_commit_ >= options_.commit_interval) {
            last_commit_ = now;
            commit_acknowledged({}, once);
        }
        return read;
    }

    // Polls until `stop` is set, then close().
    void run(const std::atomic<bool>& stop) {
        start();
        while (!stop.load(std::memory_order_relaxed)) poll();
        close();
    }

    // Flushes every sink, commits the acknowledged offsets, and leaves the group (its partitions
    // go to the other members). A commit that keeps failing (the coordinator away for longer than
    // the retries) is thrown as a KafkaError once the consumer is closed: the rows are in the
    // warehouse, and the partitions' next owner reads them again. A sink whose flush fails (its
    // error thrown once the consumer is closed) leaves what it did not acknowledge uncommitted.
    void close() {
        if (!handle_) return;
        std::exception_ptr flush_failure;
        routes_.each([&](const std::string&, detail::Route& route) {
            try {
                route.flush();
            } catch (...) {
                if (!flush_failure) flush_failure = std::current_exception();
            }
        });
        const bool committed = commit_acknowledged({}, commit_retries(), !flush_failure);
        closing_ = true;
        detail::check(rd_kafka_consumer_close(handle_.get()), "closing the consumer");
        handle_.reset();
        if (flush_failure) std::rethrow_exception(flush_failure);
        raise_failure();
        if (!committed)
            throw KafkaError("the last offsets could not be committed (" + last_consumer_error_ +
                                 "): what they cover is in the warehouse and will be read again",
                             committer_.last_code());
    }

    // What the connector reports, with messages_per_second since the previous call (which starts
    // the next rate's window).
    [[nodiscard]] Progress progress() {
        Progress out = totals();
        const auto now = std::chrono::steady_clock::now();
        const std::chrono::duration<double> elapsed = now - last_rate_;
        if (elapsed.count() > 0)
            out.messages_per_second = static_cast<double>(messages_ - messages_at_rate_) / elapsed.count();
        last_rate_ = now;
        messages_at_rate_ = messages_;
        return out;
    }

    // progress() without the rate (messages_per_second is 0) and without touching its window: for
    // a second reader, such as metrics, besides a progress log.
    [[nodiscard]] Progress totals() const {
        Progress out;
        out.messages = messages_;
        out.offset_commits = committer_.commits();
        out.commit_failures = committer_.failures();
        out.consumer_errors = consumer_errors_;
        out.last_consumer_error = last_consumer_error_;
        out.rebalances = rebalances_;
        out.last_commit = committer_.last_time();
        out.partitions = detail::partitions_progress(handle_.get(), offsets_);
        return out;
    }

    // Each routed topic's sink's statistics (Sink::stats()), by topic.
    [[nodiscard]] std::map<std::string, SinkStats> sink_stats() const {
        std::map<std::string, SinkStats> out;
        routes_.each([&](const std::string& name, const detail::Route& route) { out.emplace(name, route.stats()); });
        return out;
    }

    // The partitions assigned now.
    [[nodiscard]] std::vector<TopicPartition> assignment() const {
        std::vector<TopicPartition> out;
        for (const auto& [where, state] : offsets_.held()) out.push_back(where);
        return out;
    }

private:
    static constexpr std::size_t pending_check_every = 1024;
    static constexpr RetryPolicy once{.max_attempts = 1};  // the periodic commits: the next one carries their offsets

    // How the commits at a revoke and at close() are retried.
    [[nodiscard]] RetryPolicy commit_retries() const {
        return {options_.max_attempts, options_.retry_budget, options_.retry_backoff, options_.retry_backoff_max};
    }

    static void rebalance_callback(rd_kafka_t*, rd_kafka_resp_err_t error, rd_kafka_topic_partition_list_t* partitions,
                                   void* opaque) {
        auto* self = static_cast<Connector*>(opaque);
        try {
            self->rebalanced(error, *partitions);
        } catch (...) {
            // librdkafka's C code is between here and poll(): poll() raises it.
            if (!self->failure_) self->failure_ = std::current_exception();
        }
    }

    // librdkafka's statistics (every statistics.interval.ms), served by poll(): to on_statistics.
    static int statistics_callback(rd_kafka_t*, char* json, std::size_t size, void* opaque) {
        auto* self = static_cast<Connector*>(opaque);
        try {
            self->options_.on_statistics(std::string_view(json, size));
        } catch (...) {
            if (!self->failure_) self->failure_ = std::current_exception();
        }
        return 0;  // librdkafka frees the text
    }

    void rebalanced(rd_kafka_resp_err_t error, rd_kafka_topic_partition_list_t& partitions) {
        ++rebalances_;
        const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(handle_.get()), "COOPERATIVE") == 0;
        if (error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            // exactly_once: the table's positions say where to start, whatever the group says.
            const auto starts = routes_.starts(partitions);
            for (int i = 0; i < partitions.cnt; ++i) {
                auto& element = partitions.elems[i];
                std::optional<std::int64_t> claimed_start;
                if (const auto start = starts.positions.find(element.topic); start != starts.positions.end()) {
                    if (const auto at = start->second.find(element.partition); at != start->second.end()) {
                        element.offset = at->second + 1;
                        if (starts.claimed.contains(element.topic)) claimed_start = element.offset;
                    }
                }
                offsets_.assign({element.topic, element.partition}, claimed_start);
            }
            if (cooperative)
                detail::check(rd_kafka_incremental_assign(handle_.get(), &partitions), "taking assigned partitions");
            else
                detail::check(rd_kafka_assign(handle_.get(), &partitions), "taking assigned partitions");
            return;
        }
        // Revoked (or lost): unless lost, write what was read from them and commit it first.
        const bool lost = rd_kafka_assignment_lost(handle_.get()) != 0;
        std::set<TopicPartition> revoked;
        for (int i = 0; i < partitions.cnt; ++i)
            revoked.insert({partitions.elems[i].topic, partitions.elems[i].partition});
        std::exception_ptr failure;
        if (!lost) {
            try {
                std::set<std::string> topics;
                for (const auto& where : revoked) topics.insert(where.topic);
                for (const auto& topic : topics) routes_.of(topic).flush();
                commit_acknowledged(revoked, commit_retries(), true);
            } catch (...) {
                failure = std::current_exception();
            }
        }
        for (const auto& where : revoked) offsets_.revoke(where);
        routes_.revoked(revoked);
        if (closing_ || !cooperative)
            detail::check(rd_kafka_assign(handle_.get(), nullptr), "giving partitions up");
        else
            detail::check(rd_kafka_incremental_unassign(handle_.get(), &partitions), "giving partitions up");
        if (failure) std::rethrow_exception(failure);
    }

    // OffsetCommitter::commit on this consumer's partitions.
    bool commit_acknowledged(const std::set<TopicPartition>& only, const RetryPolicy& retries, bool flushed = false) {
        return committer_.commit(handle_.get(), offsets_, only, retries, flushed);
    }

    // Idle, with a partition read again from below what its sink had acknowledged: flush that
    // topic's sink and commit what was read (the sink's acknowledgements cannot say it until they
    // pass the old position, which may be the partition's end).
    void settle_replays() {
        const auto replayed = offsets_.replaying();
        if (replayed.empty()) return;
        std::set<std::string> topics;
        for (const auto& where : replayed) topics.insert(where.topic);
        for (const auto& topic : topics) routes_.of(topic).flush();
        (void)commit_acknowledged(replayed, once, true);
    }

    void consumer_error(const rd_kafka_message_t& message) {
        std::array<char, 512> reason{};
        if (const auto fatal = rd_kafka_fatal_error(handle_.get(), reason.data(), reason.size());
            fatal != RD_KAFKA_RESP_ERR_NO_ERROR)
            throw KafkaError(std::string("the consumer failed: ") + reason.data(), fatal);
        ++consumer_errors_;
        last_consumer_error_ = rd_kafka_message_errstr(&message);
    }

    // Pauses the partitions of a topic whose sink holds too much, resumes them once it is down to half.
    void apply_backpressure() { routes_.apply_backpressure(handle_.get(), offsets_, options_.max_pending_events); }

    void before_start(const std::string& call) const {
        if (handle_) throw KafkaError(call + " after the connector started");
    }
    // A sink's on_commit: its topic's acknowledged offsets.
    std::function<void(const std::string&, const Positions&)> acknowledge() {
        return [this](const std::string& name, const Positions& positions) {
            for (const auto& [partition, offset] : positions) offsets_.acknowledge({name, partition}, offset);
        };
    }

    void raise_failure() {
        if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
    }

    ConnectorOptions options_;
    detail::Routes routes_;
    detail::Handle handle_;
    bool closing_ = false;
    std::exception_ptr failure_;
    detail::OffsetBook offsets_;
    std::uint64_t messages_ = 0, messages_at_rate_ = 0, consumer_errors_ = 0, rebalances_ = 0;
    std::string last_consumer_error_;
    detail::OffsetCommitter committer_{last_consumer_error_};  // after the string it writes to
    std::size_t since_pending_check_ = 0;
    std::chrono::steady_clock::time_point started_{}, last_commit_{}, last_rate_{};
};

}  // namespace redsink::kafka
