#pragma once

#include <redsink/error.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace redsink::s3 {

// What one failed S3 request looked like, as far as an error message may tell: never a credential.
struct Failure {
    std::string operation{};  // "PUT object", "LIST objects", ...
    std::string bucket{};
    std::string key{};          // the object key, or the prefix of a listing; may be empty
    long http_status = 0;       // 0: no HTTP response (connection, timeout, a body source that failed)
    std::string code{};         // S3's error Code (AccessDenied, NoSuchKey, ...), or curl's error name
    std::string message{};      // S3's error Message, or curl's description
    std::string request_id{};   // x-amz-request-id, for AWS support
    std::string region_hint{};  // x-amz-bucket-region, when S3 says the bucket lives elsewhere
    int attempts = 1;
    bool retryable = false;  // the last attempt failed in a way a later one might not
};

// Every failure of the S3 client. It is a redsink::Error, so a caller that handles the sink's
// errors handles these too: kind() is transient when another try might succeed (5xx, throttling,
// connection errors) after the client's own retries ran out, and other when it cannot (403, 404,
// 400 and the like). what() names the operation, the bucket and key, the HTTP status, S3's Code and
// Message and the number of attempts.
class Error : public redsink::Error {
public:
    explicit Error(Failure failure)
        : redsink::Error(failure.retryable ? ErrorKind::transient : ErrorKind::other, {}, describe_failure(failure), {},
                         describe_context(failure)),
          failure_(std::move(failure)) {}

    [[nodiscard]] const std::string& operation() const noexcept { return failure_.operation; }
    [[nodiscard]] const std::string& bucket() const noexcept { return failure_.bucket; }
    [[nodiscard]] const std::string& key() const noexcept { return failure_.key; }
    [[nodiscard]] long http_status() const noexcept { return failure_.http_status; }
    [[nodiscard]] const std::string& code() const noexcept { return failure_.code; }
    [[nodiscard]] const std::string& s3_message() const noexcept { return failure_.message; }
    [[nodiscard]] const std::string& request_id() const noexcept { return failure_.request_id; }
    [[nodiscard]] int attempts() const noexcept { return failure_.attempts; }

private:
    static std::string describe_context(const Failure& f) {
        std::string text = "S3 " + f.operation;
        if (!f.bucket.empty()) text.append(" s3://").append(f.bucket).append("/").append(f.key);
        return text;
    }

    static std::string describe_failure(const Failure& f) {
        std::string text;
        if (f.http_status != 0) text.append("HTTP ").append(std::to_string(f.http_status));
        if (!f.code.empty()) text.append(text.empty() ? "" : " ").append(f.code);
        if (!f.message.empty()) text.append(text.empty() ? "" : ": ").append(f.message);
        if (text.empty()) text = "failed";
        if (!f.region_hint.empty()) text.append(" (the bucket is in region ").append(f.region_hint).append(")");
        if (f.attempts > 1) text.append(" (after ").append(std::to_string(f.attempts)).append(" attempts)");
        if (!f.request_id.empty()) text.append(" [request id ").append(f.request_id).append("]");
        return text;
    }

    Failure failure_;
};

}  // namespace redsink::s3
