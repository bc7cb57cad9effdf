#pragma once

// The connector program's metrics (examples/connector.cpp, docs/connector.md "Metrics"): a
// snapshot the main loop publishes, written in Prometheus's text exposition format (version
// 0.0.4), and served at GET /metrics by a small HTTP/1.1 server on a thread of its own, one
// request per connection. The server reads only the published snapshot, under a mutex: never a
// sink or the consumer, which belong to the main loop's thread.
#include <redsink/kafka.hpp>
#include <redsink/stats.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <simdjson.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace connector::metrics {

// ---- the text format -----------------------------------------------------------------------------

// A label's value as the format writes it between its quotes: \ as \\, " as \", a newline as \n.
[[nodiscard]] inline std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// A HELP line's text: \ as \\, a newline as \n (quotes stay).
[[nodiscard]] inline std::string escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// A sample's value: the shortest text that reads back as the same double (integers without a
// fraction), NaN, +Inf or -Inf.
[[nodiscard]] inline std::string format_value(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    std::array<char, 32> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} ? std::string(text.data(), end) : "NaN";
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Metric families in the text format: each one's # HELP and # TYPE lines, then its samples.
class Exposition {
public:
    // Starts the family `name` of `type` (counter, gauge, summary, histogram, untyped).
    void family(std::string_view name, std::string_view type, std::string_view help) {
        text_ += "# HELP ";
        text_ += name;
        text_ += ' ';
        text_ += escape_help(help);
        text_ += "\n# TYPE ";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }

    // One sample: name{label="value",...} value.
    void sample(std::string_view name, Labels labels, double value) {
        text_ += name;
        if (labels.size() > 0) {
            text_ += '{';
            bool first = true;
            for (const auto& [label, label_value] : labels) {
                if (!first) text_ += ',';
                first = false;
                text_ += label;
                text_ += "=\"";
                text_ += escape_label(label_value);
                text_ += '"';
            }
            text_ += '}';
        }
        text_ += ' ';
        text_ += format_value(value);
        text_ += '\n';
    }

    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
};

// ---- what is exposed -----------------------------------------------------------------------------

// The fields of librdkafka's statistics (its STATISTICS.md: the top level, totals over the
// brokers) that are exposed, as what.
struct StatisticsField {
    std::string_view field, metric, type, help;
};
inline constexpr std::array<StatisticsField, 5> statistics_fields{{
    {"rxmsgs", "redsink_kafka_messages_received_total", "counter",
     "Messages fetched from the brokers (librdkafka's rxmsgs), as of its last statistics."},
    {"rxmsg_bytes", "redsink_kafka_message_bytes_received_total", "counter",
     "Bytes of the messages fetched (librdkafka's rxmsg_bytes), as of its last statistics."},
    {"rx_bytes", "redsink_kafka_received_bytes_total", "counter",
     "Bytes received from the brokers (librdkafka's rx_bytes), as of its last statistics."},
    {"tx_bytes", "redsink_kafka_sent_bytes_total", "counter",
     "Bytes sent to the brokers (librdkafka's tx_bytes), as of its last statistics."},
    {"replyq", "redsink_kafka_reply_queue", "gauge",
     "Operations waiting in librdkafka's queue to be served by poll (replyq), as of its last statistics."},
}};

// The statistics_fields of one statistics JSON text, by field; none when it does not parse.
[[nodiscard]] inline std::map<std::string, double> read_statistics(std::string_view json) {
    std::map<std::string, double> out;
    simdjson::dom::parser parser;
    simdjson::dom::object root;
    if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return out;
    for (const auto& field : statistics_fields) {
        simdjson::dom::element value;
        if (root.at_key(field.field).get(value) != simdjson::SUCCESS) continue;
        double number = 0;
        if (value.get_double().get(number) == simdjson::SUCCESS)
            out.emplace(field.field, number);
        else if (std::int64_t whole = 0; value.get_int64().get(whole) == simdjson::SUCCESS)
            out.emplace(field.field, static_cast<double>(whole));
    }
    return out;
}

