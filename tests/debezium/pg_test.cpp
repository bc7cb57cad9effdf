// End to end: a fixture stream decoded and written through a Sink (upsert, hard_delete) into a
// real PostgreSQL, then the table against a std::map of what the events imply.
#include <debezium/support.hpp>
#include <support/sink.hpp>

#include <redsink/debezium.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace redsink_test::dbz;

TEST_CASE("a decoded Debezium stream, written with upsert and hard_delete, leaves the model's table",
          "[debezium][pg]") {
    using Sink = redsink::Sink<Customer, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                               redsink::create_table, redsink::postgres>;
    redsink_test::drop_table("debezium_customers");
    Sink sink(redsink_test::test_config(),
              {.schema = redsink_test::sink_schema, .table = "debezium_customers", .batch_rows = 4});
    redsink::Positions committed;
    sink.on_commit([&](const redsink::Positions& positions) {
        for (const auto& [partition, offset] : positions) committed[partition] = offset;
    });

    redsink::debezium::Decoder<Customer> decoder;
    std::map<std::int32_t, Customer> model;
    redsink::Positions last;
    const auto messages = read_messages(fixture_path("fixtures/end_to_end.txt"));
    REQUIRE(messages.size() == 17);
    for (const auto& message : messages) {
        const auto decoded = decoder.decode(message.message());
        REQUIRE(decoded.complete());
        const auto& change = decoded.change;
        if (redsink::is_delete(change.op))
            model.erase(change.row.id);
        else
            model[change.row.id] = change.row;
        last[change.position.partition] = change.position.offset;
        sink.write(change);
    }
    sink.flush();
    CHECK(committed == last);

    std::vector<std::string> expected;
    for (const auto& [id, row] : model)
        expected.push_back(
            fmt::format("{}|{}|{}|{}", row.id, row.first_name, row.last_name, row.email.value_or("<NULL>")));
    auto conn = redsink_test::reader();
    const auto result = conn.exec("SELECT id, first_name, last_name, coalesce(email, '<NULL>') FROM " +
                                  redsink_test::qualified("debezium_customers") + " ORDER BY id");
    std::vector<std::string> actual;
    for (int row = 0; row < result.rows(); ++row)
        actual.push_back(
            fmt::format("{}|{}|{}|{}", result.get(row, 0), result.get(row, 1), result.get(row, 2), result.get(row, 3)));
    CHECK(actual == expected);
    CHECK(model.size() == 5);  // 1004, 1005, 1006, 1007, 1008: 1002 and 1003 deleted, 1001 deleted when unwrapped
}
