#include <redsink/pq.hpp>

#include <catch2/catch.hpp>
#include <support/pg.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using redsink::ErrorKind;
using redsink::pq::Connection;
using redsink::pq::Transaction;
using redsink_test::test_config;

namespace {

// What was written to stderr (file descriptor 2, where libpq prints notices by default) while
// `f` ran.
template <class F>
std::string stderr_of(F&& f) {
    std::fflush(stderr);
    char path[] = "/tmp/redsink-stderr-XXXXXX";
    const int file = mkstemp(path);
    REQUIRE(file >= 0);
    const int saved = dup(2);
    dup2(file, 2);
    const auto restore = [&] {
        std::fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(file);
    };
    try {
        f();
    } catch (...) {
        restore();
        unlink(path);
        throw;
    }
    restore();
    auto text = redsink_test::read_file(path);
    unlink(path);
    return text;
}

template <class F>
redsink::Error error_of(F&& f) {
    try {
        f();
    } catch (const redsink::Error& error) {
        return error;
    }
    FAIL("no redsink::Error was thrown");
    throw;
}

}  // namespace

TEST_CASE("connects and reads the server version", "[pg][connection]") {
    Connection conn(test_config());
    CHECK(conn.is_open());
    CHECK(conn.backend_pid() > 0);
    CHECK(conn.version().find("PostgreSQL 15") != std::string::npos);
    CHECK_FALSE(conn.is_redshift());
    INFO(conn.version());
}

TEST_CASE("bind parameters arrive exactly as sent", "[pg][connection]") {
    Connection conn(test_config());
    const std::string utf8 = "Z\xC3\xBCrich \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x9A\x80";
    const std::string tricky = R"(it's a "quote" and a \backslash\ and \n not a newline)";
    const std::string big(1 << 20, 'x');
    const std::optional<std::string> none;
    const auto result =
        conn.exec("SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::int8, $7::float8, $8::bool",
                  std::nullopt, std::string(), utf8, tricky, big, std::int64_t{-9007199254740993}, 0.1, true);
    CHECK(result.is_null(0, 0));
    CHECK_FALSE(result.is_null(0, 1));
    CHECK(result.get(0, 1).empty());
    CHECK(result.get(0, 2) == utf8);
    CHECK(result.get(0, 3) == tricky);
    CHECK(result.get(0, 4).size() == big.size());
    CHECK(result.get(0, 4) == big);
    CHECK(result.as<std::int64_t>(0, 5) == -9007199254740993);
    CHECK(result.as<double>(0, 6) == 0.1);
    CHECK(result.as<bool>(0, 7));
    CHECK(conn.exec("SELECT $1::text IS NULL", none).as<bool>(0, 0));
    CHECK(conn.exec("SELECT octet_length($1::text)", utf8).as<int>(0, 0) == static_cast<int>(utf8.size()));
}

TEST_CASE("a NUL byte is refused before it is sent", "[pg][connection]") {
    Connection conn(test_config());
    const auto error = error_of([&] { conn.exec("SELECT $1::text", std::string("a\0b", 3)); });
    CHECK(error.kind() == ErrorKind::bad_data);
    CHECK_THAT(error.what(), Catch::Contains("$1") && Catch::Contains("NUL"));
}

TEST_CASE("server errors carry their SQLSTATE and class", "[pg][connection]") {
    Connection conn(test_config());
    const auto syntax = error_of([&] { conn.exec("SELEKT 1"); });
    CHECK(syntax.sqlstate() == "42601");
    CHECK(syntax.kind() == ErrorKind::schema);
    CHECK_THAT(syntax.what(), Catch::Contains("SELEKT 1"));

    conn.exec("CREATE TEMP TABLE unique_test (id int PRIMARY KEY)");
    conn.exec("INSERT INTO unique_test VALUES ($1)", 1);
    const auto duplicate = error_of([&] { conn.exec("INSERT INTO unique_test VALUES ($1)", 1); });
    CHECK(duplicate.sqlstate() == "23505");
    CHECK(duplicate.kind() == ErrorKind::constraint);
    // The key's value stays out; the constraint and table are named.
    CHECK_THAT(duplicate.detail(), Catch::Contains("constraint unique_test_pkey") && !Catch::Contains("(id)=(1)"));
    conn.set_verbatim_server_text(true);
    CHECK_THAT(error_of([&] { conn.exec("INSERT INTO unique_test VALUES ($1)", 1); }).detail(),
               Catch::Contains("(id)=(1)"));
    conn.set_verbatim_server_text(false);

    const auto bad = error_of([&] { conn.exec("SELECT $1::int", "twelve"); });
    CHECK(bad.sqlstate() == "22P02");
    CHECK(bad.kind() == ErrorKind::bad_data);
    CHECK(conn.is_open());
}

