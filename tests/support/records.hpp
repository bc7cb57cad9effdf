#pragma once

#include <redsink/record.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace redsink_test {

// A record with every supported type and a composite key.
struct Everything {
    BOOST_HANA_DEFINE_STRUCT(Everything, (std::int32_t, tenant), (std::int64_t, id), (bool, active),
                             (std::int16_t, rank), (float, ratio), (double, score), (std::string, name),
                             (redsink::varchar<8>, code), (redsink::decimal<12, 2>, amount),
                             (std::chrono::year_month_day, birthday), (redsink::timestamp, created_at),
                             (redsink::timestamptz, updated_at), (redsink::json, payload),
                             (std::optional<std::string>, note), (std::optional<std::int64_t>, parent));
};
using EverythingKey = redsink::primary_key<"tenant", "id">;

inline Everything sample_everything(std::int64_t id) {
    using namespace std::chrono;
    Everything row;
    row.tenant = 7;
    row.id = id;
    row.active = id % 2 == 0;
    row.rank = static_cast<std::int16_t>(id % 100);
    row.ratio = 0.25f;
    row.score = 1.0 / 3.0;
    row.name = "n\xC3\xA4me " + std::to_string(id);
    row.code = redsink::varchar<8>("c" + std::to_string(id % 1000));
    row.amount = redsink::decimal<12, 2>("1234.56");
    row.birthday = year_month_day(year(1990), month(2), day(28));
    row.created_at = redsink::timestamp(sys_days(year_month_day(year(2024), month(1), day(2))) + hours(3) + minutes(4) +
                                        seconds(5) + microseconds(6));
    row.updated_at = row.created_at.value;
    row.payload = redsink::json(R"({"id":)" + std::to_string(id) + R"(,"tags":["a","b"]})");
    if (id % 3 == 0) row.note = "it's \"quoted\" and \\ slashed";
    if (id % 4 == 0) row.parent = id - 1;
    return row;
}

}  // namespace redsink_test
