// Records wider than Hana's macro allows: 150 members through REDSINK_RECORD_MEMBERS, through
// create_table, upsert with deletes, and evolve_schema adding members, in both dialects.
#include <redsink/record_members.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace redsink_test;

namespace {

// 150 members: the key, then seven types in turn. One list for both records below: a member
// sequence may come from a macro of its own.
// clang-format off
#define WIDE_RECORD_TEST_MEMBERS \
    (std::int64_t, id) \
    (std::string, c001) \
    (redsink::decimal<12, 2>, c002) \
    (std::optional<std::string>, c003) \
    (bool, c004) \
    (std::int32_t, c005) \
    (redsink::timestamp, c006) \
    (std::int64_t, c007) \
    (std::string, c008) \
    (redsink::decimal<12, 2>, c009) \
    (std::optional<std::string>, c010) \
    (bool, c011) \
    (std::int32_t, c012) \
    (redsink::timestamp, c013) \
    (std::int64_t, c014) \
    (std::string, c015) \
    (redsink::decimal<12, 2>, c016) \
    (std::optional<std::string>, c017) \
    (bool, c018) \
    (std::int32_t, c019) \
    (redsink::timestamp, c020) \
    (std::int64_t, c021) \
    (std::string, c022) \
    (redsink::decimal<12, 2>, c023) \
    (std::optional<std::string>, c024) \
    (bool, c025) \
    (std::int32_t, c026) \
    (redsink::timestamp, c027) \
    (std::int64_t, c028) \
    (std::string, c029) \
    (redsink::decimal<12, 2>, c030) \
    (std::optional<std::string>, c031) \
    (bool, c032) \
    (std::int32_t, c033) \
    (redsink::timestamp, c034) \
    (std::int64_t, c035) \
    (std::string, c036) \
    (redsink::decimal<12, 2>, c037) \
    (std::optional<std::string>, c038) \
    (bool, c039) \
    (std::int32_t, c040) \
    (redsink::timestamp, c041) \
    (std::int64_t, c042) \
    (std::string, c043) \
    (redsink::decimal<12, 2>, c044) \
    (std::optional<std::string>, c045) \
    (bool, c046) \
    (std::int32_t, c047) \
    (redsink::timestamp, c048) \
    (std::int64_t, c049) \
    (std::string, c050) \
    (redsink::decimal<12, 2>, c051) \
    (std::optional<std::string>, c052) \
    (bool, c053) \
    (std::int32_t, c054) \
    (redsink::timestamp, c055) \
    (std::int64_t, c056) \
    (std::string, c057) \
    (redsink::decimal<12, 2>, c058) \
    (std::optional<std::string>, c059) \
    (bool, c060) \
    (std::int32_t, c061) \
    (redsink::timestamp, c062) \
    (std::int64_t, c063) \
    (std::string, c064) \
    (redsink::decimal<12, 2>, c065) \
    (std::optional<std::string>, c066) \
    (bool, c067) \
    (std::int32_t, c068) \
    (redsink::timestamp, c069) \
    (std::int64_t, c070) \
    (std::string, c071) \
    (redsink::decimal<12, 2>, c072) \
    (std::optional<std::string>, c073) \
    (bool, c074) \
    (std::int32_t, c075) \
    (redsink::timestamp, c076) \
    (std::int64_t, c077) \
    (std::string, c078) \
    (redsink::decimal<12, 2>, c079) \
    (std::optional<std::string>, c080) \
    (bool, c081) \
    (std::int32_t, c082) \
    (redsink::timestamp, c083) \
    (std::int64_t, c084) \
    (std::string, c085) \
    (redsink::decimal<12, 2>, c086) \
    (std::optional<std::string>, c087) \
    (bool, c088) \
    (std::int32_t, c089) \
    (redsink::timestamp, c090) \
    (std::int64_t, c091) \
    (std::string, c092) \
    (redsink::decimal<12, 2>, c093) \
    (std::optional<std::string>, c094) \
    (bool, c095) \
    (std::int32_t, c096) \
    (redsink::timestamp, c097) \
    (std::int64_t, c098) \
    (std::string, c099) \
    (redsink::decimal<12, 2>, c100) \
    (std::optional<std::string>, c101) \
    (bool, c102) \
    (std::int32_t, c103) \
    (redsink::timestamp, c104) \
    (std::int64_t, c105) \
    (std::string, c106) \
    (redsink::decimal<12, 2>, c107) \
    (std::optional<std::string>, c108) \
    (bool, c109) \
    (std::int32_t, c110) \
    (redsink::timestamp, c111) \
    (std::int64_t, c112) \
    (std::string, c113) \
    (redsink::decimal<12, 2>, c114) \
    (std::optional<std::string>, c115) \
    (bool, c116) \
    (std::int32_t, c117) \
    (redsink::timestamp, c118) \
    (std::int64_t, c119) \
    (std::string, c120) \
    (redsink::decimal<12, 2>, c121) \
    (std::optional<std::string>, c122) \
    (bool, c123) \
    (std::int32_t, c124) \
    (redsink::timestamp, c125) \
    (std::int64_t, c126) \
    (std::string, c127) \
    (redsink::decimal<12, 2>, c128) \
    (std::optional<std::string>, c129) \
    (bool, c130) \
    (std::int32_t, c131) \
    (redsink::timestamp, c132) \
    (std::int64_t, c133) \
    (std::string, c134) \
    (redsink::decimal<12, 2>, c135) \
    (std::optional<std::string>, c136) \
    (bool, c137) \
    (std::int32_t, c138) \
    (redsink::timestamp, c139) \
    (std::int64_t, c140) \
    (std::string, c141) \
    (redsink::decimal<12, 2>, c142) \
    (std::optional<std::string>, c143) \
    (bool, c144) \
    (std::int32_t, c145) \
    (redsink::timestamp, c146) \
    (std::int64_t, c147) \
    (std::string, c148) \
    (redsink::decimal<12, 2>, c149)
// clang-format on

struct Wide150 {
    REDSINK_RECORD_MEMBERS(Wide150, WIDE_RECORD_TEST_MEMBERS);
};

// The same, two members more: what evolve_schema adds.
struct Wide152 {
    REDSINK_RECORD_MEMBERS(Wide152, WIDE_RECORD_TEST_MEMBERS(std::optional<std::string>,
                                                             added_note)(std::optional<std::int64_t>, added_count));
};

static_assert(redsink::record_info<Wide150>::size == 150);
static_assert(redsink::record_info<Wide152>::size == 152);
static_assert(redsink::record_info<Wide150>::column_names[149] == "c149");

// Every member of a row set from its id and the member's number; the expected column texts
// written independently of the sink's encoders, as PostgreSQL prints them.
template <class R>
std::pair<R, std::vector<std::string>> wide_row(std::int64_t id, std::int64_t version) {
    using namespace std::chrono;
    R row{};
    std::vector<std::string> texts;
    redsink::record_info<R>::for_each(row, [&](auto index, auto& value) {
        const auto i = static_cast<std::int64_t>(decltype(index)::value);
        const auto seed = id * 1000 + i + version * 7;
        using T = std::remove_cvref_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
            value = fmt::format("r{}c{} \"q\" \xC3\xA4", id, seed);
            texts.push_back(value);
        } else if constexpr (std::is_same_v<T, redsink::decimal<12, 2>>) {
            value = redsink::decimal<12, 2>::from_units(-seed);
            texts.push_back(cents_text(-seed));
        } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            if (seed % 3 != 0) value = fmt::format("o{}", seed);
            texts.push_back(value.value_or("<NULL>"));
        } else if constexpr (std::is_same_v<T, bool>) {
            value = seed % 2 == 0;
            texts.push_back(value ? "t" : "f");
        } else if constexpr (std::is_same_v<T, std::int32_t>) {
            value = static_cast<std::int32_t>(seed);
            texts.push_back(std::to_string(seed));
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            value = i == 0 ? id : seed * 1'000'000'007LL;
            texts.push_back(std::to_string(value));
        } else if constexpr (std::is_same_v<T, std::optional<std::int64_t>>) {
            if (seed % 2 == 0) value = seed;
            texts.push_back(value ? std::to_string(*value) : "<NULL>");
        } else {
            static_assert(std::is_same_v<T, redsink::timestamp>);
            const auto seconds_in = seed % 86'400;
            value = redsink::timestamp(sys_days(year_month_day(year(2024), month(5), day(1))) +
                                       std::chrono::seconds(seconds_in));
            texts.push_back(
                fmt::format("2024-05-01 {:02}:{:02}:{:02}", seconds_in / 3600, seconds_in / 60 % 60, seconds_in % 60));
        }
    });
    return {row, texts};
}

