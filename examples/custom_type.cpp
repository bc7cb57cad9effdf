// An app's own types as columns: specialize redsink::column_traits<T> with the supported type
// it is stored as and the conversion. Prints the table both dialects would create and one
// encoded row. Runs without a database.
#include <redsink/redsink.hpp>

#include <fmt/core.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace shop {

// A 128-bit id the app keeps as two integers; stored as its canonical 36-character text.
struct OrderId {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
};

// Money in cents; stored as DECIMAL(18,2).
struct Cents {
    std::int64_t value = 0;
};

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (OrderId, id), (std::string, customer), (Cents, total),
                             (std::optional<Cents>, discount));
};

}  // namespace shop

template <>
struct redsink::column_traits<shop::OrderId> {
    using stored_as = redsink::varchar<36>;
    static stored_as to_column(const shop::OrderId& id) {
        const auto hex = fmt::format("{:016x}{:016x}", id.high, id.low);
        return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                           hex.substr(20));
    }
};

template <>
struct redsink::column_traits<shop::Cents> {
    using stored_as = redsink::decimal<18, 2>;
    static stored_as to_column(shop::Cents cents) { return stored_as::from_units(cents.value); }
};

int main() {
    for (const auto dialect : {redsink::Dialect::redshift, redsink::Dialect::postgres}) {
        const auto spec = redsink::table_spec<shop::Order, redsink::primary_key<"id">>(
            redsink::sql::TableRef::make("shop", "orders"), dialect);
        fmt::print("{}: {}\n", redsink::to_string(dialect), redsink::sql::create_table_sql(spec));
    }
    const shop::Order order{{0x0123456789abcdef, 0xfedcba9876543210}, "Ada", {12345}, std::nullopt};
    redsink::ParamBuffer params;
    redsink::encode_row(order, params, redsink::column_contexts<shop::Order>(redsink::Dialect::redshift));
    for (std::size_t i = 0; i < params.size(); ++i)
        fmt::print("${} = {}\n", i + 1, params.is_null(i) ? "NULL" : std::string(params.view(i)));
    return 0;
}
