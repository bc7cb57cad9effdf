#pragma once

#include <redsink/retry.hpp>
#include <redsink/s3/body.hpp>
#include <redsink/s3/credential_chain.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/options.hpp>
#include <redsink/s3/request.hpp>
#include <redsink/s3/retry.hpp>
#include <redsink/s3/transfer.hpp>
#include <redsink/s3/xml.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::s3 {

// One object of a listing.
struct ObjectInfo {
    std::string key{};
    std::uint64_t size = 0;
    std::string etag{};
    std::string last_modified{};  // ISO 8601, as S3 gives it
};

// One ListObjectsV2 page.
struct ListPage {
    std::vector<ObjectInfo> objects{};
    std::string next_continuation_token{};  // empty on the last page
};

// An S3 client for the load path: PUT, GET, DELETE, ListObjectsV2 and multi-object delete on one
// bucket, signed with SigV4 by libcurl, each request retried on 5xx, throttling and connection
// errors (ClientOptions::max_attempts). One connection, kept between requests: use a Client
// from one thread at a time (one per task). Its credentials (a CredentialsCache) may be shared
// by clients on several threads.
class Client {
public:
    // Credentials: ClientOptions::credentials, else credentials_provider, else the default chain
    // (credential_chain.hpp); fetched now, so that a missing or failing source fails here.
    explicit Client(ClientOptions options);
    // Signs with `credentials`, which other clients share (ClientOptions' credentials unused).
    Client(ClientOptions options, std::shared_ptr<CredentialsCache> credentials);

    Client(Client&&) noexcept = default;
    Client& operator=(Client&&) noexcept = default;

    [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }
    // The region requests are signed for, and the endpoint they go to.
    [[nodiscard]] const std::string& region() const noexcept { return options_.region; }
    [[nodiscard]] const std::string& endpoint() const noexcept { return options_.endpoint; }
    // Where its credentials come from, shareable with other clients.
    [[nodiscard]] const std::shared_ptr<CredentialsCache>& credentials() const noexcept { return credentials_; }

    // Uploads bytes held in memory; their SHA-256 is signed.
    void put_object(std::string_view key, std::string_view bytes);
    // Uploads a body as it is read, of body.size() bytes, rewound for each retry. Its hash is not
    // computed (that would read it twice): x-amz-content-sha256 is UNSIGNED-PAYLOAD, which S3
    // accepts with SigV4; over https the integrity of the bytes is TLS's.
    void put_object(std::string_view key, BodySource& body);
    [[nodiscard]] std::string get_object(std::string_view key);
    // Succeeds when the key does not exist, as S3 does.
    void delete_object(std::string_view key);

    // One page of the keys that start with `prefix`, from a previous page's token.
    [[nodiscard]] ListPage list_page(std::string_view prefix, std::string_view continuation_token = {});
    // Every key that starts with `prefix` (a string prefix: end it with '/' to mean a folder).
    [[nodiscard]] std::vector<ObjectInfo> list_objects(std::string_view prefix);
    // Deletes the keys, up to 1000 a request; throws naming the first key S3 refused.
    void delete_objects(std::span<const std::string> keys);
    // The sweep: deletes every key that starts with `prefix` (not empty) and returns how many.
    std::size_t delete_prefix(std::string_view prefix);

private:
    [[nodiscard]] std::string object_url(std::string_view key, const request::Query& query = {}) const {
        return request::url(endpoint_, options_.path_style, options_.bucket, key, query);
    }
    void check_key(std::string_view operation, std::string_view key) const {
        if (key.empty())
            throw Error(Failure{.operation = std::string(operation),
                                .bucket = options_.bucket,
                                .code = "InvalidArgument",
                                .message = "an object key cannot be empty"});
    }
    // Sends the request, tried again as options_ allow when S3's classifier (retry.hpp) says a
    // failure may pass.
    detail::Response execute(const detail::Call& call);
    // The request's failure as an error names it, from libcurl's code or S3's answer.
    [[nodiscard]] Failure failure_of(const detail::Call& call, CURLcode code, const detail::Response& response,
                                     const std::string& curl_message, const Credentials& used) const;
    // Checks the options and fills in the region and endpoint; the credentials are the callers'.
    void configure();

