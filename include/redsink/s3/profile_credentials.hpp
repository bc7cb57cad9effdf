#pragma once

// The shared files source of the default chain (credential_chain.hpp): a profile's static keys
// (and session token) from ~/.aws/credentials and ~/.aws/config, as the AWS CLI and SDKs write
// them. Profiles that assume a role, use SSO or run a credential_process are refused by name.
#include <redsink/s3/credentials.hpp>

#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::s3 {

struct SharedProfile {
    std::string name{};              // the profile
    std::string credentials_file{};  // [name] sections
    std::string config_file{};       // [profile name] sections ([default] for the default)
};

namespace detail {

using ProfileSettings = std::map<std::string, std::string>;

[[nodiscard]] inline std::string_view trim_blank(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

// The settings of every section of an INI file, by section name: "# " and "; " start comments
// (a whole line, or after a blank within a value); an indented line after a setting continues it
// (a nested block such as s3 =), and is skipped. A file that cannot be opened has no sections.
[[nodiscard]] inline std::map<std::string, ProfileSettings> read_ini(const std::string& path) {
    std::map<std::string, ProfileSettings> sections;
    std::ifstream in(path);
    ProfileSettings* section = nullptr;
    for (std::string raw; std::getline(in, raw);) {
        const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
        const auto line = trim_blank(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        if (line.front() == '[') {
            const auto close = line.find(']');
            section = close == std::string_view::npos ? nullptr
                                                      : &sections[std::string(trim_blank(line.substr(1, close - 1)))];
            continue;
        }
        const auto equals = line.find('=');
        if (section == nullptr || indented || equals == std::string_view::npos) continue;
        std::string name(trim_blank(line.substr(0, equals)));
        for (auto& c : name) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        auto value = trim_blank(line.substr(equals + 1));
        for (std::size_t i = 1; i < value.size(); ++i)
            if ((value[i] == '#' || value[i] == ';') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
                value = trim_blank(value.substr(0, i));
                break;
            }
        (*section)[std::move(name)] = std::string(value);
    }
    return sections;
}

// The profile's settings from both files (the credentials file's win); none when neither has it.
[[nodiscard]] inline std::optional<ProfileSettings> profile_settings(const SharedProfile& profile) {
    std::optional<ProfileSettings> settings;
    auto config = read_ini(profile.config_file);
    const auto config_section = config.find(
        profile.name == "default" && config.contains("default") ? std::string("default") : "profile " + profile.name);
    if (config_section != config.end()) settings = std::move(config_section->second);
    auto credentials = read_ini(profile.credentials_file);
    if (const auto found = credentials.find(profile.name); found != credentials.end()) {
        if (!settings) settings.emplace();
        for (auto& [name, value] : found->second) (*settings)[name] = std::move(value);
    }
    return settings;
}

[[nodiscard]] inline std::string home_file(const char* variable, const char* under_home) {
    if (auto path = env_or_empty(variable); !path.empty()) {
        if (path.starts_with("~/")) path = env_or_empty("HOME") + path.substr(1);
        return path;
    }
    const auto home = env_or_empty("HOME");
    return home.empty() ? std::string() : home + under_home;
}

}  // namespace detail

// The profile of AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE (else
// ~/.aws/credentials) and AWS_CONFIG_FILE (else ~/.aws/config). None when neither file has the
// default profile; throws when AWS_PROFILE names one that neither has.
[[nodiscard]] inline std::optional<SharedProfile> shared_profile_from_env() {
    const auto named = detail::env_or_empty("AWS_PROFILE");
    SharedProfile profile{.name = named.empty() ? std::string("default") : named,
                          .credentials_file = detail::home_file("AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials"),
                          .config_file = detail::home_file("AWS_CONFIG_FILE", "/.aws/config")};
    if (detail::profile_settings(profile)) return profile;
    if (named.empty()) return std::nullopt;
    throw detail::configuration_error("AWS_PROFILE is '" + named + "', a profile that neither " +
                                      profile.credentials_file + " nor " + profile.config_file + " has");
}

// Reads the profile's aws_access_key_id, aws_secret_access_key and aws_session_token, the files
// read again at each fetch (after S3 said the token expired, a tool may have written new keys).
[[nodiscard]] inline CredentialsProvider shared_profile_credentials(SharedProfile profile) {
    return [profile = std::move(profile)] {
        const std::string source =
            "profile '" + profile.name + "' (" + profile.credentials_file + ", " + profile.config_file + ")";
        const auto settings = detail::profile_settings(profile);
        if (!settings) throw detail::credentials_error(source, "the profile is gone from both files");
        const auto setting = [&](const char* name) {
            const auto found = settings->find(name);
            return found != settings->end() ? found->second : std::string();
        };
        Credentials credentials{.access_key_id = setting("aws_access_key_id"),
                                .secret_access_key = setting("aws_secret_access_key"),
                                .session_token = setting("aws_session_token")};
        if (!credentials.access_key_id.empty() && !credentials.secret_access_key.empty()) return credentials;
        for (const char* unsupported : {"role_arn", "credential_process", "sso_session", "sso_start_url",
                                        "web_identity_token_file", "credential_source"})
            if (!setting(unsupported).empty())
                throw detail::credentials_error(
                    source, "the profile uses " + std::string(unsupported) +
                                ", which redsink does not support: give it aws_access_key_id and "
                                "aws_secret_access_key, or use ClientOptions::credentials_provider");
        throw detail::credentials_error(source, "the profile has no aws_access_key_id and aws_secret_access_key");
    };
}

}  // namespace redsink::s3
