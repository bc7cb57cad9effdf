#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <string_view>

#include <curl/curl.h>

// Which failures the client tries again, and how long it waits: the one place both are decided.
namespace redsink::s3::retry {

// Connection trouble and timeouts: the server may answer the next time.
[[nodiscard]] constexpr bool retryable_transport(CURLcode code) noexcept {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM: return true;
        default: return false;
    }
}

// 5xx, 429 and S3's throttling and timeout codes (SlowDown comes as 503, RequestTimeout as 400).
// 403 and 404 never: the credentials, the bucket or the key will not change by waiting.
[[nodiscard]] constexpr bool retryable_status(long status, std::string_view code) noexcept {
    if (status >= 500 && status <= 599) return true;
    if (status == 429) return true;
    return code == "SlowDown" || code == "RequestTimeout" || code == "Throttling" || code == "ThrottlingException" ||
           code == "RequestLimitExceeded" || code == "InternalError";
}

// The wait after failed attempt n (1 for the first): between half and all of base * 2^(n-1),
// capped at max_delay. The jitter spreads out clients that failed together.
template <class Random>
[[nodiscard]] std::chrono::milliseconds backoff(int failed_attempt, std::chrono::milliseconds base,
                                                std::chrono::milliseconds max_delay, Random& random) {
    auto ceiling = std::max(base, std::chrono::milliseconds(0));
    for (int i = 1; i < failed_attempt && ceiling < max_delay; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, max_delay);
    if (ceiling.count() <= 1) return ceiling;
    std::uniform_int_distribution<long long> pick(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds(pick(random));
}

}  // namespace redsink::s3::retry
