#include <redsink/record.hpp>

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <support/records.hpp>

#include <string>

using redsink::SqlKind;
using redsink_test::Everything;
using redsink_test::EverythingKey;

namespace app {

// An app's own type, written as VARCHAR(36) through the customization point.
struct Uuid {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
};

struct Session {
    BOOST_HANA_DEFINE_STRUCT(Session, (Uuid, id), (std::optional<Uuid>, parent), (std::string, UserName));
};

}  // namespace app

template <>
struct redsink::column_traits<app::Uuid> {
    using stored_as = redsink::varchar<36>;
    static stored_as to_column(const app::Uuid& id) { return std::to_string(id.high) + "-" + std::to_string(id.low); }
};

TEST_CASE("a record's columns come from its members, in order, lowercased", "[unit][record]") {
    using info = redsink::record_info<app::Session>;
    STATIC_REQUIRE(info::size == 3);
    CHECK(info::member_names[2] == "UserName");
    CHECK(info::column_names[2] == "username");
    CHECK(info::column_types[0] == redsink::ColumnType{SqlKind::varchar, 36});
    CHECK(info::column_types[1] == redsink::ColumnType{SqlKind::varchar, 36, 0, 0, true});
    CHECK(info::column_types[2] == redsink::ColumnType{SqlKind::text});
}

TEST_CASE("key columns are found by member name", "[unit][record]") {
    using key = redsink::key_info<Everything, EverythingKey>;
    STATIC_REQUIRE(key::size == 2);
    STATIC_REQUIRE(key::indexes[0] == 0);
    STATIC_REQUIRE(key::indexes[1] == 1);
    STATIC_REQUIRE(key::is_key(1));
    STATIC_REQUIRE_FALSE(key::is_key(2));
}

TEST_CASE("every supported type maps to its SQL type", "[unit][record][types]") {
    using info = redsink::record_info<Everything>;
    const auto spec = redsink::table_spec<Everything, EverythingKey>(redsink::sql::TableRef::make("App", "Everything"),
                                                                     redsink::Dialect::redshift);
    CHECK(spec.name.display() == "app.everything");
    REQUIRE(spec.columns.size() == info::size);
    CHECK(spec.columns[0].key);
    CHECK(spec.columns[1].key);
    CHECK_FALSE(spec.columns[2].key);
    CHECK(info::column_types[13].nullable);
    CHECK(info::column_types[14].nullable);
    CHECK_FALSE(info::column_types[12].nullable);
}

namespace app {
// Kept in tenths of a degree; refuses what cannot be.
struct Celsius {
    double degrees = 0;
};
struct Reading {
    BOOST_HANA_DEFINE_STRUCT(Reading, (std::int64_t, id), (Celsius, temperature), (std::optional<Celsius>, low));
};
}  // namespace app

template <>
struct redsink::column_traits<app::Celsius> {
    static constexpr redsink::ColumnType type{redsink::SqlKind::decimal, 0, 5, 1};
    static void encode(const app::Celsius& value, redsink::ParamBuffer& out, const redsink::ColumnContext& column) {
        if (!(value.degrees >= -273.15)) throw redsink::BadValue(std::string(column.name), "is below absolute zero");
        out.push(fmt::format("{:.1f}", value.degrees));
    }
};

TEST_CASE("a custom type in the complete form: its own SQL type and encoding", "[unit][record][types]") {
    using info = redsink::record_info<app::Reading>;
    CHECK(info::column_types[1] == redsink::ColumnType{SqlKind::decimal, 0, 5, 1});
    CHECK(info::column_types[2] == redsink::ColumnType{SqlKind::decimal, 0, 5, 1, true});
    CHECK(redsink::sql_type_name(info::column_types[1], redsink::Dialect::redshift) == "DECIMAL(5,1)");
    redsink::ParamBuffer out;
    const auto columns = redsink::column_contexts<app::Reading>(redsink::Dialect::postgres);
    redsink::encode_row(app::Reading{7, {21.25}, std::nullopt}, out, columns);
    CHECK(out.view(1) == "21.2");
    CHECK(out.is_null(2));
    CHECK_THROWS_WITH(redsink::encode_row(app::Reading{8, {-300}, std::nullopt}, out, columns),
                      Catch::Contains("column \"temperature\": is below absolute zero"));
    CHECK(out.size() == 3);  // nothing of the refused row stays
}

TEST_CASE("a custom type is encoded as the type it is stored as", "[unit][record][types]") {
    redsink::ParamBuffer out;
    const redsink::ColumnContext column{"id", redsink::column_of<app::Uuid>::type, redsink::Dialect::redshift};
    redsink::encode_value(app::Uuid{1, 2}, out, column);
    redsink::encode_value(std::optional<app::Uuid>{}, out, column);
    CHECK(out.view(0) == "1-2");
    CHECK(out.is_null(1));
}

TEST_CASE("run-time identifiers are lowercased and checked", "[unit][record]") {
    CHECK(redsink::sql::TableRef::make("", "Orders").quoted() == R"("public"."orders")");
    CHECK(redsink::sql::quote_identifier(R"(we"ird)") == R"("we""ird")");
    CHECK_THROWS_WITH(redsink::sql::TableRef::make("s", std::string(64, 'x')), Catch::Contains("longer than 63 bytes"));
    CHECK_THROWS_WITH(redsink::sql::TableRef::make("s", ""), Catch::Contains("table name \"\" is empty"));
    CHECK_THROWS_WITH(redsink::sql::TableRef::make("s", std::string("a\0b", 3)), Catch::Contains("NUL"));
}