TEST_CASE("no row value in an error: CHECK, duplicate key, COPY conversion, JSON parse", "[pg][connection][values]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE leak_test (id int PRIMARY KEY, card text CHECK (card NOT LIKE '4111%'), body jsonb)");
    conn.exec("INSERT INTO leak_test VALUES (42, 'none', '{}')");
    const std::string card = "4111-1111-1111-1111";
    const std::string ssn = "123-45-6789";
    const auto check_failure = [&] { conn.exec("INSERT INTO leak_test VALUES ($1, $2, $3)", 1, card, "{}"); };
    const auto duplicate = [&] { conn.exec("INSERT INTO leak_test VALUES ($1, $2, $3)", 42, "x-" + ssn, "{}"); };
    const auto copy_conversion = [&] {
        conn.copy_from_stdin("COPY leak_test (id, card, body) FROM STDIN",
                             "7\tok\t{\"ssn\":\"" + ssn + "\",\"x\":\"\\\\u0000\"}\n");
    };
    const auto json_parse = [&] { conn.exec("SELECT $1::jsonb", R"({"ssn":")" + ssn + R"(", bad})"); };
    const auto bad_integer = [&] { conn.exec("SELECT $1::int", ssn); };
    struct Case {
        const char* name;
        std::function<void()> run;
        const char* sqlstate;
        const char* shown;   // what the error still says
        std::string secret;  // the value the server quotes
    };
    const std::vector<Case> cases{
        {"CHECK", check_failure, "23514", "constraint leak_test_card_check", card},
        {"duplicate key", duplicate, "23505", "constraint leak_test_pkey", "(id)=(42)"},
        {"COPY conversion", copy_conversion, "22P05", "COPY leak_test, line 1, column body", ssn},
        {"JSON parse", json_parse, "22P02", "invalid text representation", "bad"},
        {"integer parse", bad_integer, "22P02", "invalid text representation", ssn},
    };
    for (const auto& test : cases) {
        INFO(test.name);
        const auto hidden = error_of(test.run);
        CHECK(hidden.sqlstate() == test.sqlstate);
        CHECK_THAT(hidden.what(), Catch::Contains(test.shown) && Catch::Contains("server text not shown"));
        for (const auto& value : {test.secret, card, ssn, std::string("4111")})
            CHECK(std::string(hidden.what()).find(value) == std::string::npos);
        // For debugging, the values can be turned on.
        conn.set_verbatim_server_text(true);
        const auto shown = std::string(error_of(test.run).what());
        conn.set_verbatim_server_text(false);
        CHECK_THAT(shown, Catch::Contains(test.secret));
    }
}

