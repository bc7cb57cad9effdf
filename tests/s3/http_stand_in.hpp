#pragma once

// A small HTTP server on 127.0.0.1 that a test starts itself, standing in for the endpoints that
// hand out credentials (EC2 instance metadata, ECS, STS) or for S3's refusals: one thread, one
// connection at a time, each answered by the test's handler and closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace redsink_test::s3 {

struct HttpRequest {
    std::string method;
    std::string target;                          // path and query
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::chrono::system_clock::time_point received;

    [[nodiscard]] std::string header(const std::string& name) const {
        const auto found = headers.find(name);
        return found != headers.end() ? found->second : std::string();
    }
};

struct HttpReply {
    int status = 200;
    std::string body;
};

class HttpStandIn {
public:
    using Handler = std::function<HttpReply(const HttpRequest&)>;

    explicit HttpStandIn(Handler handler) : handler_(std::move(handler)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (listener_ < 0) throw std::runtime_error("socket failed");
        const int yes = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        socklen_t size = sizeof address;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener_, 16) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
            throw std::runtime_error("bind or listen failed");
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    HttpStandIn(const HttpStandIn&) = delete;
    HttpStandIn& operator=(const HttpStandIn&) = delete;
    ~HttpStandIn() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }

    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::vector<HttpRequest> requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    void serve() {
        while (!stop_) {
            pollfd ready{.fd = listener_, .events = POLLIN, .revents = 0};
            if (::poll(&ready, 1, 50) <= 0) continue;
            const int connection = ::accept(listener_, nullptr, nullptr);
            if (connection < 0) continue;
            answer(connection);
            ::close(connection);
        }
    }

    static bool read_more(int connection, std::string& buffer) {
        char chunk[4096];
        pollfd ready{.fd = connection, .events = POLLIN, .revents = 0};
        if (::poll(&ready, 1, 5000) <= 0) return false;
        const auto got = ::recv(connection, chunk, sizeof chunk, 0);
        if (got <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(got));
        return true;
    }

    static void send_all(int connection, const std::string& text) {
        for (std::size_t sent = 0; sent < text.size();) {
            const auto n = ::send(connection, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    }

    void answer(int connection) {
        std::string buffer;
        std::size_t end = std::string::npos;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos)
            if (!read_more(connection, buffer)) return;
        HttpRequest request;
        request.received = std::chrono::system_clock::now();
        std::size_t line_end = buffer.find("\r\n");
        const std::string first = buffer.substr(0, line_end);
        const auto space = first.find(' ');
        request.method = first.substr(0, space);
        request.target = first.substr(space + 1, first.rfind(' ') - space - 1);
        for (std::size_t at = line_end + 2; at < end; at = line_end + 2) {
            line_end = buffer.find("\r\n", at);
            const std::string line = buffer.substr(at, line_end - at);
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(value.begin());
            request.headers[name] = value;
        }
        const auto length = request.header("content-length").empty()
                                ? std::size_t{0}
                                : static_cast<std::size_t>(std::stoul(request.header("content-length")));
        if (request.header("expect") == "100-continue") send_all(connection, "HTTP/1.1 100 Continue\r\n\r\n");
        request.body = buffer.substr(end + 4);
        while (request.body.size() < length)
            if (!read_more(connection, request.body)) return;
        HttpReply reply;
        try {
            reply = handler_(request);
        } catch (const std::exception& e) {
            reply = {500, e.what()};
        }
        {
            const std::lock_guard lock(mutex_);
            requests_.push_back(request);
        }
        send_all(connection, "HTTP/1.1 " + std::to_string(reply.status) + " Stand-in\r\nContent-Length: " +
                                 std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body);
    }

    Handler handler_;
    int listener_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<HttpRequest> requests_;
    std::thread thread_;
};

}  // namespace redsink_test::s3
