#pragma once

// One HTTP request over libcurl: the easy handle (and the connection it keeps between requests),
// SigV4 signing by libcurl (S3's requests; the credential sources' go unsigned), a streamed or
// in-memory body, and what came back. No retries: the caller (client.hpp) decides those.
#include <redsink/s3/body.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/error.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::s3::detail {

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

// What one request sends.
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

// What came back: the status, the body and the headers an error message names.
struct Response {
    long status = 0;
    std::string body{};
    std::string request_id{};
    std::string bucket_region{};
};

// `text` with each of the secrets (those not empty) replaced by <redacted>: for text that came
// from elsewhere (a server, libcurl).
[[nodiscard]] inline std::string redacted(std::string text, std::initializer_list<std::string_view> secrets) {
    for (const auto secret : secrets) {
        if (secret.empty()) continue;
        constexpr std::string_view mark = "<redacted>";
        // Searched again after the mark: a secret inside "<redacted>" would never end.
        for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + mark.size()))
            text.replace(at, secret.size(), mark);
    }
    return text;
}

[[nodiscard]] inline std::string redacted(std::string text, const Credentials& credentials) {
    return redacted(std::move(text), {credentials.secret_access_key, credentials.session_token});
}

// How long a request may take.
struct Timeouts {
    std::chrono::milliseconds connect{10'000};
    std::chrono::milliseconds idle{60'000};  // no byte moved for this long: abandoned; zero: no limit
    std::chrono::milliseconds request{0};    // the whole request; zero: no limit
};

// Sends requests on one libcurl handle. Movable, not shareable: one thread at a time.
class Transfer {
public:
    Transfer() = default;
    // `region`: requests given credentials are signed for S3 in it. `bucket`: for messages.
    Transfer(std::string_view region, std::string bucket, Timeouts timeouts)
        : sigv4_("aws:amz:" + std::string(region) + ":s3"), bucket_(std::move(bucket)), timeouts_(timeouts) {
        init_curl_once();
        curl_.reset(curl_easy_init());
        if (!curl_) throw std::runtime_error("libcurl could not create a handle");
    }

    // One attempt, signed with `credentials` (and its session token sent) unless they are null.
    // Returns libcurl's code (and its message in `curl_message`); throws what the body source
    // threw, or an error when it ended before its size().
    CURLcode send(const Call& call, const Credentials* credentials, Response& response, std::string& curl_message);

private:
    struct Upload {
        BodySource* body = nullptr;
        std::uint64_t remaining = 0;
        std::exception_ptr error{};
        bool ended_early = false;
    };

    std::string sigv4_{};
    std::string bucket_{};
    Timeouts timeouts_{};
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_{nullptr, &curl_easy_cleanup};
};

inline CURLcode Transfer::send(const Call& call, const Credentials* credentials, Response& response,
                               std::string& curl_message) {
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
    if (!call.payload_hash.empty()) add_header("x-amz-content-sha256: " + call.payload_hash);
    if (credentials != nullptr && !credentials->session_token.empty())
        add_header("x-amz-security-token: " + credentials->session_token);
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
        } else if (iequals_prefix(line, "x-amz-request-id:")) {
            r.request_id = trimmed(line.substr(17));
        } else if (iequals_prefix(line, "x-amz-bucket-region:")) {
            r.bucket_region = trimmed(line.substr(20));
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
    if (credentials != nullptr) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
        curl_easy_setopt(h, CURLOPT_USERNAME, credentials->access_key_id.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, credentials->secret_access_key.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(timeouts_.connect));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms(timeouts_.request));
    if (timeouts_.idle.count() > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                         std::max(1L, static_cast<long>((timeouts_.idle.count() + 999) / 1000)));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);

    Upload upload;
    const std::string_view method = call.method;
    if (method == "PUT" && call.body != nullptr) {
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
    } else if (method != "GET") {  // DELETE, and a PUT without a body (the metadata token)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }

    const CURLcode code = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (upload.error) std::rethrow_exception(upload.error);
    if (upload.ended_early) {
        const auto sent = call.body->size() - upload.remaining;
        throw Error(Failure{.operation = std::string(call.operation),
                            .bucket = bucket_,
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

}  // namespace redsink::s3::detail
