// A policy written outside the library (the example's newer_version_wins) composes like the
// built-in ones.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <newer_version_wins.hpp>
#include <support/sink.hpp>

#include <map>

using namespace redsink_test;

TEMPLATE_TEST_CASE("a custom insert mode: late and replayed events never overwrite newer rows", "[pg][sink][policy]",
                   redsink::redshift, redsink::postgres) {
    using Sink = redsink::Sink<Account, AccountKey, example::newer_version_wins, redsink::create_table, TestType>;
    const std::string table = std::string("newer_") + std::string(redsink::to_string(Sink::dialect));
    drop_table(table);
    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 120, .trace = sink_trace<Sink>()});
    auto stream = random_stream({.seed = 101, .events = 1500, .keys = 80});
    std::erase_if(stream, [](const AccountChange& change) { return redsink::is_delete(change.op); });

    write_all(sink, stream);
    // A replay of an older range arrives late: its versions are lower than the table's.
    write_all(sink, std::vector<AccountChange>(stream.begin(), stream.begin() + 600));

    // Model: a row changes only to a version at least as new.
    std::map<std::int64_t, Account> model;
    for (const auto& change : stream) {
        auto [it, fresh] = model.try_emplace(change.row.id, change.row);
        if (!fresh && change.row.version >= it->second.version) it->second = change.row;
    }
    std::vector<std::string> expected;
    for (const auto& [id, row] : model) expected.push_back(row_text(row));
    std::sort(expected.begin(), expected.end());
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == expected);
}