    ClientOptions options_;
    std::shared_ptr<CredentialsCache> credentials_;
    request::Endpoint endpoint_{};
    detail::Transfer transfer_{};
};

inline void Client::configure() {
    if (options_.bucket.empty()) throw detail::configuration_error("ClientOptions::bucket is empty");
    const char* region_from = "ClientOptions::region";
    if (options_.region.empty()) {
        options_.region = detail::env_or_empty("AWS_REGION");
        region_from = "AWS_REGION";
    }
    if (options_.region.empty()) {
        options_.region = detail::env_or_empty("AWS_DEFAULT_REGION");
        region_from = "AWS_DEFAULT_REGION";
    }
    if (options_.region.empty())
        throw detail::configuration_error("no S3 region: set ClientOptions::region, or AWS_REGION");
    if (!detail::region_name(options_.region))
        throw detail::configuration_error(std::string(region_from) + " '" + options_.region +
                                          "' is not a region name: letters, digits and hyphens only");
    if (options_.endpoint.empty()) options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
    try {
        endpoint_ = request::parse_endpoint(options_.endpoint);
    } catch (const std::invalid_argument& e) {
        throw detail::configuration_error("ClientOptions::endpoint '" + options_.endpoint + "': " + e.what());
    }
    if (options_.max_attempts < 0)
        throw detail::configuration_error("ClientOptions::max_attempts must be 0 (no limit) or more");
    if (options_.retry_budget.count() < 0 || options_.retry_backoff.count() < 0 ||
        options_.retry_backoff_max.count() < 0)
        throw detail::configuration_error(
            "ClientOptions::retry_budget, retry_backoff and retry_backoff_max cannot be negative");
    if (options_.list_page_size < 1 || options_.list_page_size > 1000)
        throw detail::configuration_error("ClientOptions::list_page_size must be between 1 and 1000");
    if (options_.credentials_refresh_before.count() < 0)
        throw detail::configuration_error("ClientOptions::credentials_refresh_before cannot be negative");
    transfer_ = detail::Transfer(
        options_.region, options_.bucket,
        {.connect = options_.connect_timeout, .idle = options_.idle_timeout, .request = options_.request_timeout});
}

inline Client::Client(ClientOptions options) : options_(std::move(options)) {
    configure();
    if (options_.credentials) {
        if (options_.credentials->access_key_id.empty() || options_.credentials->secret_access_key.empty())
            throw detail::configuration_error("ClientOptions::credentials has an empty access key id or secret");
        credentials_ = std::make_shared<CredentialsCache>(
            "ClientOptions::credentials", [fixed = *options_.credentials] { return fixed; }, false,
            options_.credentials_refresh_before);
    } else if (options_.credentials_provider) {
        credentials_ =
            std::make_shared<CredentialsCache>("ClientOptions::credentials_provider", options_.credentials_provider,
                                               true, options_.credentials_refresh_before);
    } else {
        auto source = default_credential_source(options_.region);
        credentials_ = std::make_shared<CredentialsCache>(std::move(source.name), std::move(source.fetch), true,
                                                          options_.credentials_refresh_before);
    }
    options_.credentials.reset();  // kept once, in the cache
    (void)credentials_->get();
}

