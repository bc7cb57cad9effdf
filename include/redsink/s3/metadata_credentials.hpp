#pragma once

// Two credential sources of the default chain (credential_chain.hpp) that a machine's own
// endpoint answers: an ECS task's (or EKS Pod Identity's) container endpoint, and EC2 instance
// metadata (IMDSv2). Both give temporary credentials with an expiration.
#include <redsink/s3/credential_http.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/request.hpp>

#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::s3 {

// Where a container's credentials are served, and the Authorization header they need.
struct ContainerEndpoint {
    std::string url{};
    std::string authorization{};       // the header's value, when it is given as is
    std::string authorization_file{};  // or a file that holds it, read at each fetch (EKS rotates it)
};

namespace detail {

// AWS_CONTAINER_CREDENTIALS_FULL_URI may name only an https URL, a loopback address or the
// container endpoints' own (169.254.170.2 for ECS, 169.254.170.23 and fd00:ec2::23 for EKS):
// anything else could hand the authorization token to another host. Names are not resolved:
// "localhost" is the only name taken.
[[nodiscard]] inline bool allowed_container_url(std::string_view url) {
    if (url.starts_with("https://")) return true;
    if (!url.starts_with("http://")) return false;
    auto host = url.substr(7);
    host = host.substr(0, host.find_first_of("/?#"));
    if (host.find('@') != std::string_view::npos) return false;
    if (host.starts_with("[")) {
        host = host.substr(0, host.find(']') + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    if (host == "localhost" || host == "[::1]" || host == "169.254.170.2" || host == "169.254.170.23" ||
        host == "[fd00:ec2::23]")
        return true;
    // 127.0.0.0/8: four dotted numbers, the first 127.
    if (!host.starts_with("127.")) return false;
    int dots = 0;
    for (const char c : host) {
        if (c == '.') {
            ++dots;
        } else if (c < '0' || c > '9') {
            return false;
        }
    }
    return dots == 3;
}

[[nodiscard]] inline std::string read_token_file(std::string_view source, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw credentials_error(source, "cannot read the token file " + path);
    std::string token{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) throw credentials_error(source, "the token file " + path + " is empty");
    return token;
}

}  // namespace detail

// The container endpoint the environment names: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
// http://169.254.170.2, ECS), else AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN (the file wins);
// none when neither is set. Throws when the full URI names a host it may not.
[[nodiscard]] inline std::optional<ContainerEndpoint> container_endpoint_from_env() {
    if (auto relative = detail::env_or_empty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !relative.empty()) {
        if (relative.front() != '/') relative.insert(relative.begin(), '/');
        return ContainerEndpoint{.url = "http://169.254.170.2" + relative};
    }
    auto full = detail::env_or_empty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (full.empty()) return std::nullopt;
    if (!detail::allowed_container_url(full))
        throw detail::configuration_error(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback address or 169.254.170.2, "
            "169.254.170.23, [fd00:ec2::23]: '" +
            full + "'");
    return ContainerEndpoint{.url = std::move(full),
                             .authorization = detail::env_or_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                             .authorization_file = detail::env_or_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")};
}

// GETs the endpoint's credentials (JSON: AccessKeyId, SecretAccessKey, Token, Expiration).
[[nodiscard]] inline CredentialsProvider container_credentials(ContainerEndpoint endpoint) {
    return [endpoint = std::move(endpoint)] {
        const std::string source = "ECS container credentials (" + endpoint.url + ")";
        std::string token = endpoint.authorization_file.empty()
                                ? endpoint.authorization
                                : detail::read_token_file(source, endpoint.authorization_file);
        if (token.find_first_of("\r\n") != std::string::npos)
            throw detail::credentials_error(source, "the authorization token holds a line break");
        detail::SourceRequest request{.source = source, .url = endpoint.url, .secret = token};
        if (!token.empty()) request.headers.push_back("Authorization: " + token);
        return detail::json_credentials(source, detail::source_fetch(request));
    };
}

// The EC2 instance metadata endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else
// http://169.254.169.254; none when AWS_EC2_METADATA_DISABLED is "true" (any case).
[[nodiscard]] inline std::optional<std::string> instance_metadata_endpoint_from_env() {
    auto disabled = detail::env_or_empty("AWS_EC2_METADATA_DISABLED");
    for (auto& c : disabled) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (disabled == "true") return std::nullopt;
    auto endpoint = detail::env_or_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (endpoint.empty()) endpoint = "http://169.254.169.254";
    while (endpoint.ends_with('/')) endpoint.pop_back();
    return endpoint;
}

// IMDSv2: a session token (PUT /latest/api/token, 6 hours), the instance profile's role
// (GET /latest/meta-data/iam/security-credentials/, its first line), then its credentials
// (GET .../security-credentials/<role>, JSON). IMDSv1 (no token) is not used.
[[nodiscard]] inline CredentialsProvider instance_metadata_credentials(std::string endpoint) {
    return [endpoint = std::move(endpoint)] {
        const std::string source = "EC2 instance metadata (" + endpoint + ")";
        const auto token = detail::source_fetch({.source = source,
                                                 .method = "PUT",
                                                 .url = endpoint + "/latest/api/token",
                                                 .headers = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"}});
        const std::string header = "X-aws-ec2-metadata-token: " + token;
        const std::string base = endpoint + "/latest/meta-data/iam/security-credentials/";
        auto role = detail::source_fetch({.source = source, .url = base, .headers = {header}, .secret = token});
        role = role.substr(0, role.find_first_of("\r\n"));
        while (!role.empty() && role.back() == ' ') role.pop_back();
        if (role.empty()) throw detail::credentials_error(source, "the instance has no IAM role (instance profile)");
        return detail::json_credentials(source, detail::source_fetch({.source = source,
                                                                      .url = base + request::uri_encode(role, false),
                                                                      .headers = {header},
                                                                      .secret = token}));
    };
}

}  // namespace redsink::s3
