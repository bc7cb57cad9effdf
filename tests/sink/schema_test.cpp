// Schema policies: creating, evolving, and refusing what the sink never changes.
#include <redsink/schema.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;
using redsink::ErrorKind;

namespace versions {

struct CustomerV1 {
    BOOST_HANA_DEFINE_STRUCT(CustomerV1, (std::int64_t, id), (std::string, name));
};
struct CustomerV2 {
    BOOST_HANA_DEFINE_STRUCT(CustomerV2, (std::int64_t, id), (std::string, name), (std::optional<std::string>, email),
                             (std::int32_t, score));
};
// name changed its type: refused.
struct CustomerRetyped {
    BOOST_HANA_DEFINE_STRUCT(CustomerRetyped, (std::int64_t, id), (std::int64_t, name));
};
struct CustomerRekeyed {
    BOOST_HANA_DEFINE_STRUCT(CustomerRekeyed, (std::int64_t, id), (std::string, name));
};

}  // namespace versions

namespace {

template <class Record, class... Policies>
using CustomerSink = redsink::Sink<Record, redsink::primary_key<"id">, redsink::upsert, redsink::postgres, Policies...>;

redsink::Error construction_error(const std::function<void()>& make) {
    try {
        make();
    } catch (const redsink::Error& error) {
        return error;
    }
    FAIL("the sink was created");
    throw;
}

std::string catalog_text(redsink::pq::Connection& conn, const std::string& table) {
    std::string out;
    for (const auto& column : redsink::read_table_columns(conn, redsink::sql::TableRef::make(sink_schema, table)))
        out += column.name + " " + column.type_text() + "; ";
    return out;
}

}  // namespace

TEST_CASE("evolve_schema creates the table, then adds the new members as nullable columns", "[pg][sink][schema]") {
    using namespace versions;
    drop_table("customers");
    auto conn = reader();
    {
        CustomerSink<CustomerV1, redsink::evolve_schema> v1(test_config(),
                                                            {.schema = sink_schema, .table = "customers"});
        CHECK(v1.setup().created);
        v1.write(redsink::upserted(CustomerV1{1, "Ada"}, {0, 1}));
        v1.write(redsink::upserted(CustomerV1{2, "Grace"}, {0, 2}));
        v1.flush();
    }
    {
        CustomerSink<CustomerV2, redsink::evolve_schema> v2(test_config(),
                                                            {.schema = sink_schema, .table = "customers"});
        CHECK_FALSE(v2.setup().created);
        CHECK(v2.setup().added_columns == std::vector<std::string>{"email", "score"});
        v2.write(redsink::upserted(CustomerV2{3, "Edsger", "e@example.com", 7}, {0, 3}));
        v2.write(redsink::upserted(CustomerV2{1, "Ada L.", std::nullopt, 9}, {0, 4}));
        v2.flush();
    }
    const auto rows = conn.exec(
        "SELECT id, name, coalesce(email, '<NULL>'), coalesce(score::text, '<NULL>') FROM sink_test.customers ORDER BY "
        "id");
    REQUIRE(rows.rows() == 3);
    CHECK(rows.get(0, 1) == "Ada L.");
    CHECK(rows.get(0, 3) == "9");
    CHECK(rows.get(1, 2) == "<NULL>");
    CHECK(rows.get(1, 3) == "<NULL>");
    CHECK(rows.get(2, 2) == "e@example.com");
    CHECK_THAT(catalog_text(conn, "customers"), Catch::Contains("email text;") && Catch::Contains("score integer;"));

    // Version 1 still writes into the evolved table: the new columns are nullable.
    CustomerSink<CustomerV1, redsink::fixed_schema> old(test_config(), {.schema = sink_schema, .table = "customers"});
    old.write(redsink::upserted(CustomerV1{4, "Barbara"}, {0, 5}));
    old.flush();
    CHECK(conn.exec("SELECT count(*) FROM sink_test.customers").as<int>(0, 0) == 4);
}

TEST_CASE("a changed member type is refused with both types, and the table is left as it was", "[pg][sink][schema]") {
    using namespace versions;
    drop_table("retyped");
    auto conn = reader();
    { CustomerSink<CustomerV1, redsink::create_table> v1(test_config(), {.schema = sink_schema, .table = "retyped"}); }
    const auto before = catalog_text(conn, "retyped");
    const auto error = construction_error([] {
        CustomerSink<CustomerRetyped, redsink::evolve_schema> sink(test_config(),
                                                                   {.schema = sink_schema, .table = "retyped"});
    });
    CHECK(error.kind() == ErrorKind::schema);
    CHECK_THAT(error.what(), Catch::Contains("table sink_test.retyped") && Catch::Contains("column \"name\"") &&
                                 Catch::Contains("the table has text NOT NULL, the record has BIGINT NOT NULL") &&
                                 Catch::Contains("never changes a column's type"));
    CHECK(catalog_text(conn, "retyped") == before);
}