TEST_CASE("a trigger's RAISE with a row's value: the value is in no error, notice or trace, unless verbatim",
          "[pg][connection][values]") {
    Connection conn(test_config());
    std::vector<std::string> traced;
    conn.set_trace([&](redsink::pq::TracePoint, std::string_view text) { traced.emplace_back(text); });
    const std::string card = "4111-2222-3333-4444";
    conn.exec("CREATE TEMP TABLE raise_test (id int, card text)");
    conn.exec(
        "CREATE FUNCTION pg_temp.refuse_cards() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE WARNING 'looking at card %', NEW.card; "
        "IF NEW.card LIKE '4111%' THEN RAISE EXCEPTION 'test card % refused', NEW.card; END IF; "
        "IF NEW.card LIKE '5555%' THEN RAISE EXCEPTION 'card % is late', NEW.card USING ERRCODE = '40001'; END IF; "
        "RETURN NEW; END $$");
    conn.exec("CREATE TRIGGER refuse BEFORE INSERT ON raise_test FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_cards()");
    const auto raised = error_of([&] { conn.exec("INSERT INTO raise_test VALUES ($1, $2)", 1, card); });
    CHECK(raised.sqlstate() == "P0001");
    CHECK(raised.kind() == ErrorKind::other);
    CHECK_THAT(raised.what(), Catch::Contains("RAISE") && Catch::Contains("server text not shown") &&
                                  Catch::Contains("INSERT INTO raise_test"));
    // A function may raise any SQLSTATE, one of those whose text is shown too: not its text.
    const std::string late = "5555-6666-7777-8888";
    const auto chosen = error_of([&] { conn.exec("INSERT INTO raise_test VALUES ($1, $2)", 2, late); });
    CHECK(chosen.sqlstate() == "40001");
    CHECK(chosen.retryable());
    for (const auto& text : {std::string(raised.what()), std::string(chosen.what())}) {
        INFO(text);
        CHECK(text.find(card) == std::string::npos);
        CHECK(text.find(late) == std::string::npos);
    }
    // The WARNING reached the trace, without its value.
    REQUIRE(std::count_if(traced.begin(), traced.end(), [](const auto& text) { return text.starts_with("WARNING"); }) ==
            2);
    for (const auto& text : traced) {
        INFO(text);
        CHECK(text.find(card) == std::string::npos);
        CHECK(text.find(late) == std::string::npos);
    }

    // Verbatim, for debugging: the server's text, value and all, in the error and the notice.
    conn.set_verbatim_server_text(true);
    traced.clear();
    const auto verbatim = error_of([&] { conn.exec("INSERT INTO raise_test VALUES ($1, $2)", 3, card); });
    conn.set_verbatim_server_text(false);
    CHECK_THAT(verbatim.what(), Catch::Contains("test card " + card + " refused"));
    CHECK(std::any_of(traced.begin(), traced.end(), [&](const auto& text) {
        return text.starts_with("WARNING 01000: looking at card " + card + "; where: PL/pgSQL function");
    }));
}

TEST_CASE("notices go to the trace hook, never to stderr: a backend killed while its session is idle",
          "[pg][connection][notices]") {
    Connection victim(test_config());
    Connection killer(test_config());
    std::vector<std::string> notices;
    victim.set_trace([&](redsink::pq::TracePoint point, std::string_view text) {
        if (point == redsink::pq::TracePoint::notice) notices.emplace_back(text);
    });
    const auto printed = stderr_of([&] {
        victim.exec("DO $$ BEGIN RAISE NOTICE 'hello'; END $$");
        CHECK(killer.exec("SELECT pg_terminate_backend($1)", victim.backend_pid()).as<bool>(0, 0));
        // The backend's FATAL arrives while the session waits for nothing: libpq hands it over as
        // a notice once it reads (here by asking for notifications, as a reader at rest does).
        const auto gone = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (notices.size() < 2 && std::chrono::steady_clock::now() < gone) {
            PQconsumeInput(victim.native_handle());
            if (PGnotify* notify = PQnotifies(victim.native_handle())) PQfreemem(notify);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK(error_of([&] { victim.exec("SELECT 1"); }).kind() == ErrorKind::connection_lost);
    });
    CHECK(printed.find("FATAL") == std::string::npos);
    CHECK(printed.find("NOTICE") == std::string::npos);
    REQUIRE(notices.size() >= 2);
    CHECK(notices[0] == "NOTICE 00000: notice (server text not shown)");
    CHECK(notices[1] == "FATAL 57P01: terminating connection due to administrator command");
}

TEST_CASE("a backend killed from another session is a lost connection, and reconnect heals it", "[pg][connection]") {
    Connection victim(test_config());
    Connection killer(test_config());
    victim.prepare("one", "SELECT 1");
    const auto session = victim.session();
    const auto pid = victim.backend_pid();
    CHECK(killer.exec("SELECT pg_terminate_backend($1)", pid).as<bool>(0, 0));
    const auto error = error_of([&] { victim.exec("SELECT 1"); });
    CHECK(error.kind() == ErrorKind::connection_lost);
    CHECK(error.retryable());
    CHECK_FALSE(victim.is_open());

    victim.reconnect();
    CHECK(victim.is_open());
    CHECK(victim.session() > session);
    CHECK(victim.backend_pid() != pid);
    CHECK_FALSE(victim.is_prepared("one"));
    CHECK(victim.exec("SELECT 41 + 1").as<int>(0, 0) == 42);
}

TEST_CASE("a transaction rolls back when it leaves scope uncommitted", "[pg][transaction]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE tx_test (id int)");
    {
        Transaction tx(conn);
        conn.exec("INSERT INTO tx_test VALUES ($1)", 1);
    }
    CHECK(conn.exec("SELECT count(*) FROM tx_test").as<int>(0, 0) == 0);
    {
        Transaction tx(conn);
        conn.exec("INSERT INTO tx_test VALUES ($1)", 2);
        tx.commit();
    }
    CHECK(conn.exec("SELECT count(*) FROM tx_test").as<int>(0, 0) == 1);
    try {
        Transaction tx(conn);
        conn.exec("INSERT INTO tx_test VALUES ($1)", 3);
        throw std::runtime_error("the app failed mid-transaction");
    } catch (const std::runtime_error&) {
    }
    CHECK(conn.exec("SELECT count(*) FROM tx_test").as<int>(0, 0) == 1);
}

