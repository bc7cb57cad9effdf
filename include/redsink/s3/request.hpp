#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// How a request is addressed and what is signed about its payload. curl (CURLOPT_AWS_SIGV4, 7.88)
// signs the URL's path and query as they are written, so they are written here in SigV4's
// canonical form: every byte but A-Z a-z 0-9 - _ . ~ percent-encoded (the key's '/' kept), the
// query's parameters sorted, each with its '='.
namespace redsink::s3::request {

[[nodiscard]] inline std::string uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            out.push_back(c);
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0x0F]);
        }
    }
    return out;
}

using Query = std::vector<std::pair<std::string, std::string>>;

// "a=1&b=&c=x%2By", sorted by encoded name (then value), as SigV4's canonical query string.
[[nodiscard]] inline std::string canonical_query(const Query& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [name, value] : encoded) out.append(out.empty() ? "" : "&").append(name).append("=").append(value);
    return out;
}

struct Endpoint {
    std::string scheme;     // "https"
    std::string authority;  // "s3.eu-west-1.amazonaws.com", "127.0.0.1:4568"
};

// Splits "http://127.0.0.1:4568" (a trailing '/' allowed; no path) into scheme and authority.
[[nodiscard]] inline Endpoint parse_endpoint(std::string_view endpoint) {
    const auto colon = endpoint.find("://");
    if (colon == std::string_view::npos) throw std::invalid_argument("the endpoint needs a scheme (https://...)");
    Endpoint e{std::string(endpoint.substr(0, colon)), std::string(endpoint.substr(colon + 3))};
    while (!e.authority.empty() && e.authority.back() == '/') e.authority.pop_back();
    if (e.scheme != "http" && e.scheme != "https")
        throw std::invalid_argument("the endpoint's scheme must be http or https");
    if (e.authority.empty() || e.authority.find_first_of("/?#@ ") != std::string::npos)
        throw std::invalid_argument("the endpoint must be scheme://host[:port], without a path or user");
    return e;
}

// The URL of a bucket (empty key) or of an object in it, with a canonical query.
[[nodiscard]] inline std::string url(const Endpoint& endpoint, bool path_style, std::string_view bucket,
                                     std::string_view key, const Query& query = {}) {
    std::string out = endpoint.scheme + "://";
    if (path_style) {
        out.append(endpoint.authority).append("/").append(uri_encode(bucket, false));
        if (!key.empty()) out.append("/").append(uri_encode(key, true));
    } else {
        out.append(bucket).append(".").append(endpoint.authority).append("/").append(uri_encode(key, true));
    }
    if (!query.empty()) out.append("?").append(canonical_query(query));
    return out;
}

namespace detail {

template <std::size_t N>
[[nodiscard]] std::array<unsigned char, N> digest(const EVP_MD* md, std::string_view data) {
    std::array<unsigned char, N> out{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1 || size != N)
        throw std::runtime_error("OpenSSL could not compute a digest");
    return out;
}

}  // namespace detail

// The payload's SHA-256 as x-amz-content-sha256 wants it: lower-case hex.
[[nodiscard]] inline std::string sha256_hex(std::string_view data) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char byte : detail::digest<32>(EVP_sha256(), data)) {
        out.push_back(hex[byte >> 4]);
        out.push_back(hex[byte & 0x0F]);
    }
    return out;
}

[[nodiscard]] inline std::string base64(std::string_view data) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    const auto byte = [&](std::size_t at) { return static_cast<unsigned>(static_cast<unsigned char>(data[at])); };
    for (; i + 2 < data.size(); i += 3) {
        const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        for (const int shift : {18, 12, 6, 0}) out.push_back(alphabet[(v >> shift) & 0x3F]);
    }
    if (const auto rest = data.size() - i; rest > 0) {
        const unsigned v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0U);
        out.push_back(alphabet[(v >> 18) & 0x3F]);
        out.push_back(alphabet[(v >> 12) & 0x3F]);
        out.push_back(rest == 2 ? alphabet[(v >> 6) & 0x3F] : '=');
        out.push_back('=');
    }
    return out;
}

// Content-MD5, which S3 requires on a multi-object delete.
[[nodiscard]] inline std::string md5_base64(std::string_view data) {
    const auto md = detail::digest<16>(EVP_md5(), data);
    return base64(std::string_view(reinterpret_cast<const char*>(md.data()), md.size()));
}

}  // namespace redsink::s3::request
