#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/reduce.hpp>

#include <catch2/catch.hpp>
#include <support/records.hpp>

#include <limits>
#include <optional>
#include <string_view>

#include <string>
#include <utility>
#include <vector>

using redsink::Reduction;
using redsink::detail::EncodedBatch;
using redsink::detail::reduce;

namespace {

// Each event's key hash, as encode_change computes it.
void hash_keys(EncodedBatch& batch, const std::vector<std::size_t>& key) {
    batch.key_hashes.clear();
    for (std::size_t event = 0; event < batch.events(); ++event)
        batch.key_hashes.push_back(redsink::detail::key_hash(batch.params, event * batch.columns, key));
}

// A batch of (key, op) events with two columns: the key and the event's number.
EncodedBatch batch_of(const std::vector<std::pair<std::string, char>>& events) {
    EncodedBatch batch;
    batch.columns = 2;
    for (std::size_t i = 0; i < events.size(); ++i) {
        batch.params.push(events[i].first);
        batch.params.push(std::to_string(i));
        batch.ops.push_back(events[i].second);
        batch.positions.push_back({0, static_cast<std::int64_t>(i)});
        batch.row_bytes.push_back(4);
    }
    hash_keys(batch, {0});
    return batch;
}

// The staged rows as "event:op".
std::vector<std::string> staged(const EncodedBatch& batch) {
    std::vector<std::string> out;
    for (const auto& row : batch.staged) out.push_back(std::to_string(row.event) + ":" + row.op);
    return out;
}

const std::vector<std::size_t> key{0};
using list = std::vector<std::string>;

}  // namespace

TEST_CASE("upsert keeps each key's last event, in event order", "[unit][reduce]") {
    auto batch = batch_of({{"a", 'i'}, {"b", 'i'}, {"a", 'i'}, {"c", 'i'}, {"b", 'd'}, {"c", 'd'}, {"c", 'i'}});
    reduce(batch, Reduction::last_per_key, false, key);
    CHECK(staged(batch) == list{"2:i", "4:d", "6:i"});
    CHECK(batch.staged_inserts == 2);
    CHECK(batch.staged_deletes == 1);
}

TEST_CASE("upsert with a delete mode that keeps rows stages a deleted key's last insert as deleted", "[unit][reduce]") {
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"a", 'd'}, {"b", 'd'}, {"c", 'd'}, {"c", 'i'}});
    reduce(batch, Reduction::last_per_key, true, key);
    CHECK(staged(batch) == list{"1:x", "3:d", "5:i"});
    CHECK(batch.staged_inserts == 2);
    CHECK(batch.staged_deletes == 1);
}

TEST_CASE("append keeps every insert after the key's last delete, and one delete per key", "[unit][reduce]") {
    auto batch = batch_of(
        {{"a", 'i'}, {"a", 'i'}, {"b", 'i'}, {"a", 'd'}, {"a", 'i'}, {"a", 'd'}, {"a", 'i'}, {"a", 'i'}, {"b", 'i'}});
    reduce(batch, Reduction::inserts_after_last_delete, false, key);
    CHECK(staged(batch) == list{"2:i", "5:d", "6:i", "7:i", "8:i"});
    reduce(batch, Reduction::inserts_after_last_delete, true, key);
    CHECK(staged(batch) == list{"0:x", "1:x", "2:i", "4:x", "5:d", "6:i", "7:i", "8:i"});
}

TEST_CASE("without key columns every event is staged", "[unit][reduce]") {
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"b", 'i'}});
    reduce(batch, Reduction::inserts_after_last_delete, false, {});
    CHECK(staged(batch) == list{"0:i", "1:i", "2:i"});
}

TEST_CASE("composite keys compare every key column; many keys stay distinct", "[unit][reduce]") {
    EncodedBatch batch;
    batch.columns = 2;
    // (tenant, id): ("1","12") and ("11","2") must not collide.
    for (const auto& [tenant, id] :
         std::vector<std::pair<std::string, std::string>>{{"1", "12"}, {"11", "2"}, {"1", "12"}, {"", "112"}}) {
        batch.params.push(tenant);
        batch.params.push(id);
        batch.ops.push_back('i');
        batch.positions.push_back({});
        batch.row_bytes.push_back(4);
    }
    const std::vector<std::size_t> both{0, 1};
    hash_keys(batch, both);
    reduce(batch, Reduction::last_per_key, false, both);
    CHECK(staged(batch) == list{"1:i", "2:i", "3:i"});

    std::vector<std::pair<std::string, char>> many;
    for (int i = 0; i < 5000; ++i) many.emplace_back(std::to_string(i % 1234), i % 7 == 0 ? 'd' : 'i');
    auto large = batch_of(many);
    reduce(large, Reduction::last_per_key, false, key);
    CHECK(large.staged.size() == 1234);
}

