#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/reduce.hpp>

#include <catch2/catch.hpp>
#include <support/records.hpp>

#include <limits>
#include <optional>
#include <string_view>
#include <tuple>

#include <string>
#include <utility>
#include <vector>

using redsink::Reduction;
using redsink::detail::EncodedBatch;
using redsink::detail::reduce;
using redsink::detail::Refusals;
using redsink::detail::StagedRows;

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
std::vector<std::string> staged(const StagedRows& staged) {
    std::vector<std::string> out;
    for (const auto& row : staged.rows) out.push_back(std::to_string(row.event) + ":" + row.op);
    return out;
}

const std::vector<std::size_t> key{0};
using list = std::vector<std::string>;

}  // namespace

TEST_CASE("upsert keeps each key's last event, in event order", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_of({{"a", 'i'}, {"b", 'i'}, {"a", 'i'}, {"c", 'i'}, {"b", 'd'}, {"c", 'd'}, {"c", 'i'}});
    out = reduce(batch, Reduction::last_per_key, false, key);
    CHECK(staged(out) == list{"2:i", "4:d", "6:i"});
    CHECK(out.inserts == 2);
    CHECK(out.deletes == 1);
}

TEST_CASE("upsert with a delete mode that keeps rows stages a deleted key's last insert as deleted", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"a", 'd'}, {"b", 'd'}, {"c", 'd'}, {"c", 'i'}});
    out = reduce(batch, Reduction::last_per_key, true, key);
    CHECK(staged(out) == list{"1:x", "3:d", "5:i"});
    CHECK(out.inserts == 2);
    CHECK(out.deletes == 1);
}

TEST_CASE("append keeps every insert after the key's last delete, and one delete per key", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_of(
        {{"a", 'i'}, {"a", 'i'}, {"b", 'i'}, {"a", 'd'}, {"a", 'i'}, {"a", 'd'}, {"a", 'i'}, {"a", 'i'}, {"b", 'i'}});
    out = reduce(batch, Reduction::inserts_after_last_delete, false, key);
    CHECK(staged(out) == list{"2:i", "5:d", "6:i", "7:i", "8:i"});
    out = reduce(batch, Reduction::inserts_after_last_delete, true, key);
    CHECK(staged(out) == list{"0:x", "1:x", "2:i", "4:x", "5:d", "6:i", "7:i", "8:i"});
}

TEST_CASE("without key columns every event is staged", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"b", 'i'}});
    out = reduce(batch, Reduction::inserts_after_last_delete, false, {});
    CHECK(staged(out) == list{"0:i", "1:i", "2:i"});
}

TEST_CASE("composite keys compare every key column; many keys stay distinct", "[unit][reduce]") {
    StagedRows out;
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
    out = reduce(batch, Reduction::last_per_key, false, both);
    CHECK(staged(out) == list{"1:i", "2:i", "3:i"});

    std::vector<std::pair<std::string, char>> many;
    for (int i = 0; i < 5000; ++i) many.emplace_back(std::to_string(i % 1234), i % 7 == 0 ? 'd' : 'i');
    auto large = batch_of(many);
    out = reduce(large, Reduction::last_per_key, false, key);
    CHECK(out.rows.size() == 1234);
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
    StagedRows out;
    auto batch = batch_of({{"a", 'i'}, {"a", 'i'}, {"b", 'i'}, {"b", 'd'}, {"c", 'i'}});
    Refusals refused;
    refused.refuse(1, batch.events(), {});  // a's later insert
    refused.refuse(3, batch.events(), {});  // b's delete
    CHECK(refused.size() == 2);
    CHECK_FALSE(refused.is_refused(0));
    out = reduce(batch, Reduction::last_per_key, false, key, {}, refused);
    CHECK(staged(out) == list{"0:i", "2:i", "4:i"});
    out = reduce(batch, Reduction::inserts_after_last_delete, false, key, {}, refused);
    CHECK(staged(out) == list{"0:i", "2:i", "4:i"});
    out = reduce(batch, Reduction::inserts_after_last_delete, false, {}, {}, refused);
    CHECK(staged(out) == list{"0:i", "2:i", "4:i"});
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
    const redsink::detail::RecordModel<Everything, redsink_test::EverythingKey> model(redsink::Dialect::redshift,
                                                                                      65535);
    const redsink::Change<Everything> change{redsink::Op::create, row, {3, 77}};
    const redsink::BadValue bad("code", "is longer than VARCHAR(8)");
    const auto letter = redsink::detail::refused_event(change, bad, model);
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

namespace {

// An event of a three-column batch (key, a, b) that may keep a or b: `keep` is the keep text
// ("010": a kept), empty when it keeps nothing; a kept value is NULL, as encode_change writes it.
struct KeepEvent {
    std::string key;
    char op;
    std::string a, b, keep;
};

EncodedBatch batch_keeping(const std::vector<KeepEvent>& events) {
    EncodedBatch batch;
    batch.columns = 3;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& event = events[i];
        batch.params.push(event.key);
        for (const auto& [value, at] : {std::pair{&event.a, 1}, std::pair{&event.b, 2}}) {
            if (event.op == 'd' || (!event.keep.empty() && event.keep[at] == '1'))
                batch.params.push_null();
            else
                batch.params.push(*value);
        }
        if (event.keep.empty() || event.op == 'd') {
            batch.keeps.push_null();
        } else {
            batch.keeps.push(event.keep);
            ++batch.events_keeping;
        }
        batch.ops.push_back(event.op);
        batch.positions.push_back({0, static_cast<std::int64_t>(i)});
        batch.row_bytes.push_back(8);
    }
    hash_keys(batch, {0});
    return batch;
}

// The staged rows as "event:op:a,b|keep", from the values each sends (NULL as "-").
std::vector<std::string> staged_values(const EncodedBatch& batch, const StagedRows& staged) {
    std::vector<std::string> out;
    const auto values = staged.values(batch);
    for (const auto& row : staged.rows) {
        const auto text = [&](std::size_t column) {
            const char* value = values.value(row.row(), column);
            return value == nullptr ? std::string("-") : std::string(value);
        };
        const char* keep = values.keep(row.row());
        out.push_back(std::to_string(row.event) + ":" + row.op + ":" + text(1) + "," + text(2) + "|" +
                      (keep == nullptr ? "" : keep));
    }
    return out;
}

}  // namespace

