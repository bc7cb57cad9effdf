#include <redsink/pq/config.hpp>
#include <redsink/pq/secrets.hpp>
#include <redsink/sink_options.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using redsink::ConnectionConfig;

namespace {

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
public:
    ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
        for (const auto& [name, value] : values) {
            const char* old = std::getenv(name);
            saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
            if (value != nullptr)
                ::setenv(name, value, 1);
            else
                ::unsetenv(name);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        for (const auto& [name, value] : saved_) {
            if (value)
                ::setenv(name.c_str(), value->c_str(), 1);
            else
                ::unsetenv(name.c_str());
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

const std::initializer_list<std::pair<const char*, const char*>> no_pg_env = {
    {"REDSINK_CONNINFO", nullptr}, {"PGHOST", nullptr},           {"PGPORT", nullptr},    {"PGUSER", nullptr},
    {"PGPASSWORD", nullptr},       {"PGDATABASE", nullptr},       {"PGSSLMODE", nullptr}, {"PGAPPNAME", nullptr},
    {"PGHOSTADDR", nullptr},       {"PGCONNECT_TIMEOUT", nullptr}};

}  // namespace

TEST_CASE("a conninfo string fills every field", "[unit][config]") {
    const auto config = ConnectionConfig::parse(
        "host=example.redshift.amazonaws.com port=5439 user=Loader password='s3cr et' dbname=dev sslmode=require "
        "connect_timeout=7 application_name=ingest keepalives=1");
    CHECK(config.host == "example.redshift.amazonaws.com");
    CHECK(config.port == "5439");
    CHECK(config.user == "Loader");
    CHECK(config.password == "s3cr et");
    CHECK(config.database == "dev");
    CHECK(config.sslmode == "require");
    CHECK(config.connect_timeout == 7);
    CHECK(config.application_name == "ingest");
    REQUIRE(config.options.size() == 1);
    CHECK(config.options[0] == std::pair<std::string, std::string>("keepalives", "1"));
}

TEST_CASE("a postgresql:// URI fills every field, percent-decoded", "[unit][config]") {
    const auto config = ConnectionConfig::parse(
        "postgresql://loader:p%40ss%2Fword@db.internal:5439/analytics?sslmode=verify-full&connect_timeout=3");
    CHECK(config.host == "db.internal");
    CHECK(config.port == "5439");
    CHECK(config.user == "loader");
    CHECK(config.password == "p@ss/word");
    CHECK(config.database == "analytics");
    CHECK(config.sslmode == "verify-full");
    CHECK(config.connect_timeout == 3);
    CHECK(config.application_name == "redsink");
}

TEST_CASE("the redacted form never holds the password", "[unit][config]") {
    const auto config =
        ConnectionConfig::parse("host=h port=5439 user=u password=hunter2-secret dbname=d sslpassword=keypass-secret");
    const auto text = config.redacted();
    CHECK(text.find("hunter2") == std::string::npos);
    CHECK(text.find("keypass") == std::string::npos);
    CHECK(text.find("host=h") != std::string::npos);
    CHECK(text.find("port=5439") != std::string::npos);
    CHECK(text.find("dbname=d") != std::string::npos);
    CHECK(text.find("user=u") != std::string::npos);
    CHECK(text.find("password=<redacted>") != std::string::npos);
}

TEST_CASE("values with spaces and quotes are quoted in the redacted form", "[unit][config]") {
    ConnectionConfig config;
    config.host = "my host";
    config.database = "it's";
    CHECK(config.redacted() == "host='my host' dbname='it\\'s' application_name=redsink");
}

TEST_CASE("a malformed conninfo is refused without echoing its secrets", "[unit][config]") {
    try {
        (void)ConnectionConfig::parse("host=h password=topsecret-value extra");
        FAIL("parse accepted a malformed string");
    } catch (const redsink::Error& error) {
        const std::string text = error.what();
        CHECK(text.find("invalid connection string") != std::string::npos);
        CHECK(text.find("topsecret") == std::string::npos);
        CHECK(text.find("extra") == std::string::npos);
    }
    // An unknown "option" may be the part of a password after a space: never shown.
    for (const auto* conninfo :
         {"host=h password=my secret=1", "host=h nosuchkeyword=1", "host=h password=my secret"}) {
        try {
            (void)ConnectionConfig::parse(conninfo);
            FAIL("parse accepted " << conninfo);
        } catch (const redsink::Error& error) {
            const std::string text = error.what();
            CHECK_THAT(text, Catch::Contains("invalid connection string") && Catch::Contains("password='...'"));
            CHECK(text.find("secret") == std::string::npos);
            CHECK(text.find("nosuchkeyword") == std::string::npos);
        }
    }
    CHECK_THROWS_WITH(ConnectionConfig::parse("host=h connect_timeout=soon"), Catch::Contains("connect_timeout"));
}

TEST_CASE("a URI whose password holds '@' is refused, and shows neither part", "[unit][config]") {
    for (const auto* uri : {"postgresql://u:Secr3t@Leak@host/db", "postgres://u:Secr3t@Leak@host:5439"}) {
        try {
            (void)ConnectionConfig::parse(uri);
            FAIL("parse accepted " << uri);
        } catch (const redsink::Error& error) {
            const std::string text = error.what();
            CHECK_THAT(text, Catch::Contains("more than one '@'") && Catch::Contains("%40"));
            CHECK(text.find("Leak") == std::string::npos);
            CHECK(text.find("Secr3t") == std::string::npos);
        }
    }
    const auto encoded = ConnectionConfig::parse("postgresql://u:Secr3t%40Leak@host/db");
    CHECK(encoded.password == "Secr3t@Leak");
    CHECK(encoded.host == "host");
    CHECK(encoded.redacted().find("Leak") == std::string::npos);
}

TEST_CASE("a secret that is part of \"<redacted>\" is taken out once, and the scrub ends", "[unit][config]") {
    redsink::pq::detail::Secrets secrets;
    secrets.add("act");
    secrets.add("red");
    const auto text = secrets.scrub("password red, key act: redacted", "red");
    CHECK(text.find(" red,") == std::string::npos);
    CHECK(text.find(" act:") == std::string::npos);
    CHECK_THAT(text, Catch::StartsWith("password <"));
}

TEST_CASE("source_name must be valid UTF-8", "[unit][config]") {
    redsink::SinkOptions options;
    options.table = "t";
    options.source_name = "orders\xFF";
    CHECK_THROWS_WITH(redsink::check_options(options, {}), Catch::Contains("source_name is not valid UTF-8"));
    options.source_name = std::string("a\0b", 3);
    CHECK_THROWS_WITH(redsink::check_options(options, {}), Catch::Contains("NUL"));
    options.source_name = "commandes-\xC3\xA9t\xC3\xA9";
    CHECK_NOTHROW(redsink::check_options(options, {}));
}

TEST_CASE("upsert_statement merge is for the upsert insert mode", "[unit][config]") {
    redsink::SinkOptions options{.table = "t", .upsert_statement = redsink::UpsertStatement::merge};
    CHECK_THROWS_WITH(redsink::check_options(options, {}), Catch::Contains("is for the upsert insert mode"));
    CHECK_NOTHROW(redsink::check_options(options, {.upserts = true}));
}

TEST_CASE("dead_letter_table is for the dead_letter policy, and is not the target", "[unit][config]") {
    redsink::SinkOptions options{.table = "orders"};
    options.dead_letter_table = "letters";
    CHECK_THROWS_WITH(redsink::check_options(options, {}),
                      Catch::Contains("SinkOptions::dead_letter_table is for the dead_letter error policy"));
    CHECK_NOTHROW(redsink::check_options(options, {.dead_letter_table = "redsink_dead_letters"}));
    options.dead_letter_table = "orders";
    CHECK_THROWS_WITH(redsink::check_options(options, {.dead_letter_table = "redsink_dead_letters"}),
                      Catch::Contains("table orders is the dead_letter policy's table"));
    // The option over the policy's name: the policy's own name is then free.
    options = {.table = "redsink_dead_letters"};
    options.dead_letter_table = "letters";
    CHECK_NOTHROW(redsink::check_options(options, {.dead_letter_table = "redsink_dead_letters"}));
}

TEST_CASE("from_env prefers REDSINK_CONNINFO", "[unit][config]") {
    ScopedEnv clean(no_pg_env);
    ScopedEnv env({{"REDSINK_CONNINFO", "postgresql://a@b:1/c"}, {"PGHOST", "ignored"}});
    const auto config = ConnectionConfig::from_env();
    CHECK(config.host == "b");
    CHECK(config.user == "a");
    CHECK(config.database == "c");
}

TEST_CASE("from_env falls back to the standard PG variables", "[unit][config]") {
    ScopedEnv clean(no_pg_env);
    ScopedEnv env({{"PGHOST", "pg.example"},
                   {"PGPORT", "6543"},
                   {"PGUSER", "writer"},
                   {"PGPASSWORD", "from-env-secret"},
                   {"PGDATABASE", "warehouse"},
                   {"PGSSLMODE", "require"},
                   {"PGCONNECT_TIMEOUT", "9"},
                   {"PGAPPNAME", "loader"}});
    const auto config = ConnectionConfig::from_env();
    CHECK(config.host == "pg.example");
    CHECK(config.port == "6543");
    CHECK(config.user == "writer");
    CHECK(config.password == "from-env-secret");
    CHECK(config.database == "warehouse");
    CHECK(config.sslmode == "require");
    CHECK(config.connect_timeout == 9);
    CHECK(config.application_name == "loader");
    CHECK(config.redacted().find("from-env-secret") == std::string::npos);
}