inline Client::Client(ClientOptions options, std::shared_ptr<CredentialsCache> credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {
    configure();
    if (!credentials_) throw detail::configuration_error("a Client given no credentials cache");
    options_.credentials.reset();
}

inline Failure Client::failure_of(const detail::Call& call, CURLcode code, const detail::Response& response,
                                  const std::string& curl_message, const Credentials& used) const {
    Failure failure{.operation = std::string(call.operation), .bucket = options_.bucket, .key = std::string(call.key)};
    if (code != CURLE_OK) {
        failure.code = detail::curl_code_name(code);
        failure.message = detail::redacted(curl_message, used);
        failure.retryable = retry::retryable_transport(code);
        return failure;
    }
    failure.http_status = response.status;
    failure.request_id = detail::redacted(response.request_id, used);
    failure.region_hint = detail::redacted(response.bucket_region, used);
    try {
        const auto document = xml::parse(response.body);
        if (document.name == "Error") {
            failure.code = detail::redacted(document.child_text("Code"), used);
            failure.message = detail::redacted(document.child_text("Message"), used);
            if (failure.request_id.empty())
                failure.request_id = detail::redacted(document.child_text("RequestId"), used);
        }
    } catch (const xml::ParseError&) {
        failure.message = detail::redacted(detail::excerpt(response.body), used);
    }
    failure.retryable = retry::retryable_status(response.status, failure.code);
    // Temporary credentials that expired before the cache knew: fetched again for the next try.
    if (failure.code == "ExpiredToken" || failure.code == "TokenRefreshRequired")
        failure.retryable = credentials_->expired(used);
    return failure;
}

inline detail::Response Client::execute(const detail::Call& call) {
    const RetryPolicy policy{options_.max_attempts, options_.retry_budget, options_.retry_backoff,
                             options_.retry_backoff_max};
    int attempts = 0;
    return with_retries<Failure>(
        policy, options_.stop,
        [&] {
            if (++attempts > 1 && call.body != nullptr) call.body->rewind();
            const auto credentials = credentials_->get();
            detail::Response response;
            std::string curl_message;
            const CURLcode code = transfer_.send(call, &credentials, response, curl_message);
            if (code == CURLE_OK && response.status >= 200 && response.status < 300) return response;
            throw failure_of(call, code, response, curl_message, credentials);
        },
        [](const Failure& failure) { return failure.retryable; },
        [&](const Failure& failure, const RetryStep& step) {
            if (!options_.on_retry) return;
            std::string reason = failure.http_status != 0 ? "HTTP " + std::to_string(failure.http_status) + " " : "";
            reason.append(failure.code).append(failure.message.empty() ? "" : ": ").append(failure.message);
            options_.on_retry(RetryEvent{.operation = call.operation,
                                         .bucket = options_.bucket,
                                         .key = call.key,
                                         .failed_attempt = step.attempt,
                                         .reason = reason,
                                         .delay = step.delay});
        },
        [](const Failure& failure, const RetryStep& step) {
            auto last = failure;
            last.attempts = step.attempt;
            throw Error(std::move(last));
        });
}

inline void Client::put_object(std::string_view key, std::string_view bytes) {
    check_key("PUT object", key);
    BytesBody body(bytes);
    execute(detail::Call{.operation = "PUT object",
                         .key = key,
                         .method = "PUT",
                         .url = object_url(key),
                         .payload_hash = request::sha256_hex(bytes),
                         .body = &body});
}

inline void Client::put_object(std::string_view key, BodySource& body) {
    check_key("PUT object", key);
    body.rewind();
    execute(detail::Call{.operation = "PUT object",
                         .key = key,
                         .method = "PUT",
                         .url = object_url(key),
                         .payload_hash = "UNSIGNED-PAYLOAD",
                         .body = &body});
}

inline std::string Client::get_object(std::string_view key) {
    check_key("GET object", key);
    return execute(detail::Call{.operation = "GET object",
                                .key = key,
                                .method = "GET",
                                .url = object_url(key),
                                .payload_hash = request::sha256_hex({})})
        .body;
}

inline void Client::delete_object(std::string_view key) {
    check_key("DELETE object", key);
    if (options_.on_delete) options_.on_delete(key);
    execute(detail::Call{.operation = "DELETE object",
                         .key = key,
                         .method = "DELETE",
                         .url = object_url(key),
                         .payload_hash = request::sha256_hex({})});
}

inline ListPage Client::list_page(std::string_view prefix, std::string_view continuation_token) {
    request::Query query{
        {"list-type", "2"}, {"max-keys", std::to_string(options_.list_page_size)}, {"prefix", std::string(prefix)}};
    if (!continuation_token.empty()) query.emplace_back("continuation-token", std::string(continuation_token));
    const auto response = execute(detail::Call{.operation = "LIST objects",
                                               .key = prefix,
                                               .method = "GET",
                                               .url = object_url({}, query),
                                               .payload_hash = request::sha256_hex({})});
    const auto malformed = [&](std::string what) {
        return Error(Failure{.operation = "LIST objects",
                             .bucket = options_.bucket,
                             .key = std::string(prefix),
                             .http_status = response.status,
                             .code = "MalformedResponse",
                             .message = std::move(what),
                             .request_id = response.request_id});
    };
    xml::Element document;
    try {
        document = xml::parse(response.body);
    } catch (const xml::ParseError& e) {
        throw malformed(std::string("the listing is not XML: ") + e.what());
    }
    if (document.name != "ListBucketResult") throw malformed("the listing is a <" + document.name + ">");
    ListPage page;
    for (const auto& child : document.children) {
        if (child.name != "Contents") continue;
        ObjectInfo info{.key = child.child_text("Key"),
                        .etag = child.child_text("ETag"),
                        .last_modified = child.child_text("LastModified")};
        const auto size = child.child_text("Size");
        try {
            info.size = size.empty() ? 0 : std::stoull(size);
        } catch (const std::exception&) {
            throw malformed("an object's Size is '" + size + "'");
        }
        page.objects.push_back(std::move(info));
    }
    if (document.child_text("IsTruncated") == "true") {
        page.next_continuation_token = document.child_text("NextContinuationToken");
        if (page.next_continuation_token.empty()) throw malformed("a truncated listing without a continuation token");
    }
    return page;
}

inline std::vector<ObjectInfo> Client::list_objects(std::string_view prefix) {
    std::vector<ObjectInfo> objects;
    std::string token;
    do {
        auto page = list_page(prefix, token);
        std::move(page.objects.begin(), page.objects.end(), std::back_inserter(objects));
        token = std::move(page.next_continuation_token);
    } while (!token.empty());
    return objects;
}

inline void Client::delete_objects(std::span<const std::string> keys) {
    constexpr std::size_t per_request = 1000;  // S3's limit
    for (std::size_t first = 0; first < keys.size(); first += per_request) {
        const auto chunk = keys.subspan(first, std::min(per_request, keys.size() - first));
        std::string body =
            R"(<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>)";
        for (const auto& key : chunk) {
            check_key("DELETE objects", key);
            if (options_.on_delete) options_.on_delete(key);
            body.append("<Object><Key>").append(xml::escape(key)).append("</Key></Object>");
        }
        body.append("</Delete>");
        const auto response = execute(
            detail::Call{.operation = "DELETE objects",
                         .key = chunk.front(),
                         .method = "POST",
                         .url = object_url({}, {{"delete", ""}}),
                         .payload_hash = request::sha256_hex(body),
                         .post_body = body,
                         .headers = {"Content-MD5: " + request::md5_base64(body), "Content-Type: application/xml"}});
        // Quiet: the result lists only the keys that were not deleted.
        std::vector<const xml::Element*> refused;
        try {
            const auto document = xml::parse(response.body);
            for (const auto& child : document.children)
                if (child.name == "Error") refused.push_back(&child);
            if (!refused.empty()) {
                const auto& e = *refused.front();
                std::string message = e.child_text("Message");
                if (refused.size() > 1)
                    message.append(" (and ").append(std::to_string(refused.size() - 1)).append(" more keys)");
                throw Error(Failure{.operation = "DELETE objects",
                                    .bucket = options_.bucket,
                                    .key = e.child_text("Key"),
                                    .http_status = response.status,
                                    .code = e.child_text("Code"),
                                    .message = detail::redacted(message, credentials_->get()),
                                    .request_id = response.request_id});
            }
        } catch (const xml::ParseError& e) {
            throw Error(Failure{.operation = "DELETE objects",
                                .bucket = options_.bucket,
                                .key = chunk.front(),
                                .http_status = response.status,
                                .code = "MalformedResponse",
                                .message = std::string("the result is not XML: ") + e.what(),
                                .request_id = response.request_id});
        }
    }
}

inline std::size_t Client::delete_prefix(std::string_view prefix) {
    if (prefix.empty())
        throw Error(Failure{.operation = "DELETE prefix",
                            .bucket = options_.bucket,
                            .code = "InvalidArgument",
                            .message = "refusing to delete every object of the bucket: the prefix is empty"});
    std::size_t deleted = 0;
    std::string token;
    do {
        auto page = list_page(prefix, token);
        std::vector<std::string> keys;
        keys.reserve(page.objects.size());
        for (auto& object : page.objects) keys.push_back(std::move(object.key));
        delete_objects(keys);
        deleted += keys.size();
        token = std::move(page.next_continuation_token);
    } while (!token.empty());
    return deleted;
}

}  // namespace redsink::s3
