#include <redsink/error.hpp>
#include <redsink/pq/error.hpp>

#include <catch2/catch.hpp>

#include <type_traits>

using redsink::pq::classify;
using redsink::pq::ErrorKind;

TEST_CASE("SQLSTATEs are classified", "[unit][error]") {
    CHECK(classify("08006") == ErrorKind::transient);
    CHECK(classify("08001") == ErrorKind::transient);
    CHECK(classify("40001") == ErrorKind::transient);
    CHECK(classify("40P01") == ErrorKind::transient);
    CHECK(classify("57P01") == ErrorKind::transient);
    CHECK(classify("57P02") == ErrorKind::transient);
    CHECK(classify("57P03") == ErrorKind::transient);
    CHECK(classify("53300") == ErrorKind::transient);
    CHECK(classify("26000") == ErrorKind::transient);
    CHECK(classify("22P02") == ErrorKind::bad_data);
    CHECK(classify("22001") == ErrorKind::bad_data);
    CHECK(classify("23505") == ErrorKind::constraint);
    CHECK(classify("23502") == ErrorKind::constraint);
    CHECK(classify("42601") == ErrorKind::schema);
    CHECK(classify("42P01") == ErrorKind::schema);
    CHECK(classify("57014") == ErrorKind::transient);
    CHECK(classify("55P03") == ErrorKind::transient);
    CHECK(classify("53100") == ErrorKind::other);
    CHECK(classify("") == ErrorKind::other);
}

TEST_CASE("Redshift's serialization failures are transient", "[unit][error]") {
    CHECK(classify("XX000", "1023",
                   "Serializable isolation violation on table - 100000, transactions forming the cycle "
                   "are: 1, 2 (pid:3)") == ErrorKind::transient);
    CHECK(classify("XX000", "Serializable isolation violation on table") == ErrorKind::transient);
    CHECK(classify("XX000", "could not complete because of conflict with concurrent transaction") ==
          ErrorKind::transient);
    CHECK(classify("XX000", "internal error") == ErrorKind::other);
    CHECK(classify("42601", "1023") == ErrorKind::schema);
}

TEST_CASE("an Error describes itself", "[unit][error]") {
    const redsink::Error error(ErrorKind::constraint, "23505", "duplicate key value", "Key (id)=(1) already exists.",
                               "while inserting");
    CHECK(std::string(error.what()) ==
          "while inserting: duplicate key value (SQLSTATE 23505); detail: Key (id)=(1) already exists.");
    CHECK(error.kind() == ErrorKind::constraint);
    CHECK_FALSE(error.retryable());
    CHECK(redsink::Error(ErrorKind::connection_lost, "", "gone").retryable());
}

TEST_CASE("the root error is redsink's; the libpq adapter's names are the same types", "[unit][error]") {
    STATIC_REQUIRE(std::is_same_v<redsink::pq::Error, redsink::Error>);
    STATIC_REQUIRE(std::is_same_v<redsink::pq::ErrorKind, redsink::ErrorKind>);
    STATIC_REQUIRE(redsink::retryable(redsink::ErrorKind::connection_lost));
    STATIC_REQUIRE(redsink::retryable(redsink::ErrorKind::transient));
    STATIC_REQUIRE_FALSE(redsink::retryable(redsink::ErrorKind::fenced));
    STATIC_REQUIRE(redsink::to_string(redsink::ErrorKind::fenced) == "fenced");
    const redsink::Error error(redsink::ErrorKind::other, "", "", "", "doing it");
    CHECK(std::string(error.what()) == "doing it: error");
    CHECK_FALSE(error.retryable());
}

TEST_CASE("errors that may quote values lose them: message, detail and context", "[unit][error]") {
    using redsink::pq::context_without_values;
    using redsink::pq::quotes_values;
    using redsink::pq::without_values;
    CHECK(quotes_values("23505"));
    CHECK(quotes_values("22P02"));
    CHECK(quotes_values("XX000"));
    CHECK_FALSE(quotes_values("42P01"));
    CHECK_FALSE(quotes_values("40001"));
    CHECK(without_values(R"(invalid input syntax for type integer: "twelve")", {}) ==
          "invalid input syntax for type integer");
    CHECK(without_values(R"(value "300" is out of range for type smallint)", {}) ==
          R"(value "<value>" is out of range for type smallint)");
    CHECK(without_values(R"(duplicate key value violates unique constraint "t_pkey")", {"t", "t_pkey"}) ==
          R"(duplicate key value violates unique constraint "t_pkey")");
    CHECK(without_values(R"(null value in column "note" of relation "orders" violates not-null constraint)",
                         {"s", "orders", "note", "", ""}) ==
          R"(null value in column "note" of relation "orders" violates not-null constraint)");
    CHECK(without_values("Invalid digit, Value 'x', Pos 0, Type: Integer", {}) ==
          "Invalid digit, Value '<value>', Pos 0, Type");
    CHECK(context_without_values("unnamed portal parameter $1 = '123-45-6789'") == "unnamed portal parameter $1");
    CHECK(context_without_values("COPY leak_json, line 1, column body: \"{\"ssn\":\"123-45-6789\"}\"") ==
          "COPY leak_json, line 1, column body");
    CHECK(context_without_values("JSON data, line 1: {\"ssn\":\"123\nSQL function \"json_parse\" statement 1") ==
          "JSON data, line 1\nSQL function \"json_parse\" statement 1");
}
