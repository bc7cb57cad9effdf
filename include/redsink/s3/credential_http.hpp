#pragma once

// What the credential sources that answer over HTTP share (EC2 instance metadata, ECS, STS): one
// unsigned request retried on connection errors and 5xx, failures as errors that name the source
// and never its answer's secrets, the flat JSON object IMDS and ECS answer with, and ISO 8601
// expiration times.
#include <redsink/retry.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/retry.hpp>
#include <redsink/s3/transfer.hpp>
#include <redsink/s3/xml.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::s3::detail {

// One request of a credential source: the source's name, for errors.
struct SourceRequest {
    std::string_view source{};
    const char* method = "GET";
    std::string url{};
    std::vector<std::string> headers{};
    std::string_view post_body{};
    std::string_view secret{};  // a token the request carries: never shown
};

// The body of a 2xx answer; otherwise throws an error naming the source, with the status and an
// excerpt of the answer (credential sources answer failures with a short message; an XML
// <Error>'s Code and Message), or libcurl's error. Three tries, 100 ms apart then 200 ms, when the failure may pass.
[[nodiscard]] inline std::string source_fetch(const SourceRequest& request,
                                              const Timeouts& timeouts = {.connect = std::chrono::seconds(1),
                                                                          .idle = std::chrono::seconds(5),
                                                                          .request = std::chrono::seconds(5)}) {
    Transfer transfer({}, {}, timeouts);
    const RetryPolicy policy{3, std::chrono::seconds(10), std::chrono::milliseconds(100),
                             std::chrono::milliseconds(200)};
    const Call call{.operation = request.source,
                    .method = request.method,
                    .url = request.url,
                    .post_body = request.post_body,
                    .headers = request.headers};
    return with_retries<Failure>(
        policy, std::stop_token{},
        [&] {
            Response response;
            std::string curl_message;
            const CURLcode code = transfer.send(call, nullptr, response, curl_message);
            if (code == CURLE_OK && response.status >= 200 && response.status < 300) return std::move(response.body);
            Failure failure{.operation = "credentials from " + std::string(request.source),
                            .code = "CredentialsUnavailable"};
            if (code != CURLE_OK) {
                failure.code = curl_code_name(code);
                failure.message = redacted(curl_message, {request.secret});
                failure.retryable = retry::retryable_transport(code);
            } else {
                failure.http_status = response.status;
                failure.message = excerpt(response.body);
                failure.request_id = response.request_id;
                try {  // STS's <ErrorResponse><Error>: its Code and Message
                    const auto document = xml::parse(response.body);
                    const auto* error = document.name == "Error" ? &document : document.child("Error");
                    if (error != nullptr) {
                        failure.code = error->child_text("Code");
                        failure.message = error->child_text("Message");
                    }
                    if (failure.request_id.empty()) failure.request_id = document.child_text("RequestId");
                } catch (const xml::ParseError&) {
                }
                failure.message = redacted(failure.message, {request.secret});
                failure.retryable = retry::retryable_status(response.status, {});
            }
            throw failure;
        },
        [](const Failure& failure) { return failure.retryable; }, redsink::detail::NoRetryHook{},
        [](const Failure& failure, const RetryStep& step) {
            auto last = failure;
            last.attempts = step.attempt;
            throw Error(std::move(last));
        });
}