// Every row of the table, all columns as text in table order, by id.
std::map<std::int64_t, std::vector<std::string>> table_texts(redsink::pq::Connection& conn, const std::string& table,
                                                             std::size_t columns) {
    const auto result = conn.exec("SELECT * FROM " + table);
    REQUIRE(result.columns() == static_cast<int>(columns));
    std::map<std::int64_t, std::vector<std::string>> out;
    for (int row = 0; row < result.rows(); ++row) {
        std::vector<std::string> texts;
        for (int column = 0; column < result.columns(); ++column)
            texts.push_back(result.is_null(row, column) ? "<NULL>" : std::string(result.get(row, column)));
        out[std::stoll(texts[0])] = std::move(texts);
    }
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("a 150-member record: created, upserted with deletes, evolved to 152 members", "[pg][sink][wide]",
                   redsink::redshift, redsink::postgres) {
    const std::string dialect(redsink::to_string(TestType::value));
    const std::string table = "wide_" + dialect;
    const auto target = qualified(table);
    drop_table(table);
    auto conn = reader();
    std::map<std::int64_t, std::vector<std::string>> model;
    {
        using Sink = redsink::Sink<Wide150, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                   redsink::create_table, TestType>;
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = 128, .trace = sink_trace<Sink>()});
        CHECK(sink.setup().created);
        std::int64_t offset = 0;
        for (std::int64_t version = 0; version < 2; ++version) {
            for (std::int64_t id = 0; id < 300; id += 1 + version) {
                auto [row, texts] = wide_row<Wide150>(id, version);
                sink.write(redsink::upserted(row, {0, offset++}));
                model[id] = texts;
            }
        }
        for (std::int64_t id = 5; id < 300; id += 50) {
            Wide150 key{};
            key.id = id;
            sink.write(redsink::deleted(key, {0, offset++}));
            model.erase(id);
        }
        sink.flush();
        CHECK(table_texts(conn, target, 150) == model);
    }
    {
        using Sink =
            redsink::Sink<Wide152, redsink::primary_key<"id">, redsink::upsert, redsink::evolve_schema, TestType>;
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .trace = sink_trace<Sink>()});
        CHECK(sink.setup().added_columns == std::vector<std::string>{"added_note", "added_count"});
        for (auto& [id, texts] : model) {
            texts.push_back("<NULL>");
            texts.push_back("<NULL>");
        }
        for (std::int64_t id = 250; id < 320; ++id) {
            auto [row, texts] = wide_row<Wide152>(id, 3);
            sink.write(redsink::upserted(row, {1, id}));
            model[id] = texts;
        }
        sink.flush();
        CHECK(table_texts(conn, target, 152) == model);
    }
}
