#include <redsink/error.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/server_text.hpp>

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

TEST_CASE("server text is built from the error's fields; the server's own only where it holds no values",
          "[unit][error]") {
    using redsink::pq::copy_location;
    using redsink::pq::libpq_text;
    using redsink::pq::ServerFields;
    using redsink::pq::shown_text;
    using redsink::pq::text_without_values;
    CHECK(text_without_values("40001", "could not serialize access due to concurrent update"));
    CHECK(text_without_values("08006", "connection to server was lost"));
    CHECK(text_without_values("53300", "sorry, too many clients already"));
    CHECK(text_without_values("42P01", R"(relation "t" does not exist)"));
    CHECK(text_without_values("XX000", "1023 Serializable isolation violation on table - 100"));
    CHECK_FALSE(text_without_values("XX000", "Invalid digit, Value 'x', Pos 0, Type: Integer"));
    CHECK_FALSE(text_without_values("23514", R"(new row for relation "t" violates check constraint "c")"));
    CHECK_FALSE(text_without_values("22P02", R"(invalid input syntax for type integer: "12")"));
    CHECK_FALSE(text_without_values("P0001", "test card 4111 refused"));
    CHECK_FALSE(text_without_values("", "anything"));

    // A trigger's RAISE: nothing of its text, whatever it holds; the table and SQLSTATE's meaning.
    ServerFields raised;
    raised.severity = "ERROR";
    raised.sqlstate = "P0001";
    raised.message = "test card 4111-1111 refused";
    raised.context = "PL/pgSQL function refuse_cards() line 3 at RAISE";
    raised.source_function = "exec_stmt_raise";
    const auto hidden = shown_text(raised, false);
    CHECK(hidden.message == "exception raised by a function (RAISE)");
    CHECK(hidden.detail == "(server text not shown)");
    CHECK(shown_text(raised, true).message == raised.message);
    CHECK_THAT(shown_text(raised, true).detail, Catch::Contains("at RAISE"));
    // ... also with a SQLSTATE of the allow-list: a function chose it.
    raised.sqlstate = "40001";
    CHECK(shown_text(raised, false).message == "transaction rollback");
    raised.source_function.clear();
    CHECK(shown_text(raised, false).message == "transaction rollback");

    ServerFields check;
    check.sqlstate = "23514";
    check.message = R"(new row for relation "orders" violates check constraint "no_test_cards")";
    check.detail = "Failing row contains (1, 4111-1111).";
    check.schema = "shop";
    check.table = "orders";
    check.constraint = "no_test_cards";
    check.context = "COPY orders, line 18, column card: \"4111-1111\"";
    const auto shown = shown_text(check, false);
    CHECK(shown.message == "check constraint violation");
    CHECK(shown.detail ==
          "table shop.orders, constraint no_test_cards; where: COPY orders, line 18, column card (server text not "
          "shown)");

    ServerFields deadlock;
    deadlock.sqlstate = "40P01";
    deadlock.message = "deadlock detected";
    deadlock.detail = "Process 1 waits for ShareLock; Process 2: UPDATE t SET card = '4111'";
    CHECK(shown_text(deadlock, false).message == "deadlock detected");
    CHECK(shown_text(deadlock, false).detail.empty());

    CHECK(copy_location("COPY t, line 2: \"7\tok\"") == "COPY t, line 2");
    CHECK(copy_location("JSON data, line 1: {\nCOPY t, line 12, column body: \"{\"") == "COPY t, line 12, column body");
    CHECK(copy_location("COPY t, line x") == "");
    CHECK(copy_location("PL/pgSQL function f() line 3 at RAISE") == "");

    CHECK(libpq_text("server closed the connection unexpectedly", false) ==
          "server closed the connection unexpectedly");
    CHECK(libpq_text("ERROR:  test card 4111 refused\nserver closed the connection", false) ==
          "the connection failed (server text not shown)");
    CHECK(libpq_text("lost\nERROR:  4111", true) == "lost\nERROR:  4111");
}