// The string and number members of a flat JSON object ({"AccessKeyId": "...", ...}), by name.
// Throws std::invalid_argument, whose message never quotes the text (it holds secrets).
[[nodiscard]] inline std::map<std::string, std::string> json_members(std::string_view text) {
    std::size_t at = 0;
    const auto fail = [&](const char* what) {
        throw std::invalid_argument(std::string("not a flat JSON object (") + what + " at byte " + std::to_string(at) +
                                    ")");
    };
    const auto space = [&] {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\n' || text[at] == '\r' || text[at] == '\t')) ++at;
    };
    const auto string = [&] {
        if (at >= text.size() || text[at] != '"') fail("a string expected");
        std::string out;
        for (++at; at < text.size() && text[at] != '"'; ++at) {
            char c = text[at];
            if (c == '\\') {
                if (++at >= text.size()) fail("an escape cut short");
                switch (text[at]) {
                    case 'n': c = '\n'; break;
                    case 't': c = '\t'; break;
                    case 'r': c = '\r'; break;
                    case 'b': c = '\b'; break;
                    case 'f': c = '\f'; break;
                    case 'u': {
                        if (at + 4 >= text.size()) fail("an escape cut short");
                        unsigned value = 0;
                        for (int i = 1; i <= 4; ++i) {
                            const char h = text[at + static_cast<std::size_t>(i)];
                            value = value * 16 + static_cast<unsigned>(h >= 'a'   ? h - 'a' + 10
                                                                       : h >= 'A' ? h - 'A' + 10
                                                                                  : h - '0');
                        }
                        if (value > 0x7F) fail("a non-ASCII escape");
                        c = static_cast<char>(value);
                        at += 4;
                        break;
                    }
                    default: c = text[at];
                }
            }
            out.push_back(c);
        }
        if (at >= text.size()) fail("an unterminated string");
        ++at;
        return out;
    };
    std::map<std::string, std::string> members;
    space();
    if (at >= text.size() || text[at] != '{') fail("no object");
    ++at;
    space();
    if (at < text.size() && text[at] == '}') return members;
    for (;;) {
        space();
        auto name = string();
        space();
        if (at >= text.size() || text[at] != ':') fail("':' expected");
        ++at;
        space();
        if (at < text.size() && text[at] == '"') {
            members[std::move(name)] = string();
        } else {
            const auto start = at;
            while (at < text.size() && text[at] != ',' && text[at] != '}' && text[at] != ' ' && text[at] != '\n') ++at;
            if (at == start) fail("a value expected");
            const auto value = text.substr(start, at - start);
            if (value.find_first_of("{[") != std::string_view::npos) fail("a nested value");
            members[std::move(name)] = std::string(value);
        }
        space();
        if (at < text.size() && text[at] == ',') {
            ++at;
            continue;
        }
        if (at < text.size() && text[at] == '}') return members;
        fail("',' or '}' expected");
    }
}

// "2026-12-02T10:15:30Z", with optional fractions of a second and a "+hh:mm" offset instead of Z.
[[nodiscard]] inline std::chrono::system_clock::time_point parse_time(std::string_view text) {
    const auto bad = [&] { return std::invalid_argument("'" + std::string(text) + "' is not an ISO 8601 time"); };
    const auto number = [&](std::size_t at, std::size_t digits) {
        if (at + digits > text.size()) throw bad();
        int value = 0;
        for (std::size_t i = at; i < at + digits; ++i) {
            if (text[i] < '0' || text[i] > '9') throw bad();
            value = value * 10 + (text[i] - '0');
        }
        return value;
    };
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') ||
        text[13] != ':' || text[16] != ':')
        throw bad();
    using namespace std::chrono;
    const year_month_day date{year(number(0, 4)), month(static_cast<unsigned>(number(5, 2))),
                              day(static_cast<unsigned>(number(8, 2)))};
    if (!date.ok()) throw bad();
    auto point = sys_days(date) + hours(number(11, 2)) + minutes(number(14, 2)) + seconds(number(17, 2));
    std::size_t at = 19;
    if (at < text.size() && text[at] == '.')
        for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9';) ++at;  // fractions: dropped
    if (at < text.size() && text[at] == 'Z' && at + 1 == text.size()) return system_clock::time_point(point);
    if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
        const auto offset = hours(number(at + 1, 2)) + minutes(number(at + 4, 2));
        return system_clock::time_point(text[at] == '+' ? point - offset : point + offset);
    }
    throw bad();
}

// Credentials from the members of a JSON answer (IMDS and ECS name them alike).
[[nodiscard]] inline Credentials json_credentials(std::string_view source, std::string_view body) {
    std::map<std::string, std::string> members;
    try {
        members = json_members(body);
    } catch (const std::invalid_argument& e) {
        throw credentials_error(source, std::string("the answer is ") + e.what());
    }
    const auto member = [&](const char* name) {
        const auto found = members.find(name);
        return found != members.end() ? found->second : std::string();
    };
    if (const auto code = member("Code"); !code.empty() && code != "Success")
        throw credentials_error(source, "the answer's Code is '" + code + "': " + member("Message"));
    Credentials credentials{.access_key_id = member("AccessKeyId"),
                            .secret_access_key = member("SecretAccessKey"),
                            .session_token = member("Token")};
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
        throw credentials_error(source, "the answer has no AccessKeyId or SecretAccessKey");
    if (const auto expiration = member("Expiration"); !expiration.empty()) {
        try {
            credentials.expiration = parse_time(expiration);
        } catch (const std::invalid_argument& e) {
            throw credentials_error(source, std::string("the answer's Expiration: ") + e.what());
        }
    }
    return credentials;
}

}  // namespace redsink::s3::detail
