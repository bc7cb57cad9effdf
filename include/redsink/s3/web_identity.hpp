#pragma once

// The web identity source of the default chain (credential_chain.hpp), EKS's IAM roles for
// service accounts: an OIDC token from a file exchanged for a role's temporary credentials with
// STS AssumeRoleWithWebIdentity (which needs no signature).
#include <redsink/s3/credential_http.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/metadata_credentials.hpp>
#include <redsink/s3/request.hpp>
#include <redsink/s3/xml.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace redsink::s3 {

struct WebIdentity {
    std::string token_file{};  // read at each fetch: the cluster rotates it
    std::string role_arn{};
    std::string session_name{};
    std::string sts_endpoint{};  // scheme://host[:port], no path
};

// AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (both, or none: no web identity), with
// AWS_ROLE_SESSION_NAME (default: redsink-<seconds since the epoch>) and STS at
// AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com. Throws when only one of the two
// is set.
[[nodiscard]] inline std::optional<WebIdentity> web_identity_from_env(std::string_view region) {
    auto token_file = detail::env_or_empty("AWS_WEB_IDENTITY_TOKEN_FILE");
    auto role_arn = detail::env_or_empty("AWS_ROLE_ARN");
    if (token_file.empty() && role_arn.empty()) return std::nullopt;
    if (token_file.empty() || role_arn.empty())
        throw detail::configuration_error(
            "web identity credentials need both AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN; only " +
            std::string(token_file.empty() ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE") + " is set");
    auto session = detail::env_or_empty("AWS_ROLE_SESSION_NAME");
    if (session.empty()) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        session = "redsink-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
    }
    auto endpoint = detail::env_or_empty("AWS_ENDPOINT_URL_STS");
    if (endpoint.empty()) endpoint = "https://sts." + std::string(region) + ".amazonaws.com";
    while (endpoint.ends_with('/')) endpoint.pop_back();
    return WebIdentity{.token_file = std::move(token_file),
                       .role_arn = std::move(role_arn),
                       .session_name = std::move(session),
                       .sts_endpoint = std::move(endpoint)};
}

// POSTs AssumeRoleWithWebIdentity (the token in the form body, never in the URL) and reads
// <Credentials> from its XML answer; STS's own <Error> Code and Message make the error's.
[[nodiscard]] inline CredentialsProvider web_identity_credentials(WebIdentity identity) {
    return [identity = std::move(identity)] {
        const std::string source = "web identity (STS AssumeRoleWithWebIdentity at " + identity.sts_endpoint + " for " +
                                   identity.role_arn + ")";
        const auto token = detail::read_token_file(source, identity.token_file);
        const std::string form = request::canonical_query({{"Action", "AssumeRoleWithWebIdentity"},
                                                           {"Version", "2011-06-15"},
                                                           {"RoleArn", identity.role_arn},
                                                           {"RoleSessionName", identity.session_name},
                                                           {"WebIdentityToken", token}});
        const auto body = detail::source_fetch(
            {.source = source,
             .method = "POST",
             .url = identity.sts_endpoint + "/",
             .headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/xml"},
             .post_body = form,
             .secret = token},
            {.connect = std::chrono::seconds(5),
             .idle = std::chrono::seconds(10),
             .request = std::chrono::seconds(20)});
        try {
            const auto document = xml::parse(body);
            const auto* result = document.child("AssumeRoleWithWebIdentityResult");
            const auto* credentials = result != nullptr ? result->child("Credentials") : nullptr;
            if (credentials == nullptr)
                throw detail::credentials_error(source,
                                                "the answer has no AssumeRoleWithWebIdentityResult/Credentials");
            Credentials out{.access_key_id = credentials->child_text("AccessKeyId"),
                            .secret_access_key = credentials->child_text("SecretAccessKey"),
                            .session_token = credentials->child_text("SessionToken")};
            if (const auto expiration = credentials->child_text("Expiration"); !expiration.empty())
                out.expiration = detail::parse_time(expiration);
            return out;
        } catch (const xml::ParseError&) {
            throw detail::credentials_error(source, "the answer is not XML");
        } catch (const std::invalid_argument& e) {
            throw detail::credentials_error(source, std::string("the answer's Expiration: ") + e.what());
        }
    };
}

}  // namespace redsink::s3