TEST_CASE("equal keys hash alike, and the hash reads every key column", "[unit][reduce]") {
    redsink::ParamBuffer params;
    for (const auto* text : {"1", "12", "11", "2", "1", "12"}) params.push(text);
    const std::vector<std::size_t> both{0, 1};
    using redsink::detail::key_hash;
    CHECK(key_hash(params, 0, both) == key_hash(params, 4, both));
    CHECK(key_hash(params, 0, both) != key_hash(params, 2, both));
}

TEST_CASE("events the server refused are left out of the reduction: a key's last good event wins", "[unit][reduce]") {
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"b", 'i'}, {"b", 'd'}, {"c", 'i'}});
    batch.refused.assign(batch.events(), 0);
    batch.refused[1] = 1;  // a's later insert
    batch.refused[3] = 1;  // b's delete
    reduce(batch, Reduction::last_per_key, false, key);
    CHECK(staged(batch) == list{"0:i", "2:i", "4:i"});
    reduce(batch, Reduction::inserts_after_last_delete, false, key);
    CHECK(staged(batch) == list{"0:i", "2:i", "4:i"});
    reduce(batch, Reduction::inserts_after_last_delete, false, {});
    CHECK(staged(batch) == list{"0:i", "2:i", "4:i"});
}

TEST_CASE("a dead letter's values: JSON text, bytes that are not UTF-8 as \\xNN, refused values as close as text shows",
          "[unit][dead_letter]") {
    using redsink::detail::values_json;
    const std::vector<std::string_view> names{"id", "name", "note"};
    CHECK(values_json(names, {"42", "tab\t\"q\" \\ \xC3\xA4 \xC3(", std::nullopt}) ==
          "{\"id\":\"42\",\"name\":\"tab\\u0009\\\"q\\\" \\\\ \xC3\xA4 \\\\xC3(\",\"note\":null}");
    CHECK(values_json({"a"}, {std::string(70000, 'x')}) == std::nullopt);
    CHECK(redsink::detail::truncated_utf8("a\xC3\xA4"
                                          "b",
                                          2) == "a");
    CHECK(redsink::detail::truncated_utf8("a\xC3\xA4"
                                          "b",
                                          3) == "a\xC3\xA4");

    using redsink::detail::raw_text;
    CHECK(raw_text(std::string("x\xFF")) == "x\xFF");
    CHECK(raw_text(redsink::varchar<2>("long")) == "long");
    CHECK(raw_text(std::optional<std::string>{}) == std::nullopt);
    CHECK(raw_text(redsink::decimal<4, 2>::from_units(1234567)) == "12345.67");
    CHECK(raw_text(std::numeric_limits<double>::quiet_NaN()) == "nan");

    // An event the client refused: the refused value raw, the others as the encoder sends them.
    using redsink_test::Everything;
    auto row = redsink_test::sample_everything(9);
    row.code = redsink::varchar<8>("far too long");
    const auto columns = redsink::column_contexts<Everything>(redsink::Dialect::redshift);
    const redsink::Change<Everything> change{redsink::Op::create, row, {3, 77}};
    const redsink::BadValue bad("code", "is longer than VARCHAR(8)");
    const auto letter = redsink::detail::refused_event<Everything, redsink_test::EverythingKey>(change, bad, columns);
    CHECK(letter.position == redsink::Position{3, 77});
    CHECK(letter.column == "code");
    CHECK(letter.sqlstate.empty());
    CHECK(letter.reason == "is longer than VARCHAR(8)");
    REQUIRE(letter.values);
    CHECK_THAT(*letter.values, Catch::StartsWith(R"({"tenant":"7","id":"9",)") &&
                                   Catch::Contains(R"("code":"far too long")") &&
                                   Catch::Contains(R"("amount":"1234.56")") && Catch::Contains(R"("parent":null)"));
    CHECK(letter.recorded_at.size() == 26);
}
