#pragma once

#include <redsink/s3/error.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace redsink::s3 {

// An access key pair, and the session token that comes with temporary credentials. Used to sign
// requests and nowhere else: no message, log line or trace shows the secret or the token.
struct Credentials {
    std::string access_key_id{};
    std::string secret_access_key{};
    std::string session_token{};  // empty for long-term keys; sent as x-amz-security-token

    // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional) AWS_SESSION_TOKEN.
    [[nodiscard]] static Credentials from_env();
};

// Told before the client waits to try a request again.
struct RetryEvent {
    std::string_view operation{};
    std::string_view bucket{};
    std::string_view key{};
    int failed_attempt = 0;             // 1 for the first try
    std::string_view reason{};          // "HTTP 503 SlowDown", "COULDNT_CONNECT: ...": never a credential
    std::chrono::milliseconds delay{};  // how long it waits before the next attempt
};

// The client's settings, plain values for designated initializers:
//   redsink::s3::Client s3({.bucket = "loads", .region = "eu-west-1"});
struct ClientOptions {
    std::string bucket{};
    // Empty: AWS_REGION, else AWS_DEFAULT_REGION. Requests are signed for this region.
    std::string region{};
    // Empty: https://s3.<region>.amazonaws.com. An S3-compatible server: "http://127.0.0.1:4568".
    std::string endpoint{};
    // true: https://endpoint/bucket/key (S3-compatible servers, bucket names with dots);
    // false: https://bucket.endpoint/key, the virtual-hosted style AWS wants.
    bool path_style = false;
    // None: Credentials::from_env().
    std::optional<Credentials> credentials{};

    std::chrono::milliseconds connect_timeout{10'000};
    // A transfer that moves no byte for this long is abandoned (and retried).
    std::chrono::milliseconds idle_timeout{60'000};
    // A whole request, body included; zero: no limit (a large upload takes what it takes).
    std::chrono::milliseconds request_timeout{0};

    // Retries per request, with SinkOptions' names and meanings (the retry engine, redsink/retry.hpp):
    // tries counting the first (0: as many as retry_budget allows), within retry_budget from the
    // first, after a delay doubling from retry_backoff up to retry_backoff_max, half of it random.
    int max_attempts = 6;
    std::chrono::milliseconds retry_budget{300'000};
    std::chrono::milliseconds retry_backoff{200};
    std::chrono::milliseconds retry_backoff_max{10'000};
    // When it is requested, a retry's wait ends at once and the request fails with its last error.
    std::stop_token stop{};

    // Keys per ListObjectsV2 page, 1 to 1000.
    int list_page_size = 1000;

    // Test seams: before a retry's wait, and with each key just before a request deletes it.
    std::function<void(const RetryEvent&)> on_retry{};
    std::function<void(std::string_view key)> on_delete{};
};

namespace detail {

[[nodiscard]] inline std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

[[nodiscard]] inline Error configuration_error(std::string message) {
    return Error(Failure{.operation = "configuration", .code = "InvalidConfiguration", .message = std::move(message)});
}

}  // namespace detail

inline Credentials Credentials::from_env() {
    Credentials credentials{.access_key_id = detail::env_or_empty("AWS_ACCESS_KEY_ID"),
                            .secret_access_key = detail::env_or_empty("AWS_SECRET_ACCESS_KEY"),
                            .session_token = detail::env_or_empty("AWS_SESSION_TOKEN")};
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
        throw detail::configuration_error(
            "no S3 credentials: set ClientOptions::credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    return credentials;
}

}  // namespace redsink::s3
