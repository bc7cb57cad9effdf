#pragma once

// Opening a session: libpq's parameters with redsink's defaults, and the Error of a connect that
// failed.
#include <redsink/pq/config.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/server_error.hpp>

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::pq::detail {

using ConnectionHandle = std::unique_ptr<PGconn, decltype(&PQfinish)>;

// Connects with `config`; throws the Error naming the host (scrubbed by `scrub`) when it fails.
template <class Scrub>
[[nodiscard]] ConnectionHandle connect(const ConnectionConfig& config, const Scrub& scrub) {
    auto keywords = config.keywords();
    const auto set_default = [&](const char* key, const char* value) {
        for (const auto& option : keywords)
            if (option.first == key) return;
        keywords.emplace_back(key, value);
    };
    set_default("client_encoding", "UTF8");
    // Nothing waits without limit by default: a connect to a host that does not answer, or a
    // peer gone silent (the kernel's own keepalive starts after 2 hours).
    set_default("connect_timeout", "30");
    set_default("keepalives", "1");
    set_default("keepalives_idle", "60");
    set_default("keepalives_interval", "10");
    set_default("keepalives_count", "6");
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [key, value] : keywords) {
        keys.push_back(key.c_str());
        values.push_back(value.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    ConnectionHandle conn(PQconnectdbParams(keys.data(), values.data(), 0), &PQfinish);
    if (!conn) throw Error(ErrorKind::connection_lost, {}, "out of memory", {}, "could not connect");
    if (PQstatus(conn.get()) == CONNECTION_OK) return conn;
    std::string message = one_line(scrub(PQerrorMessage(conn.get())));
    const auto text = [](const char* value) { return std::string(value != nullptr ? value : ""); };
    const std::string where = "could not connect to host=" + text(PQhost(conn.get())) +
                              " port=" + text(PQport(conn.get())) + " dbname=" + text(PQdb(conn.get())) +
                              " user=" + text(PQuser(conn.get()));
    // Refused credentials, a missing database or a certificate that does not verify will not
    // heal by retrying.
    bool refused = false;
    for (const std::string_view permanent :
         {"authentication failed", "does not exist", "no password supplied", "no pg_hba.conf entry", "certificate",
          "SSL error", "does not support SSL"})
        refused = refused || message.find(permanent) != std::string::npos;
    conn.reset();
    throw Error(refused ? ErrorKind::other : ErrorKind::connection_lost, {}, std::move(message), {}, scrub(where));
}

}  // namespace redsink::pq::detail