TEST_CASE("COMMIT of a failed transaction is an error, not a silent rollback", "[pg][transaction]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE tx_fail (id int)");
    Transaction tx(conn);
    CHECK_THROWS(conn.exec("INSERT INTO tx_fail VALUES ($1)", "not a number"));
    CHECK_THROWS_WITH(tx.commit(), Catch::Contains("rolled back"));
    CHECK(conn.exec("SELECT count(*) FROM tx_fail").as<int>(0, 0) == 0);
}

TEST_CASE("prepared statements run by name", "[pg][connection]") {
    Connection conn(test_config());
    conn.prepare("add", "SELECT $1::int + $2::int", 2);
    CHECK(conn.is_prepared("add"));
    CHECK(conn.exec_prepared("add", 40, 2).as<int>(0, 0) == 42);
    CHECK_THROWS_WITH(conn.exec_prepared("missing"), Catch::Contains("was not prepared"));
}

TEST_CASE("COPY FROM STDIN loads rows and surfaces the server's errors", "[pg][copy]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE copy_test (id int, name text)");
    CHECK(conn.copy_from_stdin("COPY copy_test (id, name) FROM STDIN", "1\tone\n2\t\\N\n3\ttab\\there\n") == 3);
    CHECK(conn.exec("SELECT count(*) FROM copy_test WHERE name IS NULL").as<int>(0, 0) == 1);
    CHECK(conn.exec("SELECT name FROM copy_test WHERE id = 3").get(0, 0) == "tab\there");

    const auto error =
        error_of([&] { conn.copy_from_stdin("COPY copy_test (id, name) FROM STDIN", "4\tok\nfive\tbad\n"); });
    CHECK(error.sqlstate() == "22P02");
    CHECK(error.kind() == ErrorKind::bad_data);
    CHECK_THAT(error.detail(), Catch::Contains("line 2"));
    CHECK(conn.exec("SELECT count(*) FROM copy_test").as<int>(0, 0) == 3);

    {
        auto copy = conn.copy_in("COPY copy_test (id, name) FROM STDIN");
        copy.write("6\tabandoned\n");
    }
    CHECK(conn.exec("SELECT count(*) FROM copy_test").as<int>(0, 0) == 3);
}

TEST_CASE("the trace hook sees every statement's text and never its values", "[pg][trace]") {
    Connection conn(test_config());
    std::vector<std::string> sent;
    int failed = 0;
    conn.set_trace([&](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::sending) sent.emplace_back(sql);
        if (point == redsink::pq::TracePoint::failed) ++failed;
    });
    conn.exec("SELECT $1::text", "a-secret-value");
    conn.prepare("p", "SELECT $1::int", 1);
    conn.exec_prepared("p", 7);
    CHECK_THROWS(conn.exec("SELECT nonsense FROM nowhere"));
    REQUIRE(sent.size() == 4);
    CHECK(sent[0] == "SELECT $1::text");
    CHECK(sent[1] == "SELECT $1::int");
    CHECK(sent[2] == "SELECT $1::int");
    CHECK(sent[3] == "SELECT nonsense FROM nowhere");
    CHECK(failed == 1);
    for (const auto& sql : sent) CHECK(sql.find("a-secret-value") == std::string::npos);
}

