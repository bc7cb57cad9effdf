#pragma once

// The connector's routes: one per topic, given before the start, or made for each topic that a
// subscription by pattern brings (the first time the topic is assigned or read); pausing a
// topic whose sink holds too much.
#include <redsink/kafka/error.hpp>
#include <redsink/kafka/handle.hpp>
#include <redsink/kafka/offsets.hpp>
#include <redsink/kafka/route.hpp>

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::kafka::detail {

class Routes {
public:
    using Make = std::function<std::unique_ptr<Route>(const std::string& topic)>;

    // A topic's route; a sink takes one topic (its positions are the topic's partitions).
    void add(const std::string& topic, std::unique_ptr<Route> route) {
        if (routes_.contains(topic)) throw KafkaError("the topic " + topic + " has a route already");
        for (const auto& [name, existing] : routes_)
            if (existing->sink_address() == route->sink_address())
                throw KafkaError("the topics " + name + " and " + topic +
                                 " share one sink: a sink's positions are one topic's partitions");
        routes_.emplace(topic, std::move(route));
    }

    // The topics whose name matches `pattern` (a regular expression, as librdkafka subscribes to
    // one: POSIX extended), each with the route `make` makes for it.
    void add_pattern(std::string pattern, Make make) {
        if (pattern.empty()) throw KafkaError("a topic pattern cannot be empty");
        if (!patterns_.empty())
            throw KafkaError("a second topic pattern (" + pattern + " after " + patterns_.front().first +
                             "): join them in one regular expression");
        patterns_.emplace_back(std::move(pattern), std::move(make));
    }

    [[nodiscard]] bool empty() const noexcept { return routes_.empty() && patterns_.empty(); }

    // What the consumer subscribes to: the topics routed, then the pattern ("^" marks a regular
    // expression for librdkafka).
    [[nodiscard]] std::vector<std::string> subscription() const {
        std::vector<std::string> out;
        for (const auto& [name, route] : routes_) out.push_back(name);
        for (const auto& [pattern, make] : patterns_) out.push_back(pattern.starts_with('^') ? pattern : "^" + pattern);
        return out;
    }

    // The route of `topic`: the one given, or one the pattern makes now. librdkafka assigns only
    // topics of the subscription, so a topic without a route is one the pattern matched.
    Route& of(std::string_view topic) {
        if (const auto found = routes_.find(topic); found != routes_.end()) return *found->second;
        if (patterns_.empty())
            throw KafkaError("a message of the topic " + std::string(topic) + ", which has no route");
        const std::string name(topic);
        auto route = patterns_.front().second(name);
        auto& made = *route;
        routes_.emplace(name, std::move(route));
        return made;
    }

    // Where the partitions just assigned start: per topic, after what an exactly_once route's table
    // holds (a route whose sink has Fencing::partition claims them first, fencing their previous
    // holder, and starts them after what the claim read: `claimed` names its topic); a partition
    // not among them starts at the group's offset.
    struct Starts {
        std::map<std::string, Positions> positions;
        std::set<std::string> claimed;
    };
    [[nodiscard]] Starts starts(const rd_kafka_topic_partition_list_t& partitions) {
        std::map<std::string, std::set<std::int32_t>> assigned;
        for (int i = 0; i < partitions.cnt; ++i)
            assigned[partitions.elems[i].topic].insert(partitions.elems[i].partition);
        Starts out;
        for (const auto& [name, numbers] : assigned) {
            auto& route = of(name);
            if (auto positions = route.claim_partitions(numbers)) {
                out.positions[name] = std::move(*positions);
                out.claimed.insert(name);
            } else if (auto resume = route.resume_positions()) {
                out.positions[name] = std::move(*resume);
            }
        }
        return out;
    }

    // Tells each topic's route of its partitions given up.
    void revoked(const std::set<TopicPartition>& partitions) {
        std::map<std::string, std::set<std::int32_t>, std::less<>> topics;
        for (const auto& where : partitions) topics[where.topic].insert(where.partition);
        for (const auto& [topic, numbers] : topics)
            if (const auto found = routes_.find(topic); found != routes_.end()) found->second->revoked(numbers);
    }

    // Pauses the partitions of a topic whose sink holds more than `max_pending` events, resumes
    // them once it is down to half.
    void apply_backpressure(rd_kafka_t* consumer, OffsetBook& offsets, std::size_t max_pending) const {
        for (const auto& [topic, route] : routes_) {
            const auto pending = route->pending();
            const bool pause = pending > max_pending;
            const bool resume = pending <= max_pending / 2;
            auto list = make_list();
            for (auto& [where, state] : offsets.held()) {
                if (where.topic != topic) continue;
                if ((pause && !state.paused) || (resume && state.paused)) {
                    rd_kafka_topic_partition_list_add(list.get(), where.topic.c_str(), where.partition);
                    state.paused = pause;
                }
            }
            if (list->cnt == 0) continue;
            if (pause)
                check(rd_kafka_pause_partitions(consumer, list.get()), "pausing " + topic);
            else
                check(rd_kafka_resume_partitions(consumer, list.get()), "resuming " + topic);
        }
    }

    template <class Visit>
    void each(Visit&& visit) const {
        for (const auto& [name, route] : routes_) visit(name, *route);
    }

private:
    std::map<std::string, std::unique_ptr<Route>, std::less<>> routes_;
    std::vector<std::pair<std::string, Make>> patterns_;
};

}  // namespace redsink::kafka::detail