// What the main loop publishes: each table's sink statistics, the consumer's totals and
// partitions, and librdkafka's last statistics.
struct Snapshot {
    std::map<std::string, redsink::SinkStats> tables;  // by table, schema.name
    redsink::kafka::Progress consumer;
    std::map<std::string, double> statistics;  // read_statistics's; empty before the first
};

// The snapshot in the text format (docs/connector.md lists the metrics).
[[nodiscard]] inline std::string render(const Snapshot& snapshot) {
    Exposition out;
    const auto per_table = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
        out.family(name, type, help);
        for (const auto& [table, stats] : snapshot.tables)
            out.sample(name, {{"table", table}}, static_cast<double>(value(stats)));
    };
    using Stats = redsink::SinkStats;
    per_table("redsink_events_total", "counter", "Events committed to the table (dead-lettered ones included).",
              [](const Stats& s) { return s.events; });
    per_table("redsink_events_received_total", "counter", "Events the table's sink took from the topic.",
              [](const Stats& s) { return s.events_in; });
    per_table("redsink_events_ignored_total", "counter", "Deletes ignored (delete.enabled=false).",
              [](const Stats& s) { return s.events_ignored; });
    per_table("redsink_events_pending", "gauge", "Events taken and not committed yet.",
              [](const Stats& s) { return s.events_pending; });
    per_table("redsink_rows_inserted_total", "counter", "Rows inserted into the table.",
              [](const Stats& s) { return s.rows_inserted; });
    per_table("redsink_rows_deleted_total", "counter", "Rows deleted from the table.",
              [](const Stats& s) { return s.rows_deleted; });
    per_table("redsink_batches_total", "counter", "Batches committed.", [](const Stats& s) { return s.batches; });
    per_table("redsink_retries_total", "counter", "Batch attempts repeated after transient failures.",
              [](const Stats& s) { return s.retries; });
    per_table("redsink_reconnects_total", "counter", "Database sessions opened again after one was lost.",
              [](const Stats& s) { return s.reconnects; });
    per_table("redsink_dead_letters_total", "counter", "Events committed to the dead-letter table instead.",
              [](const Stats& s) { return s.dead_letters; });
    per_table("redsink_commit_seconds_total", "counter",
              "Seconds spent writing and committing batches, retries included.",
              [](const Stats& s) { return std::chrono::duration<double>(s.db_time).count(); });

    const auto& consumer = snapshot.consumer;
    out.family("redsink_consumer_lag", "gauge",
               "Messages after the next offset to read to the partition's high watermark, per partition held "
               "(absent while unknown).");
    for (const auto& [where, partition] : consumer.partitions)
        if (partition.lag >= 0)
            out.sample("redsink_consumer_lag", {{"topic", where.topic}, {"partition", std::to_string(where.partition)}},
                       static_cast<double>(partition.lag));
    const auto total = [&](std::string_view name, std::string_view type, std::string_view help, double value) {
        out.family(name, type, help);
        out.sample(name, {}, value);
    };
    total("redsink_consumer_messages_total", "counter", "Messages read from Kafka and written to a sink.",
          static_cast<double>(consumer.messages));
    total("redsink_consumer_partitions", "gauge", "Partitions assigned to this member.",
          static_cast<double>(consumer.partitions.size()));
    total("redsink_offset_commits_total", "counter", "Offset commits to Kafka that succeeded.",
          static_cast<double>(consumer.offset_commits));
    total("redsink_offset_commit_failures_total", "counter", "Offset commits to Kafka that failed.",
          static_cast<double>(consumer.commit_failures));
    total("redsink_consumer_errors_total", "counter", "Errors librdkafka reported and recovers from itself.",
          static_cast<double>(consumer.consumer_errors));
    total("redsink_rebalances_total", "counter", "Rebalances of the consumer group seen by this member.",
          static_cast<double>(consumer.rebalances));
    for (const auto& field : statistics_fields)
        if (const auto value = snapshot.statistics.find(std::string(field.field)); value != snapshot.statistics.end())
            total(field.metric, field.type, field.help, value->second);
    return out.text();
}

// ---- the server ----------------------------------------------------------------------------------