TEST_CASE("open failures name host, port, database and user, never the password", "[pg][connection][password]") {
    const std::string password = "Pw-7f3a9c-correct-horse";
    const std::string wrong = "Pw-wrong-battery-staple";
    Connection admin(test_config());
    // The password travels to the server only as a SCRAM verifier, never in SQL text.
    admin.exec("DROP ROLE IF EXISTS redsink_pw_test");
    admin.exec("CREATE ROLE redsink_pw_test LOGIN");
    std::unique_ptr<char, decltype(&PQfreemem)> verifier(
        PQencryptPasswordConn(admin.native_handle(), password.c_str(), "redsink_pw_test", "scram-sha-256"), &PQfreemem);
    REQUIRE(verifier);
    admin.exec("ALTER ROLE redsink_pw_test PASSWORD '" + std::string(verifier.get()) + "'");

    auto config = test_config();
    config.host = "127.0.0.1";
    config.user = "redsink_pw_test";
    config.password = password;
    std::vector<std::string> messages;

    Connection good(config);
    CHECK(good.is_open());
    messages.push_back(error_of([&] { good.exec("SELECT * FROM no_such_table"); }).what());
    const auto killed = error_of([&] { good.exec("SELECT pg_terminate_backend(pg_backend_pid())"); });
    CHECK(killed.kind() == ErrorKind::connection_lost);
    messages.push_back(killed.what());

    config.password = wrong;
    const auto refused = error_of([&] { Connection bad(config); });
    CHECK(refused.kind() == ErrorKind::other);
    CHECK_THAT(refused.what(), Catch::Contains("host=127.0.0.1") &&
                                   Catch::Contains("port=" + redsink_test::server_env("REDSINK_TEST_PORT")) &&
                                   Catch::Contains("dbname=redsink") && Catch::Contains("user=redsink_pw_test") &&
                                   Catch::Contains("password authentication failed"));
    messages.push_back(refused.what());

    auto nowhere = config;
    nowhere.port = "1";
    const auto unreachable = error_of([&] { Connection bad(nowhere); });
    CHECK(unreachable.kind() == ErrorKind::connection_lost);
    CHECK_THAT(unreachable.what(), Catch::Contains("port=1"));
    messages.push_back(unreachable.what());

    auto missing_db = test_config();
    missing_db.database = "no_such_database";
    missing_db.password = password;
    const auto no_db = error_of([&] { Connection bad(missing_db); });
    CHECK_THAT(no_db.what(), Catch::Contains("no_such_database"));
    messages.push_back(no_db.what());
    messages.push_back(config.redacted());

    for (const auto& message : messages) {
        INFO(message);
        CHECK(message.find(password) == std::string::npos);
        CHECK(message.find(wrong) == std::string::npos);
    }
    const auto log = redsink_test::read_file(redsink_test::server_env("REDSINK_TEST_SERVER_LOG"));
    CHECK(log.find(password) == std::string::npos);
    CHECK(log.find(wrong) == std::string::npos);
    admin.exec("DROP ROLE redsink_pw_test");
}

TEST_CASE("a pipeline keeps at most its depth in flight and hands each answer over with its tag", "[pg][pipeline]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE pipeline_window (id int)");
    std::vector<std::pair<std::uint32_t, std::size_t>> answers;
    {
        redsink::pq::Pipeline pipeline(
            conn, 2, [&](const redsink::pq::Completion& done) { answers.emplace_back(done.tag, done.rows); });
        std::vector<std::string> statements;
        for (int i = 1; i <= 6; ++i)
            statements.push_back("INSERT INTO pipeline_window SELECT generate_series(1, " + std::to_string(i) + ")");
        for (std::uint32_t i = 0; i < statements.size(); ++i) {
            pipeline.send(statements[i], i + 1);
            CHECK(pipeline.in_flight() <= 2);
        }
        CHECK(answers.size() == 4);  // the first four were waited for to keep two in flight
        CHECK(pipeline.drain() == 11);
        CHECK(pipeline.in_flight() == 0);
    }
    REQUIRE(answers.size() == 6);
    for (std::uint32_t i = 0; i < 6; ++i) {
        CHECK(answers[i].first == i + 1);
        CHECK(answers[i].second == i + 1);
    }
    CHECK(conn.exec("SELECT count(*) FROM pipeline_window").get(0, 0) == "21");
}

