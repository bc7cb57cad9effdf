// docs/redshift-grants.sql, run as written (but for the database name and password) on
// PostgreSQL, gives a user everything a sink needs and nothing more.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace redsink_test;

namespace {

std::vector<std::string> statements_of(const std::string& script) {
    std::vector<std::string> statements;
    std::string current;
    std::istringstream lines(script);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("--") || line.empty()) continue;
        current += (current.empty() ? "" : " ") + line;
        if (current.ends_with(";")) {
            current.pop_back();
            statements.push_back(current);
            current.clear();
        }
    }
    return statements;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

struct Customer {
    BOOST_HANA_DEFINE_STRUCT(Customer, (std::int64_t, id), (std::string, name));
};
struct Versioned {
    BOOST_HANA_DEFINE_STRUCT(Versioned, (std::int64_t, id), (std::int64_t, version), (std::string, name));
};
struct CustomerV2 {
    BOOST_HANA_DEFINE_STRUCT(CustomerV2, (std::int64_t, id), (std::string, name), (std::optional<std::int32_t>, tier));
};

}  // namespace

TEST_CASE("the documented GRANT script gives the sink's user what it needs, and no more", "[pg][sink][grants]") {
    const std::string password = "Grants-Test-7c1e-Pw";
    auto admin = reader();
    admin.exec("DROP SCHEMA IF EXISTS streamkap CASCADE");
    admin.exec(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redsink_loader') THEN "
        "DROP OWNED BY redsink_loader; DROP ROLE redsink_loader; END IF; END $$");
    admin.exec("DROP ROLE IF EXISTS redsink_writers");

    auto script = read_file(std::string(REDSINK_SOURCE_DIR) + "/docs/redshift-grants.sql");
    replace_all(script, "DATABASE dev", "DATABASE redsink");
    replace_all(script, "'Change-me-2026'", "'" + password + "'");
    const auto statements = statements_of(script);
    REQUIRE(statements.size() == 8);
    for (const auto& statement : statements) {
        // Written for Redshift: the script goes through the grammar check too, as documented.
        auto documented = statement;
        replace_all(documented, password, "Change-me-2026");
        replace_all(documented, "DATABASE redsink", "DATABASE dev");
        log_redshift_statement(documented);
        admin.exec(statement);
    }
    // A table an admin created, for a fixed_schema sink.
    admin.exec("CREATE TABLE streamkap.admin_owned (id bigint PRIMARY KEY, name varchar(65535) NOT NULL)");

    auto loader = test_config();
    loader.host = "127.0.0.1";
    loader.user = "redsink_loader";
    loader.password = password;
    const auto trace = [](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::sending) log_redshift_statement(sql);
    };
    {
        redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                      redsink::evolve_schema, redsink::redshift>
            sink(loader, {.schema = "streamkap", .table = "customers", .trace = trace});
        CHECK(sink.setup().created);
        sink.write(redsink::upserted(Customer{1, "Ada"}, {0, 1}));
        sink.write(redsink::upserted(Customer{2, "Grace"}, {0, 2}));
        sink.write(redsink::deleted(Customer{1, {}}, {0, 3}));
        sink.flush();
    }
    {
        redsink::Sink<CustomerV2, redsink::primary_key<"id">, redsink::upsert, redsink::evolve_schema,
                      redsink::redshift>
            sink(loader, {.schema = "streamkap", .table = "customers", .trace = trace});
        CHECK(sink.setup().added_columns == std::vector<std::string>{"tier"});
        sink.write(redsink::upserted(CustomerV2{3, "Edsger", 2}, {0, 4}));
        sink.flush();
    }
    {
        redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                      redsink::fixed_schema, redsink::redshift>
            sink(loader, {.schema = "streamkap", .table = "admin_owned", .trace = trace});
        sink.write(redsink::upserted(Customer{7, "Barbara"}, {0, 1}));
        sink.write(redsink::upserted(Customer{8, "Frances"}, {0, 2}));
        sink.flush();
        sink.write(redsink::deleted(Customer{7, {}}, {0, 3}));
        sink.flush();
    }
    {
        // exactly_once: the positions table is created and written under the same grants.
        redsink::Sink<Customer, redsink::exactly_once, redsink::create_table, redsink::redshift> sink(
            loader, {.schema = "streamkap", .table = "visits", .trace = trace});
        sink.write(redsink::created(Customer{1, "Ada"}, {0, 1}));
        sink.flush();
        CHECK(sink.resume_positions() == redsink::Positions{{0, 1}});
    }
    CHECK(admin.exec("SELECT committed_offset FROM streamkap.redsink_positions_visits WHERE source_partition = 0")
              .get(0, 0) == "1");
    CHECK(admin
              .exec("SELECT string_agg(id || ':' || name || ':' || coalesce(tier::text, '-'), ',' ORDER BY id) "
                    "FROM streamkap.customers")
              .get(0, 0) == "2:Grace:-,3:Edsger:2");
    CHECK(admin.exec("SELECT string_agg(id || ':' || name, ',') FROM streamkap.admin_owned").get(0, 0) == "8:Frances");

    // ...and no more: nothing outside its schema, no dropping what it does not own.
    redsink::pq::Connection as_loader(loader);
    std::vector<std::string> messages;
    for (const std::string sql : {"CREATE TABLE public.not_allowed (id int)", "DROP TABLE streamkap.admin_owned",
                                  "CREATE SCHEMA not_allowed"}) {
        try {
            as_loader.exec(sql);
            FAIL("the loader could run: " << sql);
        } catch (const redsink::Error& error) {
            CHECK(error.sqlstate() == "42501");
            messages.push_back(error.what());
        }
    }
    for (const auto& message : messages) CHECK(message.find(password) == std::string::npos);

    admin.exec("DROP SCHEMA streamkap CASCADE");
    admin.exec("DROP OWNED BY redsink_loader");
    admin.exec("DROP ROLE redsink_loader");
    admin.exec("DROP OWNED BY redsink_writers");
    admin.exec("DROP ROLE redsink_writers");
}

