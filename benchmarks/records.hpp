#pragma once

#include <redsink/record.hpp>
#include <redsink/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace redsink_bench {

// The common event: a few numbers, money, a short name, a time and a flag.
struct Narrow {
    BOOST_HANA_DEFINE_STRUCT(Narrow, (std::int64_t, id), (std::int64_t, account), (redsink::decimal<12, 2>, amount),
                             (std::string, name), (redsink::timestamp, created_at), (bool, active));
};

// A denormalized event with several long texts (about 1.4 KB of text per row): 39 columns, the
// most that BOOST_HANA_DEFINE_STRUCT takes in Boost 1.74 (40 macro arguments, the type included).
struct Wide {
    BOOST_HANA_DEFINE_STRUCT(Wide, (std::int64_t, id), (std::int32_t, tenant), (std::int64_t, version),
                             (std::int16_t, status), (bool, active), (bool, verified), (double, score), (float, ratio),
                             (redsink::decimal<18, 4>, amount), (redsink::decimal<12, 2>, balance),
                             (std::optional<redsink::decimal<12, 2>>, fee), (redsink::timestamp, created_at),
                             (redsink::timestamptz, updated_at), (std::chrono::year_month_day, birthday),
                             (std::optional<std::chrono::year_month_day>, expires_on), (redsink::varchar<254>, email),
                             (redsink::varchar<64>, first_name), (redsink::varchar<64>, last_name),
                             (redsink::varchar<2>, country), (std::string, city), (std::string, street),
                             (redsink::varchar<16>, postal_code), (std::optional<std::string>, phone),
                             (std::string, description), (std::string, notes), (std::string, user_agent),
                             (std::optional<std::string>, referrer), (std::string, tags),
                             (std::optional<std::string>, comment), (redsink::varchar<32>, source),
                             (std::optional<redsink::varchar<64>>, campaign), (std::int32_t, clicks),
                             (std::int64_t, views), (std::int32_t, sessions), (double, latitude), (double, longitude),
                             (std::int16_t, priority), (std::optional<std::int64_t>, parent_id),
                             (std::int64_t, checksum));
};

namespace detail {

inline constexpr std::string_view prose =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
    "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. "
    "Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem "
    "aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo.";

// `length` bytes of prose that start with the row's id, so that rows differ.
inline std::string text_of(std::int64_t id, std::size_t length, std::size_t shift) {
    std::string out = std::to_string(id);
    out.push_back(' ');
    const auto start = (static_cast<std::size_t>(id) * 7 + shift) % (prose.size() / 2);
    out.append(prose.substr(start, length > out.size() ? length - out.size() : 0));
    return out;
}

inline std::string padded(std::string_view prefix, std::int64_t id, std::size_t digits) {
    std::string number = std::to_string(id);
    if (number.size() < digits) number.insert(0, digits - number.size(), '0');
    return std::string(prefix) + number;
}

// The same instant for the same (id, version): 2024-03-01 plus a few seconds per id.
inline redsink::timestamp time_of(std::int64_t id, std::int64_t version) {
    using namespace std::chrono;
    const sys_time<microseconds> base = sys_days(year_month_day(year(2024), month(3), day(1)));
    return redsink::timestamp(base + seconds(id * 3 + version * 86'400) + microseconds((id * 7'919) % 1'000'000));
}

}  // namespace detail

