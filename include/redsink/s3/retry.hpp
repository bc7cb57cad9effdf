#pragma once

#include <string_view>

#include <curl/curl.h>

// S3's classifier for the retry engine (redsink/retry.hpp): which failures another try may fix.
// How long the client waits is the engine's, with ClientOptions' policy.
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

}  // namespace redsink::s3::retry
