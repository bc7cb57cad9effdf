#pragma once

#include <redsink/s3/body.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/options.hpp>
#include <redsink/s3/request.hpp>
#include <redsink/s3/retry.hpp>
#include <redsink/s3/xml.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
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

namespace detail {

// libcurl's global setup, once per process, before the first handle.
inline void init_curl_once() {
    static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK)
        throw std::runtime_error(std::string("libcurl failed to initialize: ") + curl_easy_strerror(code));
}

[[nodiscard]] inline std::string curl_code_name(CURLcode code) {
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST: return "COULDNT_RESOLVE_HOST";
        case CURLE_COULDNT_CONNECT: return "COULDNT_CONNECT";
        case CURLE_OPERATION_TIMEDOUT: return "OPERATION_TIMEDOUT";
        case CURLE_SEND_ERROR: return "SEND_ERROR";
        case CURLE_RECV_ERROR: return "RECV_ERROR";
        case CURLE_GOT_NOTHING: return "GOT_NOTHING";
        case CURLE_PARTIAL_FILE: return "PARTIAL_FILE";
        case CURLE_SSL_CONNECT_ERROR: return "SSL_CONNECT_ERROR";
        case CURLE_PEER_FAILED_VERIFICATION: return "PEER_FAILED_VERIFICATION";
        default: return "CURLE " + std::to_string(static_cast<int>(code));
    }
}

[[nodiscard]] inline bool iequals_prefix(std::string_view line, std::string_view name) noexcept {
    if (line.size() < name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char a = line[i] >= 'A' && line[i] <= 'Z' ? static_cast<char>(line[i] - 'A' + 'a') : line[i];
        if (a != name[i]) return false;
    }
    return true;
}

[[nodiscard]] inline std::string trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
    return std::string(text);
}

// A body that is not S3's XML (a proxy's page): a short, printable excerpt.
[[nodiscard]] inline std::string excerpt(std::string_view body) {
    std::string out;
    for (const char c : body.substr(0, 200)) out.push_back(c >= ' ' && c != '\x7f' ? c : ' ');
    return trimmed(out);
}

}  // namespace detail

// An S3 client for the load path: PUT, GET, DELETE, ListObjectsV2 and multi-object delete on one
// bucket, signed with SigV4 by libcurl, each request retried on 5xx, throttling and connection
// errors (ClientOptions::max_attempts). One connection, kept between requests: use a Client
// from one thread at a time (one per task).
class Client {
public:
    explicit Client(ClientOptions options);

    Client(Client&&) noexcept = default;
    Client& operator=(Client&&) noexcept = default;

    [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }
    // The region requests are signed for, and the endpoint they go to.
    [[nodiscard]] const std::string& region() const noexcept { return options_.region; }
    [[nodiscard]] const std::string& endpoint() const noexcept { return options_.endpoint; }

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
    struct Call {
        std::string_view operation{};
        std::string_view key{};  // for messages
        const char* method = "GET";
        std::string url{};
        std::string payload_hash{};
        BodySource* body = nullptr;    // PUT
        std::string_view post_body{};  // POST
        std::vector<std::string> headers{};
    };
    struct Response {
        long status = 0;
        std::string body{};
        std::string request_id{};
        std::string bucket_region{};
    };
    struct Upload {
        BodySource* body = nullptr;
        std::uint64_t remaining = 0;
        std::exception_ptr error{};
        bool ended_early = false;
    };

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
    // Removes the credentials from text that came from elsewhere (a server, libcurl).
    [[nodiscard]] std::string redacted(std::string text) const {
        for (const std::string* secret : {&credentials_.secret_access_key, &credentials_.session_token}) {
            if (secret->empty()) continue;
            for (auto at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at))
                text.replace(at, secret->size(), "<redacted>");
        }
        return text;
    }

    Response execute(const Call& call);
    // One attempt. Returns libcurl's code; throws what the body source threw.
    CURLcode send_once(const Call& call, Response& response, std::string& curl_message);

    ClientOptions options_;
    Credentials credentials_;
    request::Endpoint endpoint_{};
    std::string sigv4_{};
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_{nullptr, &curl_easy_cleanup};
    std::minstd_rand random_{std::random_device{}()};
};