// Deterministic rows: the same (id, version) always gives the same row. A higher version is
// the same key with other values (an update).
inline Narrow narrow_row(std::int64_t id, std::int64_t version = 1) {
    Narrow row;
    row.id = id;
    row.account = (id * 31 + version) % 100'003;
    row.amount = redsink::decimal<12, 2>::from_units((id * 7'919 + version * 13) % 10'000'000 - 2'500'000);
    row.name = detail::padded("customer-", id + version, 11);
    row.created_at = detail::time_of(id, version);
    row.active = (id + version) % 3 != 0;
    return row;
}

inline Wide wide_row(std::int64_t id, std::int64_t version = 1) {
    using namespace std::chrono;
    Wide row;
    const auto n = id + version;
    row.id = id;
    row.tenant = static_cast<std::int32_t>(id % 97);
    row.version = version;
    row.status = static_cast<std::int16_t>(n % 7);
    row.active = n % 2 == 0;
    row.verified = n % 5 != 0;
    row.score = static_cast<double>(n % 10'000) / 7.0;
    row.ratio = static_cast<float>(n % 1'000) / 8.0f;
    row.amount = redsink::decimal<18, 4>::from_units(n * 104'729 % 1'000'000'000'000);
    row.balance = redsink::decimal<12, 2>::from_units(n * 7'919 % 100'000'000 - 10'000'000);
    if (n % 4 != 0) row.fee = redsink::decimal<12, 2>::from_units(n % 10'000);
    row.created_at = detail::time_of(id, version);
    row.updated_at = redsink::timestamptz(detail::time_of(id, version + 1).value);
    row.birthday = year_month_day(sys_days(year_month_day(year(1950), month(1), day(1))) + days(n % 20'000));
    if (n % 3 == 0) row.expires_on = year_month_day(sys_days(year_month_day(year(2030), month(6), day(30))));
    row.email = redsink::varchar<254>(detail::padded("user.", n, 9) + "@mail.example.com");
    row.first_name = redsink::varchar<64>(detail::padded("First", n % 1'000, 4));
    row.last_name = redsink::varchar<64>(detail::padded("Lastname", n % 10'000, 5));
    row.country = redsink::varchar<2>(n % 2 == 0 ? "DE" : "US");
    row.city = detail::padded("City number ", n % 5'000, 5);
    row.street = detail::padded("Long Street Name ", n % 1'000, 4) + " " + std::to_string(n % 200);
    row.postal_code = redsink::varchar<16>(detail::padded("", n % 100'000, 5));
    if (n % 2 == 0) row.phone = detail::padded("+49 30 ", n % 10'000'000, 7);
    row.description = detail::text_of(n, 400, 0);
    row.notes = detail::text_of(n, 300, 11);
    row.user_agent = detail::text_of(n, 200, 23);
    if (n % 3 != 0) row.referrer = "https://www.example.com/" + detail::text_of(n, 120, 5).substr(0, 120);
    row.tags = detail::text_of(n, 100, 37);
    if (n % 2 != 0) row.comment = detail::text_of(n, 250, 41);
    row.source = redsink::varchar<32>(n % 3 == 0 ? "web" : "mobile-app");
    if (n % 5 != 0) row.campaign = redsink::varchar<64>(detail::padded("spring-campaign-", n % 50, 2));
    row.clicks = static_cast<std::int32_t>(n % 1'000);
    row.views = n * 17;
    row.sessions = static_cast<std::int32_t>(n % 100);
    row.latitude = 52.520008 + static_cast<double>(n % 1'000) / 10'000.0;
    row.longitude = 13.404954 - static_cast<double>(n % 1'000) / 10'000.0;
    row.priority = static_cast<std::int16_t>(n % 5);
    if (n % 4 == 0) row.parent_id = id / 2;
    row.checksum = n * 2'654'435'761 % 4'294'967'296;
    return row;
}

template <class R>
inline constexpr std::string_view record_name = std::is_same_v<R, Narrow> ? "narrow" : "wide";

template <class R>
R make_row(std::int64_t id, std::int64_t version = 1) {
    if constexpr (std::is_same_v<R, Narrow>)
        return narrow_row(id, version);
    else
        return wide_row(id, version);
}

// Rows with ids 0 .. count-1.
template <class R>
std::vector<R> make_rows(std::size_t count, std::int64_t version = 1) {
    std::vector<R> rows;
    rows.reserve(count);
    for (std::size_t i = 0; i < count; ++i) rows.push_back(make_row<R>(static_cast<std::int64_t>(i), version));
    return rows;
}

}  // namespace redsink_bench
