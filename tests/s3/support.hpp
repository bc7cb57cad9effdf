#pragma once

#include <redsink/s3.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redsink_test::s3 {

// An environment variable that scripts/with-s3 exports; its absence fails the test.
inline std::string s3_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        FAIL(name << " is not set: run the S3 tests through scripts/with-s3 (their CTest entry does)");
    return value;
}

inline redsink::s3::Credentials test_credentials() {
    return {.access_key_id = s3_env("REDSINK_TEST_S3_ACCESS_KEY"),
            .secret_access_key = s3_env("REDSINK_TEST_S3_SECRET_KEY")};
}

// The test server, path-style, with short retry delays.
inline redsink::s3::ClientOptions test_options() {
    return {.bucket = s3_env("REDSINK_TEST_S3_BUCKET"),
            .region = s3_env("REDSINK_TEST_S3_REGION"),
            .endpoint = s3_env("REDSINK_TEST_S3_ENDPOINT"),
            .path_style = true,
            .credentials = test_credentials(),
            .connect_timeout = std::chrono::milliseconds(2000),
            .max_attempts = 3,
            .retry_backoff = std::chrono::milliseconds(20),
            .retry_backoff_max = std::chrono::milliseconds(200)};
}

// A key prefix no other test case (or run) uses.
inline std::string unique_prefix(std::string_view name) {
    static std::atomic<int> counter{0};
    return "tests/" + std::string(name) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "/";
}

// The test server's control script: "stop", "start", "restart".
inline void server_ctl(const std::string& command) {
    const auto line = s3_env("REDSINK_TEST_S3_CTL") + " " + command + " >/dev/null";
    REQUIRE(std::system(line.c_str()) == 0);
}

// Starts the server again when a test that stopped it ends, whatever happened.
struct RestartServerAtEnd {
    RestartServerAtEnd() = default;
    RestartServerAtEnd(const RestartServerAtEnd&) = delete;
    RestartServerAtEnd& operator=(const RestartServerAtEnd&) = delete;
    ~RestartServerAtEnd() {
        const auto line = s3_env("REDSINK_TEST_S3_CTL") + " start >/dev/null";
        if (std::system(line.c_str()) != 0) std::abort();  // every later test would fail for this
    }
};

// The server's request log: one JSON object a line.
inline std::vector<std::string> request_log() {
    std::ifstream in(s3_env("REDSINK_TEST_S3_REQUEST_LOG"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The log lines of requests whose URL contains `fragment`.
inline std::vector<std::string> logged_requests(std::string_view fragment) {
    std::vector<std::string> out;
    for (auto& line : request_log())
        if (line.find(fragment) != std::string::npos) out.push_back(std::move(line));
    return out;
}

// What no error message may hold.
inline void check_no_secret(const std::exception& e, const std::vector<std::string>& secrets) {
    const std::string what = e.what();
    for (const auto& secret : secrets) {
        INFO("message: " << what);
        CHECK(what.find(secret) == std::string::npos);
    }
}

// A body made as it is read: `size` deterministic pseudo-random bytes, never held in memory whole.
class GeneratedBody final : public redsink::s3::BodySource {
public:
    GeneratedBody(std::uint64_t size, std::uint32_t seed) : size_(size), seed_(seed), state_(seed) {}
    [[nodiscard]] std::uint64_t size() const override { return size_; }
    std::size_t read(char* buffer, std::size_t capacity) override {
        std::size_t n = 0;
        for (; n < capacity && offset_ < size_; ++n, ++offset_) buffer[n] = next_byte();
        return n;
    }
    void rewind() override {
        offset_ = 0;
        state_ = seed_;
        ++rewinds;
    }
    // The whole body, for comparison.
    [[nodiscard]] static std::string expected(std::uint64_t size, std::uint32_t seed) {
        GeneratedBody body(size, seed);
        std::string out(size, '\0');
        (void)body.read(out.data(), out.size());
        return out;
    }
    int rewinds = 0;

private:
    char next_byte() {
        state_ = state_ * 1664525U + 1013904223U;
        return static_cast<char>(state_ >> 24);
    }
    std::uint64_t size_;
    std::uint32_t seed_;
    std::uint32_t state_;
    std::uint64_t offset_ = 0;
};

}  // namespace redsink_test::s3
