// An app's own types as columns: one redsink::column_traits<T> specialization each, the one
// customization point. The short form names the supported type it is stored as and the
// conversion; the complete form gives the SQL type and the encoding itself, and refuses bad
// values. Prints the table both dialects would create, one encoded row, and a refused one.
// Runs without a database.
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

// A weight in grams that must not be negative; stored as INTEGER.
struct Grams {
    std::int32_t value = 0;
};

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (OrderId, id), (std::string, customer), (Cents, total),
                             (std::optional<Cents>, discount), (Grams, weight));
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

// The complete form: the SQL type, and the encoding with its own check.
template <>
struct redsink::column_traits<shop::Grams> {
    static constexpr redsink::ColumnType type{redsink::SqlKind::int32};
    static void encode(shop::Grams grams, redsink::ParamBuffer& out, const redsink::ColumnContext& column) {
        if (grams.value < 0) throw redsink::BadValue(std::string(column.name), "is a negative weight");
        out.push(std::to_string(grams.value));
    }
};

int main() {
    for (const auto dialect : {redsink::Dialect::redshift, redsink::Dialect::postgres}) {
        const auto spec = redsink::table_spec<shop::Order, redsink::primary_key<"id">>(
            redsink::sql::TableRef::make("shop", "orders"), dialect);
        fmt::print("{}: {}\n", redsink::to_string(dialect), redsink::sql::create_table_sql(spec));
    }
    const shop::Order order{{0x0123456789abcdef, 0xfedcba9876543210}, "Ada", {12345}, std::nullopt, {1250}};
    const auto columns = redsink::column_contexts<shop::Order>(redsink::Dialect::redshift);
    redsink::ParamBuffer params;
    redsink::encode_row(order, params, columns);
    for (std::size_t i = 0; i < params.size(); ++i)
        fmt::print("${} = {}\n", i + 1, params.is_null(i) ? "NULL" : std::string(params.view(i)));
    try {
        redsink::encode_row(shop::Order{{}, "Bob", {100}, std::nullopt, {-5}}, params, columns);
        return 1;
    } catch (const redsink::BadValue& error) {
        fmt::print("refused: {}\n", error.what());
    }
    return 0;
}