TEST_CASE("missing privileges: one error at construction lists everything the sink lacks", "[pg][sink][grants]") {
    const std::string password = "Privileges-Test-41d9-Pw";
    auto admin = reader();
    admin.exec("DROP SCHEMA IF EXISTS priv_test CASCADE");
    admin.exec(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redsink_limited') THEN "
        "DROP OWNED BY redsink_limited; DROP ROLE redsink_limited; END IF; END $$");
    admin.exec("CREATE SCHEMA priv_test");
    admin.exec("CREATE TABLE priv_test.items (id bigint PRIMARY KEY, name text NOT NULL)");
    admin.exec("CREATE ROLE redsink_limited LOGIN PASSWORD '" + password + "'");
    admin.exec("GRANT USAGE ON SCHEMA priv_test TO redsink_limited");
    admin.exec("GRANT INSERT ON priv_test.items TO redsink_limited");
    admin.exec("CREATE TABLE priv_test.versions (id bigint PRIMARY KEY, version bigint NOT NULL, name text NOT NULL)");
    admin.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON priv_test.versions TO redsink_limited");
    // Every role may create TEMP tables through PUBLIC unless that is revoked; put it back after.
    admin.exec("REVOKE TEMP ON DATABASE redsink FROM PUBLIC");
    struct Restore {
        redsink::pq::Connection& admin;
        ~Restore() {
            admin.exec("GRANT TEMP ON DATABASE redsink TO PUBLIC");
            admin.exec("DROP SCHEMA priv_test CASCADE");
            admin.exec("DROP OWNED BY redsink_limited");
            admin.exec("DROP ROLE redsink_limited");
        }
    } restore{admin};

    auto limited = test_config();
    limited.host = "127.0.0.1";
    limited.user = "redsink_limited";
    limited.password = password;
    const auto construction_error = [](const std::function<void()>& make) {
        try {
            make();
        } catch (const redsink::Error& error) {
            return std::string(error.what());
        }
        FAIL("the sink started");
        return std::string();
    };
    const auto trace = [](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::sending) log_redshift_statement(sql);
    };
    using RedshiftSink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                       redsink::fixed_schema, redsink::redshift>;
    using PostgresSink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                       redsink::fixed_schema, redsink::postgres>;
    const auto redshift = construction_error(
        [&] { RedshiftSink sink(limited, {.schema = "priv_test", .table = "items", .trace = trace}); });
    CHECK_THAT(redshift, Catch::Contains("user redsink_limited lacks what the sink for priv_test.items needs: ") &&
                             Catch::Contains("CREATE on schema priv_test (to create priv_test.redsink_lock_items)") &&
                             Catch::Contains("TEMP on database redsink") &&
                             Catch::Contains("SELECT, DELETE on table priv_test.items") && Catch::Contains("42501"));
    CHECK(redshift.find(password) == std::string::npos);
    // ON CONFLICT (the key is enforced) updates instead of deleting the rows it replaces.
    const auto postgres =
        construction_error([&] { PostgresSink sink(limited, {.schema = "priv_test", .table = "items"}); });
    CHECK_THAT(postgres, Catch::Contains("SELECT, UPDATE, DELETE on table priv_test.items") &&
                             Catch::Contains("TEMP on database redsink") && !Catch::Contains("CREATE on schema"));
    // The dead_letter policy's table: created when missing (CREATE on the schema).
    using PostgresLetters = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                          redsink::fixed_schema, redsink::postgres, redsink::dead_letter<>>;
    const auto letters =
        construction_error([&] { PostgresLetters sink(limited, {.schema = "priv_test", .table = "items"}); });
    CHECK_THAT(letters, Catch::Contains("CREATE on schema priv_test (to create priv_test.redsink_dead_letters)"));
    // newest_wins's tombstones table, the same.
    using GuardSink = redsink::Sink<Versioned, redsink::primary_key<"id">, redsink::newest_wins<"version">,
                                    redsink::hard_delete, redsink::fixed_schema, redsink::postgres>;
    const auto tombstones =
        construction_error([&] { GuardSink sink(limited, {.schema = "priv_test", .table = "versions"}); });
    CHECK_THAT(tombstones,
               Catch::Contains("CREATE on schema priv_test (to create priv_test.redsink_tombstones_versions)"));
    CHECK(admin.exec("SELECT count(*) FROM pg_tables WHERE schemaname = 'priv_test'").as<int>(0, 0) == 2);

    // Granted what the errors listed, both start and write.
    admin.exec("GRANT CREATE ON SCHEMA priv_test TO redsink_limited");
    admin.exec("GRANT TEMP ON DATABASE redsink TO redsink_limited");
    admin.exec("GRANT SELECT, UPDATE, DELETE ON priv_test.items TO redsink_limited");
    {
        RedshiftSink sink(limited, {.schema = "priv_test", .table = "items", .trace = trace});
        sink.write(redsink::upserted(Customer{1, "Ada"}, {0, 1}));
        sink.flush();
    }
    {
        PostgresSink sink(limited, {.schema = "priv_test", .table = "items"});
        sink.write(redsink::upserted(Customer{2, "Grace"}, {0, 1}));
        sink.flush();
    }
    CHECK(admin.exec("SELECT count(*) FROM priv_test.items").as<int>(0, 0) == 2);

    // A tombstones table someone else created: SELECT, INSERT and DELETE on it are needed.
    { GuardSink created_by_admin(test_config(), {.schema = "priv_test", .table = "versions"}); }
    const auto guard =
        construction_error([&] { GuardSink sink(limited, {.schema = "priv_test", .table = "versions"}); });
    CHECK_THAT(guard, Catch::Contains("SELECT, INSERT, DELETE on table priv_test.redsink_tombstones_versions") &&
                          !Catch::Contains("CREATE on"));
    admin.exec("GRANT SELECT, INSERT, DELETE ON priv_test.redsink_tombstones_versions TO redsink_limited");
    {
        GuardSink sink(limited, {.schema = "priv_test", .table = "versions"});
        sink.write(redsink::upserted(Versioned{1, 5, "Ada"}, {0, 1}));
        sink.write(redsink::deleted(Versioned{1, 6, {}}, {0, 2}));
        sink.write(redsink::upserted(Versioned{1, 4, "stale"}, {0, 3}));
        sink.flush();
    }
    CHECK(admin.exec("SELECT count(*) FROM priv_test.versions").as<int>(0, 0) == 0);
    CHECK(admin.exec("SELECT version FROM priv_test.redsink_tombstones_versions WHERE id = 1").get(0, 0) == "6");

    // A dead-letter table someone else created: INSERT on it is needed.
    using AdminLetters = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                       redsink::fixed_schema, redsink::postgres, redsink::dead_letter<"admin_letters">>;
    { AdminLetters created_by_admin(test_config(), {.schema = "priv_test", .table = "items"}); }
    const auto insert =
        construction_error([&] { AdminLetters sink(limited, {.schema = "priv_test", .table = "items"}); });
    CHECK_THAT(insert, Catch::Contains("INSERT on table priv_test.admin_letters") && !Catch::Contains("CREATE on"));
    admin.exec("GRANT INSERT ON priv_test.admin_letters TO redsink_limited");
    {
        AdminLetters sink(limited, {.schema = "priv_test", .table = "items"});
        sink.write(redsink::upserted(Customer{3, std::string("bad \xFF")}, {0, 2}));
        sink.flush();
        CHECK(sink.stats().dead_letters == 1);
    }
    CHECK(admin.exec("SELECT count(*) FROM priv_test.admin_letters WHERE column_name = 'name'").as<int>(0, 0) == 1);
}
