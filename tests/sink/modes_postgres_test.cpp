#include <sink/modes.hpp>

TEST_CASE("postgres dialect: every insert and delete mode leaves the model's table", "[pg][sink][postgres]") {
    redsink_test::check_every_mode<redsink::postgres>("pg");
}

TEST_CASE("append without a key writes every insert and acknowledges ignored deletes", "[pg][sink]") {
    using namespace redsink_test;
    using Sink = redsink::Sink<Account, redsink::append, redsink::create_table, redsink::postgres>;
    drop_table("keyless");
    Sink sink(test_config(), {.schema = sink_schema, .table = "keyless", .batch_rows = 500});
    const auto stream = random_stream({.seed = 21, .events = 1200});
    Model model(InsertKind::append, DeleteKind::ignore);
    model.apply(stream);
    write_all(sink, stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified("keyless")) == model.rows());
    CHECK(sink.table().key_indexes().empty());
}
