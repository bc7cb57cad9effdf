#pragma once

// A topic's way into its table: the Debezium decoder, then the sink (one of a record type, or of
// Rows made from the messages' schemas).
#include <redsink/debezium.hpp>
#include <redsink/position.hpp>
#include <redsink/row_schema.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/stats.hpp>

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::kafka::detail {

// The message as the decoders read it.
[[nodiscard]] inline debezium::Message message_of(std::string_view topic, const rd_kafka_message_t& message) {
    debezium::Message in;
    in.topic = topic;
    in.partition = message.partition;
    in.offset = message.offset;
    if (message.key != nullptr) in.key = std::string_view(static_cast<const char*>(message.key), message.key_len);
    if (message.payload != nullptr) in.value = std::string_view(static_cast<const char*>(message.payload), message.len);
    return in;
}

// What the connector asks of a topic's route, whatever the record and sink types.
class Route {
public:
    virtual ~Route() = default;
    // Decodes the message and writes its change. Throws debezium::DecodeError (nothing written)
    // or the sink's error.
    virtual void write(const rd_kafka_message_t& message) = 0;
    virtual void poll() = 0;
    virtual void flush() = 0;
    // exactly_once: the positions the sink's table holds (the consumer seeks after them).
    [[nodiscard]] virtual std::optional<Positions> resume_positions() const = 0;
    // exactly_once with Fencing::partition: claims the partitions (Sink::claim_partitions) and
    // returns what the table holds for them; nothing for any other sink (it claims nothing).
    [[nodiscard]] virtual std::optional<Positions> claim_partitions(const std::set<std::int32_t>& partitions) = 0;
    // The topic's `partitions` were given up (revoked or lost).
    virtual void revoked(const std::set<std::int32_t>& partitions) { (void)partitions; }
    // Events taken and not committed yet.
    [[nodiscard]] virtual std::size_t pending() const = 0;
    // The sink's statistics (Sink::stats()).
    [[nodiscard]] virtual SinkStats stats() const = 0;
    [[nodiscard]] virtual const void* sink_address() const noexcept = 0;
    [[nodiscard]] const std::string& topic() const noexcept { return topic_; }

protected:
    explicit Route(std::string topic) : topic_(std::move(topic)) {}

private:
    std::string topic_;
};

template <class Record, class SinkT>
class SinkRoute final : public Route {
public:
    SinkRoute(std::string topic, SinkT& sink, const debezium::Options& options,
              std::function<void(const std::string&, const Positions&)> committed)
        : Route(std::move(topic)), sink_(sink), decoder_(options) {
        sink_.on_commit([this, committed = std::move(committed)](const Positions& positions) {
            committed(this->topic(), positions);
        });
    }

    void write(const rd_kafka_message_t& message) override {
        const auto in = message_of(topic(), message);
        // Unavailable values (unchanged TOAST columns) are in change.keep: the sink keeps the stored
        // ones, or refuses the event when it cannot (an append sink).
        sink_.write(decoder_.decode(in).change);
    }
    void poll() override { sink_.poll(); }
    void flush() override { sink_.flush(); }
    [[nodiscard]] std::optional<Positions> resume_positions() const override {
        if constexpr (requires { sink_.resume_positions(); })
            return sink_.resume_positions();
        else
            return std::nullopt;
    }
    [[nodiscard]] std::optional<Positions> claim_partitions(const std::set<std::int32_t>& partitions) override {
        if constexpr (requires { sink_.claim_partitions(partitions); }) {
            if (sink_.fencing() == Fencing::partition) return sink_.claim_partitions(partitions);
        }
        return std::nullopt;
    }
    [[nodiscard]] std::size_t pending() const override { return sink_.stats().events_pending; }
    [[nodiscard]] SinkStats stats() const override { return sink_.stats(); }
    [[nodiscard]] const void* sink_address() const noexcept override { return &sink_; }

private:
    SinkT& sink_;
    debezium::Decoder<Record> decoder_;
};

// Makes a topic's Row sink from the first message's row schema.
template <class SinkT>
using RowSinkFactory =
    std::function<std::unique_ptr<SinkT>(const std::string& topic, std::shared_ptr<const RowSchema> schema)>;

// exactly_once: what a topic's table holds (redsink::committed_positions) before its sink exists.
using RowPositions = std::function<Positions(const std::string& topic)>;

// A topic's Rows (debezium::RowDecoder: columns from each message's schema) into a Sink<Row, ...>
// that `make` creates when the first message comes: the table is made from that message, and the
// sink (with evolve_schema) adds the columns later messages bring.
//
// exactly_once sinks: until the first message, a partition assigned starts after what
// `committed` says the table holds (the positions only grow: the sink, once made, skips what
// was committed since); with Fencing::partition, the sink made claims the partitions assigned
// until then, fencing their previous holder before it writes.
template <class SinkT>
class RowRoute final : public Route {
public:
    static constexpr bool exactly_once = requires(const SinkT& sink) { sink.resume_positions(); };

    RowRoute(std::string topic, RowSinkFactory<SinkT> make, debezium::RowDecoder decoder,
             std::function<void(const std::string&, const Positions&)> committed, RowPositions positions = {})
        : Route(std::move(topic)),
          make_(std::move(make)),
          decoder_(std::move(decoder)),
          committed_(std::move(committed)),
          positions_(std::move(positions)) {}

    void write(const rd_kafka_message_t& message) override {
        auto decoded = decoder_.decode(message_of(topic(), message));
        if (!sink_) {
            auto made = make_(topic(), decoded.change.row.schema());
            made->on_commit([this](const Positions& positions) { committed_(this->topic(), positions); });
            if constexpr (exactly_once)
                if (made->fencing() == Fencing::partition) (void)made->claim_partitions(assigned_);
            sink_ = std::move(made);
            assigned_.clear();
        }
        sink_->write(std::move(decoded.change));
    }
    void poll() override {
        if (sink_) sink_->poll();
    }
    void flush() override {
        if (sink_) sink_->flush();
    }
    [[nodiscard]] std::optional<Positions> resume_positions() const override {
        if constexpr (exactly_once)
            return sink_ ? sink_->resume_positions() : positions_(topic());
        else
            return std::nullopt;
    }
    // Before the sink exists, the partitions are claimed when it is made.
    [[nodiscard]] std::optional<Positions> claim_partitions(const std::set<std::int32_t>& partitions) override {
        if constexpr (exactly_once) {
            if (!sink_)
                assigned_.insert(partitions.begin(), partitions.end());
            else if (sink_->fencing() == Fencing::partition)
                return sink_->claim_partitions(partitions);
        }
        return std::nullopt;
    }
    void revoked(const std::set<std::int32_t>& partitions) override {
        for (const auto partition : partitions) assigned_.erase(partition);
    }
    [[nodiscard]] std::size_t pending() const override { return sink_ ? sink_->stats().events_pending : 0; }
    [[nodiscard]] SinkStats stats() const override { return sink_ ? sink_->stats() : SinkStats{}; }
    [[nodiscard]] const void* sink_address() const noexcept override { return this; }

private:
    RowSinkFactory<SinkT> make_;
    debezium::RowDecoder decoder_;
    std::function<void(const std::string&, const Positions&)> committed_;
    RowPositions positions_;           // exactly_once
    std::set<std::int32_t> assigned_;  // exactly_once: assigned before the sink was made
    std::unique_ptr<SinkT> sink_;
};

}  // namespace redsink::kafka::detail
