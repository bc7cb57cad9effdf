#pragma once

#include <redsink/pq/error.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::pq {

// Where and how to connect. Built from a conninfo string ("host=... dbname=..."), a
// postgresql:// URI, or the environment. The password is used to connect and nowhere else:
// redacted() is the only form that messages and logs may show.
struct ConnectionConfig {
    std::string host;
    std::string port;
    std::string user;
    std::string password;
    std::string database;
    std::string sslmode;
    std::optional<int> connect_timeout;  // seconds
    std::string application_name = "redsink";
    // Any other libpq keyword (sslrootcert, keepalives, target_session_attrs, ...), passed through.
    std::vector<std::pair<std::string, std::string>> options;

    [[nodiscard]] static ConnectionConfig parse(std::string_view conninfo);
    // REDSINK_CONNINFO when set, else the standard PG* variables.
    [[nodiscard]] static ConnectionConfig from_env();

    [[nodiscard]] std::string redacted() const;
    // Keyword/value pairs for PQconnectdbParams, password included: never print these.
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> keywords() const;
};

namespace detail {

[[nodiscard]] inline bool is_secret_keyword(std::string_view key) noexcept {
    return key == "password" || key == "sslpassword";
}

[[nodiscard]] inline int parse_timeout(std::string_view text, std::string_view origin) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
        throw Error(ErrorKind::other, {},
                    "connect_timeout must be a whole number of seconds, got '" + std::string(text) + "' in " +
                        std::string(origin));
    return value;
}

// libpq's parse errors quote fragments of the input, which may hold a password (the unknown
// "option" of 'password=my secret=1' is "secret"): keep only libpq keywords and punctuation.
[[nodiscard]] inline std::string scrub_parse_error(std::string_view message) {
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> defaults{PQconndefaults(), &PQconninfoFree};
    const auto is_keyword = [&](std::string_view fragment) {
        for (auto* option = defaults.get(); option != nullptr && option->keyword != nullptr; ++option)
            if (fragment == option->keyword) return true;
        return false;
    };
    std::string out;
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto open = message.find('"', pos);
        const auto close = open == message.npos ? message.npos : message.find('"', open + 1);
        if (close == message.npos) {
            out.append(message.substr(pos));
            break;
        }
        const auto fragment = message.substr(open + 1, close - open - 1);
        const bool keep = fragment.size() <= 1 || is_keyword(fragment);
        out.append(message.substr(pos, open - pos)).append("\"");
        out.append(keep ? fragment : std::string_view{"<redacted>"}).append("\"");
        pos = close + 1;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

[[nodiscard]] inline std::string quote_conninfo_value(std::string_view value) {
    const bool plain = !value.empty() && value.find_first_of(" \t\n'\\") == value.npos;
    if (plain) return std::string(value);
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out + "'";
}

}  // namespace detail

inline ConnectionConfig ConnectionConfig::parse(std::string_view conninfo) {
    // libpq ends a URI's user and password at the first '@': the rest of a password holding one
    // would become the host, shown in redacted() and in connection errors.
    for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
        if (!conninfo.starts_with(scheme)) continue;
        const auto rest = conninfo.substr(scheme.size());
        const auto authority = rest.substr(0, rest.find_first_of("/?"));
        if (std::count(authority.begin(), authority.end(), '@') > 1)
            throw Error(ErrorKind::other, {},
                        "invalid connection URI: more than one '@' before the host (the URI is not shown); write a "
                        "'@' in the user name or password as %40");
    }
    char* raw_error = nullptr;
    const std::string text(conninfo);
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed{PQconninfoParse(text.c_str(), &raw_error),
                                                                        &PQconninfoFree};
    if (!parsed) {
        std::string message = raw_error != nullptr ? detail::scrub_parse_error(raw_error) : "out of memory";
        PQfreemem(raw_error);
        throw Error(ErrorKind::other, {},
                    "invalid connection string: " + message +
                        " (parts of the string are not shown: a value with spaces, such as a password, must be "
                        "quoted, password='...')");
    }
    ConnectionConfig config;
    config.application_name.clear();
    for (auto* option = parsed.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr) continue;
        const std::string_view key = option->keyword;
        std::string value = option->val;
        if (key == "host")
            config.host = std::move(value);
        else if (key == "port")
            config.port = std::move(value);
        else if (key == "user")
            config.user = std::move(value);
        else if (key == "password")
            config.password = std::move(value);
        else if (key == "dbname")
            config.database = std::move(value);
        else if (key == "sslmode")
            config.sslmode = std::move(value);
        else if (key == "application_name")
            config.application_name = std::move(value);
        else if (key == "connect_timeout")
            config.connect_timeout = detail::parse_timeout(value, "the connection string");
        else
            config.options.emplace_back(std::string(key), std::move(value));
    }
    if (config.application_name.empty()) config.application_name = "redsink";
    return config;
}

inline ConnectionConfig ConnectionConfig::from_env() {
    const auto env = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value != nullptr ? std::string(value) : std::string();
    };
    if (const auto conninfo = env("REDSINK_CONNINFO"); !conninfo.empty()) return parse(conninfo);
    ConnectionConfig config;
    config.host = env("PGHOST");
    config.port = env("PGPORT");
    config.user = env("PGUSER");
    config.password = env("PGPASSWORD");
    config.database = env("PGDATABASE");
    config.sslmode = env("PGSSLMODE");
    if (const auto timeout = env("PGCONNECT_TIMEOUT"); !timeout.empty())
        config.connect_timeout = detail::parse_timeout(timeout, "PGCONNECT_TIMEOUT");
    if (const auto name = env("PGAPPNAME"); !name.empty()) config.application_name = name;
    if (const auto hostaddr = env("PGHOSTADDR"); !hostaddr.empty()) config.options.emplace_back("hostaddr", hostaddr);
    return config;
}

inline std::vector<std::pair<std::string, std::string>> ConnectionConfig::keywords() const {
    std::vector<std::pair<std::string, std::string>> out;
    const auto add = [&](const char* key, const std::string& value) {
        if (!value.empty()) out.emplace_back(key, value);
    };
    add("host", host);
    add("port", port);
    add("user", user);
    add("password", password);
    add("dbname", database);
    add("sslmode", sslmode);
    if (connect_timeout) out.emplace_back("connect_timeout", std::to_string(*connect_timeout));
    add("application_name", application_name);
    for (const auto& option : options) out.push_back(option);
    return out;
}

inline std::string ConnectionConfig::redacted() const {
    std::string out;
    for (const auto& [key, value] : keywords()) {
        if (!out.empty()) out.push_back(' ');
        out.append(key).push_back('=');
        out.append(detail::is_secret_keyword(key) ? std::string("<redacted>") : detail::quote_conninfo_value(value));
    }
    return out;
}

}  // namespace redsink::pq

namespace redsink {
using pq::ConnectionConfig;
}  // namespace redsink
