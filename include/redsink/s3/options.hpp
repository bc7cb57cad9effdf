#pragma once

#include <redsink/s3/credentials.hpp>
#include <redsink/s3/error.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace redsink::s3 {

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
    // Fixed keys. None: credentials_provider, else the default chain (docs/s3-client.md:
    // environment, web identity, the shared files, ECS, EC2 instance metadata).
    std::optional<Credentials> credentials{};
    // Your own source, called again before what it returned expires (credentials.hpp).
    CredentialsProvider credentials_provider{};
    // Temporary credentials are fetched again this long before they expire (or at half their
    // remaining life when that is shorter).
    std::chrono::seconds credentials_refresh_before{300};

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

// Region names are letters, digits and hyphens ("eu-west-1", "us-gov-west-1", "cn-north-1"): the
// region goes into URLs, the signature's scope and COPY's REGION '...'.
[[nodiscard]] inline bool region_name(std::string_view region) noexcept {
    if (region.empty()) return false;
    for (const char c : region)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

}  // namespace detail

}  // namespace redsink::s3
