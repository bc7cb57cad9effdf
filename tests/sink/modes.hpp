#pragma once

// Every combination of insert and delete mode, over one seeded random stream, checked against
// the reference model row by row, upsert with each of its statements (UpsertStatement).
// Instantiated per dialect in its own translation unit.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/compare.hpp>
#include <support/sink.hpp>

#include <string>

namespace redsink_test {

template <class Dialect, class Insert, class Delete>
void check_stream_against_model(InsertKind insert, DeleteKind remove, const std::string& table, std::uint64_t seed,
                                redsink::UpsertStatement upsert_statement = redsink::UpsertStatement::delete_insert) {
    using Sink = redsink::Sink<Account, AccountKey, Insert, Delete, redsink::create_table, Dialect>;
    drop_table(table);
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = table,
                              .batch_rows = 97,
                              .upsert_statement = upsert_statement,
                              .trace = sink_trace<Sink>()});
    const auto stream = random_stream({.seed = seed, .events = 3000, .keys = 150});
    Model model(insert, remove);
    model.apply(stream);
    write_all(sink, stream);

    auto conn = reader();
    const auto rows = table_rows(conn, qualified(table), remove == DeleteKind::soft);
    const auto expected = model.rows();
    check_same_rows(rows, expected);
    const auto& stats = sink.stats();
    CHECK(stats.events_in == stream.size());
    // batch_rows counts the rows to write; ignored deletes ride along.
    CHECK(stats.batches >= stream.size() * 3 / 4 / 97);
    CHECK(stats.acknowledged.size() == 3);
    for (const auto& [partition, offset] : stats.acknowledged) {
        std::int64_t last = -1;
        for (const auto& change : stream)
            if (change.position.partition == partition) last = change.position.offset;
        CHECK(offset == last);
    }
}

template <class Dialect>
void check_every_mode(const std::string& prefix) {
    using redsink::append;
    using redsink::hard_delete;
    using redsink::ignore_deletes;
    using redsink::upsert;
    using soft = redsink::soft_delete<"deleted">;
    using redsink::UpsertStatement;
    SECTION("upsert, hard_delete") {
        const auto statement = GENERATE(UpsertStatement::delete_insert, UpsertStatement::merge);
        INFO("merge " << (statement == UpsertStatement::merge));
        check_stream_against_model<Dialect, upsert, hard_delete>(InsertKind::upsert, DeleteKind::hard, prefix + "_uh",
                                                                 11, statement);
    }
    SECTION("upsert, ignore_deletes") {
        const auto statement = GENERATE(UpsertStatement::delete_insert, UpsertStatement::merge);
        INFO("merge " << (statement == UpsertStatement::merge));
        check_stream_against_model<Dialect, upsert, ignore_deletes>(InsertKind::upsert, DeleteKind::ignore,
                                                                    prefix + "_ui", 12, statement);
    }
    SECTION("upsert, soft_delete") {
        const auto statement = GENERATE(UpsertStatement::delete_insert, UpsertStatement::merge);
        INFO("merge " << (statement == UpsertStatement::merge));
        check_stream_against_model<Dialect, upsert, soft>(InsertKind::upsert, DeleteKind::soft, prefix + "_us", 13,
                                                          statement);
    }
    SECTION("append, hard_delete") {
        check_stream_against_model<Dialect, append, hard_delete>(InsertKind::append, DeleteKind::hard, prefix + "_ah",
                                                                 14);
    }
    SECTION("append, ignore_deletes") {
        check_stream_against_model<Dialect, append, ignore_deletes>(InsertKind::append, DeleteKind::ignore,
                                                                    prefix + "_ai", 15);
    }
    SECTION("append, soft_delete") {
        check_stream_against_model<Dialect, append, soft>(InsertKind::append, DeleteKind::soft, prefix + "_as", 16);
    }
}

}  // namespace redsink_test
