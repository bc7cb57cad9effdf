// Connects to the database that REDSINK_CONNINFO (or the PG* variables) names and tells what
// server it is: the first thing to run against a new Redshift cluster.
#include <redsink/pq.hpp>

#include <fmt/core.h>

#include <exception>

int main() {
    try {
        const auto config = redsink::ConnectionConfig::from_env();
        redsink::pq::Connection conn(config);
        fmt::print("connected to {}\n", config.redacted());
        fmt::print("server: {}\n", conn.version());
        fmt::print("redshift: {}\n", conn.is_redshift() ? "yes" : "no");
        return 0;
    } catch (const std::exception& error) {
        fmt::print(stderr, "server_info: {}\n", error.what());
        return 1;
    }
}