// The answer to one request's first line ("GET /metrics HTTP/1.1"): the status line and headers,
// then the body (none for HEAD). `metrics_text()` makes the body of /metrics.
template <class MetricsText>
[[nodiscard]] std::string answer(std::string_view request_line, MetricsText&& metrics_text) {
    const auto method_end = request_line.find(' ');
    const auto method = request_line.substr(0, method_end);
    std::string_view target;
    if (method_end != std::string_view::npos) {
        target = request_line.substr(method_end + 1);
        target = target.substr(0, target.find(' '));
        target = target.substr(0, target.find('?'));
    }
    const auto respond = [&](std::string_view status, std::string_view type, const std::string& body,
                             std::string_view extra = {}) {
        std::string out = "HTTP/1.1 ";
        out += status;
        out += "\r\nContent-Type: ";
        out += type;
        out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
        out += extra;
        out += "Connection: close\r\n\r\n";
        if (method != "HEAD") out += body;
        return out;
    };
    if (method != "GET" && method != "HEAD")
        return respond("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n", "Allow: GET, HEAD\r\n");
    if (target != "/metrics")
        return respond("404 Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n");
    return respond("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics_text());
}

// Listens on a port of every interface and answers each connection's one request from the
// snapshot last published, on a thread of its own.
class Server {
public:
    // Throws std::runtime_error naming the port when it cannot listen on it.
    explicit Server(std::uint16_t port) {
        listener_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool six = listener_ >= 0;
        if (!six) listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener_ < 0) fail(port, "socket");
        const int yes = 1, no = 0;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        int bound = -1;
        if (six) {
            ::setsockopt(listener_, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);  // IPv4 too
            sockaddr_in6 address{};
            address.sin6_family = AF_INET6;
            address.sin6_addr = in6addr_any;
            address.sin6_port = htons(port);
            bound = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
        } else {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_ANY);
            address.sin_port = htons(port);
            bound = ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
        }
        if (bound != 0 || ::listen(listener_, 16) != 0) fail(port, "listening");
        sockaddr_storage address{};
        socklen_t size = sizeof address;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
        port_ = ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                                    : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
        thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() {
        thread_.request_stop();
        if (thread_.joinable()) thread_.join();
        ::close(listener_);
    }

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    // From the main loop: what the next scrapes show.
    void publish(Snapshot snapshot) {
        const std::lock_guard lock(mutex_);
        snapshot_ = std::move(snapshot);
    }

private:
    [[noreturn]] void fail(std::uint16_t port, const char* doing) {
        const std::string reason = std::strerror(errno);
        if (listener_ >= 0) ::close(listener_);
        throw std::runtime_error("metrics.port " + std::to_string(port) + ": " + doing + " failed: " + reason);
    }

    void serve(const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            pollfd ready{listener_, POLLIN, 0};
            if (::poll(&ready, 1, 100) <= 0) continue;  // also the stop's check, every 100 ms
            const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (client < 0) continue;
            respond(client);
            ::close(client);
        }
    }

    // Reads the request's head (up to 8 KiB, 2 s at most: a slow client holds the next one that
    // long) and answers it.
    void respond(int client) {
        const timeval timeout{2, 0};
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        std::string request;
        std::array<char, 1024> buffer{};
        while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
            const auto got = ::recv(client, buffer.data(), buffer.size(), 0);
            if (got <= 0) break;
            request.append(buffer.data(), static_cast<std::size_t>(got));
        }
        const auto line_end = request.find("\r\n");
        if (line_end == std::string::npos) return;  // not HTTP: closed without an answer
        const auto reply = answer(std::string_view(request).substr(0, line_end), [&] {
            Snapshot snapshot;
            {
                const std::lock_guard lock(mutex_);
                snapshot = snapshot_;
            }
            return render(snapshot);
        });
        std::size_t sent = 0;
        while (sent < reply.size()) {
            const auto wrote = ::send(client, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
            if (wrote <= 0) return;
            sent += static_cast<std::size_t>(wrote);
        }
    }

    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::mutex mutex_;
    Snapshot snapshot_;
    std::jthread thread_;  // last: started once the rest is ready
};

}  // namespace connector::metrics
