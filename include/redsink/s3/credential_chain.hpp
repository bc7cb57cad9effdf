#pragma once

// The default credential chain: where the S3 client finds credentials when it is given none, in
// the AWS SDKs' order. The first source that the environment configures is the client's for
// good (its credentials are fetched from it again as they expire); a source that is configured
// but fails is an error naming it, not a reason to try the next.
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/metadata_credentials.hpp>
#include <redsink/s3/profile_credentials.hpp>
#include <redsink/s3/web_identity.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace redsink::s3 {

// A source of credentials and its name, for errors.
struct CredentialSource {
    std::string name{};
    CredentialsProvider fetch{};
};

// The first configured of:
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (either of the
//     first two set makes it the source, and the other missing an error);
//  2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through STS in `region`
//     (AWS_ENDPOINT_URL_STS overrides the endpoint);
//  3. the shared files: the profile AWS_PROFILE names (else "default"), if either file has it;
//  4. ECS: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI;
//  5. EC2 instance metadata, unless AWS_EC2_METADATA_DISABLED is true.
// Nothing is fetched here. Throws when none is configured.
[[nodiscard]] inline CredentialSource default_credential_source(std::string_view region) {
    if (!detail::env_or_empty("AWS_ACCESS_KEY_ID").empty() || !detail::env_or_empty("AWS_SECRET_ACCESS_KEY").empty())
        return {"the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)", [] { return Credentials::from_env(); }};
    if (auto identity = web_identity_from_env(region)) {
        auto name = "web identity (STS AssumeRoleWithWebIdentity at " + identity->sts_endpoint + " for " +
                    identity->role_arn + ")";
        return {std::move(name), web_identity_credentials(std::move(*identity))};
    }
    if (auto profile = shared_profile_from_env()) {
        auto name = "profile '" + profile->name + "' (" + profile->credentials_file + ", " + profile->config_file + ")";
        return {std::move(name), shared_profile_credentials(std::move(*profile))};
    }
    if (auto container = container_endpoint_from_env()) {
        auto name = "ECS container credentials (" + container->url + ")";
        return {std::move(name), container_credentials(std::move(*container))};
    }
    if (auto endpoint = instance_metadata_endpoint_from_env()) {
        auto name = "EC2 instance metadata (" + *endpoint + ")";
        return {std::move(name), instance_metadata_credentials(std::move(*endpoint))};
    }
    throw detail::configuration_error(
        "no S3 credentials: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), no web identity "
        "(AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN), no default profile in the shared files, no container "
        "credentials (AWS_CONTAINER_CREDENTIALS_*), and EC2 instance metadata is disabled; or set "
        "ClientOptions::credentials or credentials_provider");
}

}  // namespace redsink::s3