TEST_CASE("fixed_schema needs the table; create_table does not add columns", "[pg][sink][schema]") {
    using namespace versions;
    drop_table("fixed_missing");
    const auto missing = construction_error([] {
        CustomerSink<CustomerV1, redsink::fixed_schema> sink(test_config(),
                                                             {.schema = sink_schema, .table = "fixed_missing"});
    });
    CHECK(missing.kind() == ErrorKind::schema);
    CHECK_THAT(missing.what(), Catch::Contains("table sink_test.fixed_missing: does not exist") &&
                                   Catch::Contains("use create_table or evolve_schema"));
    auto conn = reader();
    CHECK(conn.exec("SELECT to_regclass('sink_test.fixed_missing') IS NULL").as<bool>(0, 0));

    drop_table("no_evolve");
    {
        CustomerSink<CustomerV1, redsink::create_table> v1(test_config(),
                                                           {.schema = sink_schema, .table = "no_evolve"});
    }
    const auto lacking = construction_error([] {
        CustomerSink<CustomerV2, redsink::create_table> v2(test_config(),
                                                           {.schema = sink_schema, .table = "no_evolve"});
    });
    CHECK_THAT(lacking.what(), Catch::Contains("has no column \"email\"") && Catch::Contains("use evolve_schema"));
}

TEST_CASE("table columns the record lacks must be nullable or defaulted; the key never changes", "[pg][sink][schema]") {
    using namespace versions;
    auto conn = reader();
    drop_table("extra_column");
    conn.exec("CREATE TABLE sink_test.extra_column (id bigint PRIMARY KEY, name text NOT NULL, audit text NOT NULL)");
    const auto extra = construction_error([] {
        CustomerSink<CustomerV1, redsink::evolve_schema> sink(test_config(),
                                                              {.schema = sink_schema, .table = "extra_column"});
    });
    CHECK_THAT(extra.what(), Catch::Contains("column \"audit\" (text NOT NULL) is not in the record"));
    conn.exec("ALTER TABLE sink_test.extra_column ALTER COLUMN audit SET DEFAULT 'sink'");
    CustomerSink<CustomerV1, redsink::evolve_schema> ok(test_config(),
                                                        {.schema = sink_schema, .table = "extra_column"});
    ok.write(redsink::upserted(CustomerV1{1, "Ada"}, {0, 1}));
    ok.flush();
    CHECK(conn.exec("SELECT audit FROM sink_test.extra_column").get(0, 0) == "sink");

    drop_table("rekeyed");
    conn.exec("CREATE TABLE sink_test.rekeyed (id bigint NOT NULL, name text NOT NULL, PRIMARY KEY (name))");
    const auto rekeyed = construction_error([] {
        CustomerSink<CustomerRekeyed, redsink::evolve_schema> sink(test_config(),
                                                                   {.schema = sink_schema, .table = "rekeyed"});
    });
    CHECK_THAT(rekeyed.what(), Catch::Contains("primary key (name) differs from the record's key (id)") &&
                                   Catch::Contains("never changes a key"));
}

TEST_CASE("soft_delete adds its flag column to an existing table", "[pg][sink][schema]") {
    drop_table("soft_added");
    auto conn = reader();
    {
        redsink::Sink<Account, AccountKey, redsink::upsert, redsink::create_table, redsink::redshift> plain(
            test_config(), {.schema = sink_schema, .table = "soft_added"});
    }
    using Soft = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::soft_delete<"Deleted">,
                               redsink::evolve_schema, redsink::redshift>;
    Soft sink(test_config(), {.schema = sink_schema, .table = "soft_added", .trace = sink_trace<Soft>()});
    CHECK(sink.setup().added_columns == std::vector<std::string>{"deleted"});
    Account row{};
    row.id = 5;
    row.name = "kept";
    sink.write(redsink::upserted(row, {0, 1}));
    sink.write(redsink::deleted(Account{5, 0, {}, {}, {}, false}, {0, 2}));
    sink.flush();
    CHECK(conn.exec("SELECT name, deleted FROM sink_test.soft_added").get(0, 1) == "t");
    CHECK(conn.exec("SELECT name FROM sink_test.soft_added").get(0, 0) == "kept");
}

// Several sinks (two connector processes, a restart racing a straggler) may start at once on a
// schema and table that do not exist yet: CREATE ... IF NOT EXISTS can still collide on the
// catalog's unique indexes, and the losers must find the table made, not fail.
TEST_CASE("sinks starting at once on a missing schema and table all start", "[pg][sink][schema]") {
    auto conn = reader();
    for (int round = 0; round < 4; ++round) {
        const std::string schema = "race_schema_" + std::to_string(round);
        conn.exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        std::vector<std::string> failures(6);
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < failures.size(); ++i)
            threads.emplace_back([&, i] {
                try {
                    CustomerSink<versions::CustomerV1, redsink::create_table> sink(
                        test_config(), {.schema = schema, .table = "raced"});
                } catch (const std::exception& error) {
                    failures[i] = error.what();
                }
            });
        for (auto& thread : threads) thread.join();
        for (const auto& failure : failures) CHECK(failure == std::string());
        CHECK(conn.exec("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'raced'",
                        schema)
                  .rows() == 1);
        conn.exec("DROP SCHEMA " + schema + " CASCADE");
    }
}