TEST_CASE("a pipeline runs prepared statements in flight and surfaces the first error", "[pg][pipeline]") {
    Connection conn(test_config());
    conn.exec("CREATE TEMP TABLE pipeline_test (id int PRIMARY KEY, name text)");
    conn.prepare("put", "INSERT INTO pipeline_test VALUES ($1, $2), ($3, $4)", 4);
    std::vector<std::string> done;
    conn.set_trace([&](redsink::pq::TracePoint point, std::string_view sql) {
        if (point == redsink::pq::TracePoint::done) done.emplace_back(sql);
    });
    {
        Transaction tx(conn);
        redsink::pq::Pipeline pipeline(conn);
        std::size_t rows = 0;
        for (int i = 0; i < 10; ++i) {
            const auto a = std::to_string(2 * i);
            const auto b = std::to_string(2 * i + 1);
            const std::array<const char*, 4> values{a.c_str(), "even", b.c_str(), nullptr};
            pipeline.send_prepared("put", values);
            if (pipeline.in_flight() > 3) rows += pipeline.receive();
        }
        rows += pipeline.finish();
        CHECK(rows == 20);
        tx.commit();
    }
    CHECK(done.size() == 12);  // 10 inserts, BEGIN and COMMIT
    CHECK(conn.exec("SELECT count(*), count(name) FROM pipeline_test").get(0, 0) == "20");

    // A duplicate key in the third statement: the error comes back, the rest is aborted, the
    // transaction rolls back, and the connection goes on.
    try {
        Transaction tx(conn);
        redsink::pq::Pipeline pipeline(conn);
        for (const int first : {100, 102, 0, 104, 106}) {
            const auto a = std::to_string(first);
            const auto b = std::to_string(first + 1);
            const std::array<const char*, 4> values{a.c_str(), "x", b.c_str(), "y"};
            pipeline.send_prepared("put", values);
        }
        pipeline.finish();
        FAIL("the duplicate key was accepted");
    } catch (const redsink::Error& error) {
        CHECK(error.sqlstate() == "23505");
        CHECK(error.kind() == ErrorKind::constraint);
    }
    CHECK(conn.exec("SELECT count(*) FROM pipeline_test").as<int>(0, 0) == 20);
    CHECK(conn.exec("SELECT 1").as<int>(0, 0) == 1);
}

TEST_CASE("TLS: verify-full with the server's CA works; a wrong CA is a clear error, not retried",
          "[pg][connection][tls]") {
    const std::string password = "Tls-Test-8e2f-Pw";
    Connection admin(test_config());
    admin.exec("DROP ROLE IF EXISTS redsink_tls_test");
    admin.exec("CREATE ROLE redsink_tls_test LOGIN PASSWORD '" + password + "'");
    auto config = test_config();
    config.host = "localhost";  // the name the certificate holds
    config.user = "redsink_tls_test";
    config.password = password;
    config.sslmode = "verify-full";
    config.options.emplace_back("sslrootcert", redsink_test::server_env("REDSINK_TEST_SSL_ROOT"));
    {
        Connection conn(config);
        CHECK(conn.exec("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").as<bool>(0, 0));
    }
    auto by_address = config;
    by_address.host = "127.0.0.1";  // also in the certificate
    CHECK(Connection(by_address).exec("SELECT 1").as<int>(0, 0) == 1);

    auto wrong = config;
    wrong.options.back().second = redsink_test::server_env("REDSINK_TEST_SSL_WRONG_ROOT");
    const auto refused = error_of([&] { Connection bad(wrong); });
    CHECK_FALSE(refused.retryable());
    CHECK_THAT(refused.what(), Catch::Contains("certificate verify failed") && Catch::Contains("host=localhost"));
    CHECK(std::string(refused.what()).find(password) == std::string::npos);
    admin.exec("DROP ROLE redsink_tls_test");
}