inline Client::Client(ClientOptions options) : options_(std::move(options)) {
    if (options_.bucket.empty()) throw detail::configuration_error("ClientOptions::bucket is empty");
    if (options_.region.empty()) options_.region = detail::env_or_empty("AWS_REGION");
    if (options_.region.empty()) options_.region = detail::env_or_empty("AWS_DEFAULT_REGION");
    if (options_.region.empty())
        throw detail::configuration_error("no S3 region: set ClientOptions::region, or AWS_REGION");
    if (options_.endpoint.empty()) options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
    try {
        endpoint_ = request::parse_endpoint(options_.endpoint);
    } catch (const std::invalid_argument& e) {
        throw detail::configuration_error("ClientOptions::endpoint '" + options_.endpoint + "': " + e.what());
    }
    if (options_.max_attempts < 1) throw detail::configuration_error("ClientOptions::max_attempts must be at least 1");
    if (options_.list_page_size < 1 || options_.list_page_size > 1000)
        throw detail::configuration_error("ClientOptions::list_page_size must be between 1 and 1000");
    credentials_ = options_.credentials ? *options_.credentials : Credentials::from_env();
    if (credentials_.access_key_id.empty() || credentials_.secret_access_key.empty())
        throw detail::configuration_error("ClientOptions::credentials has an empty access key id or secret");
    options_.credentials.reset();  // kept once, in credentials_
    sigv4_ = "aws:amz:" + options_.region + ":s3";
    detail::init_curl_once();
    curl_.reset(curl_easy_init());
    if (!curl_) throw std::runtime_error("libcurl could not create a handle");
}

inline CURLcode Client::send_once(const Call& call, Response& response, std::string& curl_message) {
    CURL* h = curl_.get();
    curl_easy_reset(h);  // keeps the connection
    response = Response{};
    char error_buffer[CURL_ERROR_SIZE] = {};

    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers{nullptr, &curl_slist_free_all};
    const auto add_header = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (next == nullptr) throw std::bad_alloc();
        (void)headers.release();
        headers.reset(next);
    };
    // libcurl signs with the value of this header as the payload's hash (and S3 requires it).
    add_header("x-amz-content-sha256: " + call.payload_hash);
    if (!credentials_.session_token.empty()) add_header("x-amz-security-token: " + credentials_.session_token);
    for (const auto& line : call.headers) add_header(line);

    const auto write = +[](char* data, std::size_t size, std::size_t count, void* user) -> std::size_t {
        static_cast<std::string*>(user)->append(data, size * count);
        return size * count;
    };
    const auto header = +[](char* data, std::size_t size, std::size_t count, void* user) -> std::size_t {
        auto& r = *static_cast<Response*>(user);
        const std::string_view line(data, size * count);
        if (line.substr(0, 5) == "HTTP/") {  // a new response (after 100 Continue): forget the last
            r.request_id.clear();
            r.bucket_region.clear();
        } else if (detail::iequals_prefix(line, "x-amz-request-id:")) {
            r.request_id = detail::trimmed(line.substr(17));
        } else if (detail::iequals_prefix(line, "x-amz-bucket-region:")) {
            r.bucket_region = detail::trimmed(line.substr(20));
        }
        return size * count;
    };
    const auto read = +[](char* buffer, std::size_t size, std::size_t count, void* user) -> std::size_t {
        auto& u = *static_cast<Upload*>(user);
        if (u.remaining == 0) return 0;
        try {
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, u.remaining));
            const auto got = u.body->read(buffer, want);
            if (got == 0 || got > want) {
                u.ended_early = true;
                return CURL_READFUNC_ABORT;
            }
            u.remaining -= got;
            return got;
        } catch (...) {
            u.error = std::current_exception();
            return CURL_READFUNC_ABORT;
        }
    };
    // libcurl rewinds the body itself when it must send it again within one attempt.
    const auto seek = +[](void* user, curl_off_t offset, int origin) -> int {
        auto& u = *static_cast<Upload*>(user);
        if (offset != 0 || origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
        try {
            u.body->rewind();
            u.remaining = u.body->size();
            return CURL_SEEKFUNC_OK;
        } catch (...) {
            u.error = std::current_exception();
            return CURL_SEEKFUNC_FAIL;
        }
    };

    const auto ms = [](std::chrono::milliseconds d) { return static_cast<long>(d.count()); };
    curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // a key's "./" and "../" are part of its name
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);  // a trace would show the session token
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(options_.connect_timeout));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms(options_.request_timeout));
    if (options_.idle_timeout.count() > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                         std::max(1L, static_cast<long>((options_.idle_timeout.count() + 999) / 1000)));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);

    Upload upload;
    const std::string_view method = call.method;
    if (method == "PUT") {
        upload = Upload{.body = call.body, .remaining = call.body->size()};
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.body->size()));
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read);
        curl_easy_setopt(h, CURLOPT_READDATA, &upload);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &upload);
    } else if (method == "POST") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.post_body.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.post_body.data());
    } else if (method == "DELETE") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }

    const CURLcode code = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (upload.error) std::rethrow_exception(upload.error);
    if (upload.ended_early) {
        const auto sent = call.body->size() - upload.remaining;
        throw Error(Failure{.operation = std::string(call.operation),
                            .bucket = options_.bucket,
                            .key = std::string(call.key),
                            .code = "IncompleteBody",
                            .message = "the body source ended after " + std::to_string(sent) + " of the " +
                                       std::to_string(call.body->size()) + " bytes its size() announced"});
    }
    if (code == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    } else {
        curl_message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    }
    return code;
}