TEST_CASE("a kept value comes from the key's nearest earlier insert in the batch that carries it", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_keeping({
        {"a", 'i', "a1", "b1", ""},
        {"a", 'i', "", "b2", "010"},  // a kept: a1
        {"b", 'i', "", "", "011"},    // nothing earlier: both kept from the table
        {"a", 'i', "a3", "", "001"},  // b kept: b2
        {"c", 'i', "c1", "", "001"},  // c: b kept, then deleted, then kept again
        {"c", 'd', "", "", ""},
        {"c", 'i', "", "x", "010"},  // after the delete: a is gone (NULL), not kept
        {"d", 'i', "", "", "011"},   // d: kept twice, carried once
        {"d", 'i', "d2", "", "001"},
        {"d", 'i', "", "", "011"},  // a from event 8; b from none: still kept
    });
    out = reduce(batch, Reduction::last_per_key, false, key);
    CHECK(staged_values(batch, out) == list{"2:i:-,-|011", "3:i:a3,b2|", "6:i:-,x|", "9:i:d2,-|001"});
    CHECK(out.keeping == 2);
    CHECK(out.merged_bytes.size() == 3);
    // Reducing again starts from the events' own rows.
    const auto params = batch.params.size();
    out = reduce(batch, Reduction::last_per_key, false, key);
    CHECK(batch.params.size() == params);
    CHECK(staged_values(batch, out) == list{"2:i:-,-|011", "3:i:a3,b2|", "6:i:-,x|", "9:i:d2,-|001"});
    // A refused event is as if never written: its values are not taken.
    Refusals refused;
    refused.refuse(1, batch.events(), {});
    out = reduce(batch, Reduction::last_per_key, false, key, {}, refused);
    CHECK(staged_values(batch, out) == list{"2:i:-,-|011", "3:i:a3,b1|", "6:i:-,x|", "9:i:d2,-|001"});
}

TEST_CASE("with a delete mode that keeps rows, kept values are merged across deletes too", "[unit][reduce]") {
    StagedRows out;
    auto batch = batch_keeping({{"a", 'i', "a1", "b1", ""}, {"a", 'i', "a2", "", "001"}, {"a", 'd', "", "", ""}});
    out = reduce(batch, Reduction::last_per_key, true, key);
    CHECK(staged_values(batch, out) == list{"1:x:a2,b1|"});
    CHECK(out.keeping == 0);
    // A soft-deleted row keeps its values: an insert after the delete keeps them.
    batch = batch_keeping({{"a", 'i', "a1", "b1", ""}, {"a", 'd', "", "", ""}, {"a", 'i', "", "b3", "010"}});
    out = reduce(batch, Reduction::last_per_key, true, key);
    CHECK(staged_values(batch, out) == list{"2:i:a1,b3|"});
    out = reduce(batch, Reduction::last_per_key, false, key);
    CHECK(staged_values(batch, out) == list{"2:i:-,b3|"});
}

TEST_CASE("newest_per_key merges kept values by the order column, not by arrival", "[unit][reduce]") {
    StagedRows out;
    // The order column is a (an integer): b is kept.
    auto batch = batch_keeping({
        {"a", 'i', "3", "", "001"},  // newest: b from the next older by order, event 2
        {"a", 'i', "1", "b1", ""},
        {"a", 'i', "2", "b2", ""},
        {"b", 'i', "5", "", "001"},  // newest; an older delete (order 4) ends the search
        {"b", 'd', "4", "", ""},
        {"b", 'i', "1", "bb", ""},
    });
    // Deletes carry the order value.
    batch.params = {};
    for (const auto& [k, a, b] :
         std::vector<std::tuple<std::string, std::string, std::optional<std::string>>>{{"a", "3", std::nullopt},
                                                                                       {"a", "1", "b1"},
                                                                                       {"a", "2", "b2"},
                                                                                       {"b", "5", std::nullopt},
                                                                                       {"b", "4", std::nullopt},
                                                                                       {"b", "1", "bb"}}) {
        batch.params.push(k);
        batch.params.push(a);
        if (b)
            batch.params.push(*b);
        else
            batch.params.push_null();
    }
    hash_keys(batch, {0});
    redsink::detail::OrderColumn order{1, true};
    out = reduce(batch, Reduction::newest_per_key, false, key, order);
    CHECK(staged_values(batch, out) == list{"0:i:3,b2|", "3:i:5,-|"});
    CHECK(out.keeping == 0);
}
