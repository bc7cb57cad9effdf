#pragma once

#include <redsink/pq/config.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace redsink_test {

// An environment variable that scripts/with-postgres exports; its absence fails the test.
inline std::string server_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        FAIL(name << " is not set: run the integration tests through scripts/with-postgres (scripts/test does)");
    return value;
}

inline redsink::ConnectionConfig test_config() {
    return redsink::ConnectionConfig::parse(server_env("REDSINK_TEST_CONNINFO"));
}

// Runs pg_ctl against the test server: "restart -m fast", "stop -m fast", "start".
inline void pg_ctl(const std::string& args) {
    const auto command = server_env("REDSINK_TEST_PGCTL") + " " + args + " >/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace redsink_test
