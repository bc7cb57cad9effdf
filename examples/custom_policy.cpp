// A Sink with a policy of the app's own (examples/newer_version_wins.hpp): late events never
// overwrite newer rows. Writes version 2 of a row, then a late version 1, and shows that the
// table kept version 2. Runs against REDSINK_CONNINFO (or the PG* variables).
#include "newer_version_wins.hpp"

#include <redsink/redsink.hpp>

#include <fmt/core.h>

#include <cstdint>
#include <exception>
#include <string>

struct Price {
    BOOST_HANA_DEFINE_STRUCT(Price, (std::int64_t, sku), (std::int64_t, version), (redsink::decimal<10, 2>, amount));
};

using PriceSink = redsink::Sink<Price, redsink::primary_key<"sku">, example::newer_version_wins, redsink::hard_delete,
                                redsink::create_table, redsink::redshift>;

int main() {
    try {
        PriceSink sink(redsink::ConnectionConfig::from_env(), {.schema = "examples", .table = "prices"});
        sink.write(redsink::upserted(Price{42, 2, redsink::decimal<10, 2>("19.99")}, {0, 1}));
        sink.flush();
        sink.write(redsink::upserted(Price{42, 1, redsink::decimal<10, 2>("24.99")}, {0, 2}));  // late
        sink.flush();
        redsink::pq::Connection conn(redsink::ConnectionConfig::from_env());
        const auto row = conn.exec("SELECT version, amount FROM examples.prices WHERE sku = $1", 42);
        fmt::print("sku 42: version {}, amount {}\n", row.get(0, 0), row.get(0, 1));
        return row.get(0, 0) == "2" ? 0 : 1;
    } catch (const std::exception& error) {
        fmt::print(stderr, "custom_policy: {}\n", error.what());
        return 1;
    }
}