inline Client::Response Client::execute(const Call& call) {
    for (int attempt = 1;; ++attempt) {
        if (attempt > 1 && call.body != nullptr) call.body->rewind();
        Response response;
        std::string curl_message;
        const CURLcode code = send_once(call, response, curl_message);
        if (code == CURLE_OK && response.status >= 200 && response.status < 300) return response;

        Failure failure{.operation = std::string(call.operation),
                        .bucket = options_.bucket,
                        .key = std::string(call.key),
                        .attempts = attempt};
        if (code != CURLE_OK) {
            failure.code = detail::curl_code_name(code);
            failure.message = redacted(curl_message);
            failure.retryable = retry::retryable_transport(code);
        } else {
            failure.http_status = response.status;
            failure.request_id = redacted(response.request_id);
            failure.region_hint = redacted(response.bucket_region);
            try {
                const auto document = xml::parse(response.body);
                if (document.name == "Error") {
                    failure.code = redacted(document.child_text("Code"));
                    failure.message = redacted(document.child_text("Message"));
                    if (failure.request_id.empty()) failure.request_id = redacted(document.child_text("RequestId"));
                }
            } catch (const xml::ParseError&) {
                failure.message = redacted(detail::excerpt(response.body));
            }
            failure.retryable = retry::retryable_status(response.status, failure.code);
        }
        if (!failure.retryable || attempt >= options_.max_attempts) throw Error(std::move(failure));

        const auto delay = retry::backoff(attempt, options_.retry_base_delay, options_.retry_max_delay, random_);
        if (options_.on_retry) {
            std::string reason = failure.http_status != 0 ? "HTTP " + std::to_string(failure.http_status) + " " : "";
            reason.append(failure.code).append(failure.message.empty() ? "" : ": ").append(failure.message);
            options_.on_retry(RetryEvent{.operation = call.operation,
                                         .bucket = options_.bucket,
                                         .key = call.key,
                                         .failed_attempt = attempt,
                                         .reason = reason,
                                         .delay = delay});
        }
        std::this_thread::sleep_for(delay);
    }
}

inline void Client::put_object(std::string_view key, std::string_view bytes) {
    check_key("PUT object", key);
    BytesBody body(bytes);
    execute(Call{.operation = "PUT object",
                 .key = key,
                 .method = "PUT",
                 .url = object_url(key),
                 .payload_hash = request::sha256_hex(bytes),
                 .body = &body});
}

inline void Client::put_object(std::string_view key, BodySource& body) {
    check_key("PUT object", key);
    body.rewind();
    execute(Call{.operation = "PUT object",
                 .key = key,
                 .method = "PUT",
                 .url = object_url(key),
                 .payload_hash = "UNSIGNED-PAYLOAD",
                 .body = &body});
}

inline std::string Client::get_object(std::string_view key) {
    check_key("GET object", key);
    return execute(Call{.operation = "GET object",
                        .key = key,
                        .method = "GET",
                        .url = object_url(key),
                        .payload_hash = request::sha256_hex({})})
        .body;
}

inline void Client::delete_object(std::string_view key) {
    check_key("DELETE object", key);
    if (options_.on_delete) options_.on_delete(key);
    execute(Call{.operation = "DELETE object",
                 .key = key,
                 .method = "DELETE",
                 .url = object_url(key),
                 .payload_hash = request::sha256_hex({})});
}

inline ListPage Client::list_page(std::string_view prefix, std::string_view continuation_token) {
    request::Query query{
        {"list-type", "2"}, {"max-keys", std::to_string(options_.list_page_size)}, {"prefix", std::string(prefix)}};
    if (!continuation_token.empty()) query.emplace_back("continuation-token", std::string(continuation_token));
    const auto response = execute(Call{.operation = "LIST objects",
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
        const auto response =
            execute(Call{.operation = "DELETE objects",
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
                                    .message = redacted(message),
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
