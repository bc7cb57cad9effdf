// The dead_letter policy: events the client or the server refuses go to the dead-letter table in
// their batch's transaction; the target ends as the model without them; they are acknowledged.
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using namespace redsink_test;
using redsink::Positions;

namespace {

constexpr const char* letters_table = "sink_test.dead_letters_test";

template <class Insert, class Dialect>
using LetterSink = redsink::Sink<Account, AccountKey, Insert, redsink::hard_delete, redsink::create_table, Dialect,
                                 redsink::dead_letter<"dead_letters_test">>;

// A dead-letter row as the test compares it.
struct Letter {
    std::int32_t partition;
    std::int64_t offset;
    std::string op;
    std::string column;    // "" for NULL
    std::string sqlstate;  // "" for NULL
    friend auto operator<=>(const Letter&, const Letter&) = default;
};

std::string describe(const std::vector<Letter>& letters) {
    std::string out;
    for (const auto& letter : letters)
        out += fmt::format("{}:{} {} [{}] [{}]\n", letter.partition, letter.offset, letter.op, letter.column,
                           letter.sqlstate);
    return out;
}

std::vector<Letter> letters_of(redsink::pq::Connection& conn, const std::string& target) {
    const auto result = conn.exec(
        "SELECT source_partition, source_offset, op, coalesce(column_name, ''), coalesce(sqlstate, '') FROM " +
            std::string(letters_table) + " WHERE target_table = $1 ORDER BY 1, 2",
        target);
    std::vector<Letter> out;
    for (int row = 0; row < result.rows(); ++row)
        out.push_back({result.as<std::int32_t>(row, 0), result.as<std::int64_t>(row, 1),
                       std::string(result.get(row, 2)), std::string(result.get(row, 3)),
                       std::string(result.get(row, 4))});
    return out;
}

void clear_letters(redsink::pq::Connection& conn, const std::string& target) {
    if (conn.exec("SELECT to_regclass($1)", std::string(letters_table)).is_null(0, 0)) return;
    conn.exec("DELETE FROM " + std::string(letters_table) + " WHERE target_table = $1", target);
}

Letter client_letter(const AccountChange& change, const std::string& column) {
    return {change.position.partition, change.position.offset, std::string(redsink::to_string(change.op)), column, ""};
}

Letter server_letter(const AccountChange& change, const std::string& sqlstate) {
    return {change.position.partition, change.position.offset, std::string(redsink::to_string(change.op)), "",
            sqlstate};
}

}  // namespace

TEMPLATE_TEST_CASE("dead_letter, upsert: refused events go to the dead-letter table, the rest equals the model",
                   "[pg][sink][dead_letter]", redsink::redshift, redsink::postgres) {
    using Sink = LetterSink<redsink::upsert, TestType>;
    const std::string dialect(redsink::to_string(TestType::value));
    const std::string table = "letters_upsert_" + dialect;
    const auto target = qualified(table);
    drop_table(table);
    auto conn = reader();
    clear_letters(conn, target);
    auto stream = random_stream({.seed = 131, .events = 3000, .keys = 300});

    std::vector<Letter> expected;
    std::set<std::size_t> bad;
    // Client refusals: a name that is not UTF-8, a balance of more digits than DECIMAL(12,2).
    for (std::size_t i = 37; i < stream.size(); i += 211) {
        auto& change = stream[i];
        if (redsink::is_delete(change.op)) continue;
        const bool text = (i / 211) % 2 == 0;
        if (text)
            change.row.name = "broken \xC3( " + std::to_string(i);
        else
            change.row.balance = redsink::decimal<12, 2>::from_units(redsink::int128{1'000'000'000'000'000});
        expected.push_back(client_letter(change, text ? "name" : "balance"));
        bad.insert(i);
    }
    // Server refusals (a CHECK on version). The server sees only a key's last event of a batch
    // (the upsert reduction drops the ones before it), so those are the ones planted; among them,
    // events whose key has a good event earlier in the batch, which must then win.
    const auto batch_of = [](std::size_t i) { return i / 500 * 500; };
    const auto last_in_batch = [&](std::size_t j) {
        for (std::size_t k = j + 1; k < std::min(stream.size(), batch_of(j) + 500); ++k)
            if (stream[k].row.id == stream[j].row.id && !bad.contains(k)) return false;
        return true;
    };
    const auto earlier_good = [&](std::size_t j) {
        bool good = false;
        for (std::size_t k = batch_of(j); k < j; ++k)
            if (stream[k].row.id == stream[j].row.id) good = !redsink::is_delete(stream[k].op) && !bad.contains(k);
        return good;
    };
    std::size_t later_refused = 0;
    for (std::size_t i = 120; i < stream.size(); i += 277) {
        const bool wants_earlier = later_refused < 3;
        for (std::size_t j = i; j < std::min(stream.size(), i + 200); ++j) {
            if (redsink::is_delete(stream[j].op) || bad.contains(j) || !last_in_batch(j)) continue;
            if (wants_earlier && !earlier_good(j)) continue;
            later_refused += wants_earlier ? 1 : 0;
            stream[j].row.version = -1;
            expected.push_back(server_letter(stream[j], "23514"));
            bad.insert(j);
            break;
        }
    }
    REQUIRE(later_refused == 3);
    std::sort(expected.begin(), expected.end());

    Positions acknowledged;
    {
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = 500, .trace = sink_trace<Sink>()});
        conn.exec("ALTER TABLE " + target + " ADD CONSTRAINT version_not_negative CHECK (version >= 0)");
        sink.on_commit([&](const Positions& done) { acknowledged = done; });
        write_all(sink, stream);

        Model model(InsertKind::upsert, DeleteKind::hard);
        for (std::size_t i = 0; i < stream.size(); ++i)
            if (!bad.contains(i)) model.apply(stream[i]);
        CHECK(table_rows(conn, target) == model.rows());
        const auto letters = letters_of(conn, target);
        CHECK(describe(letters) == describe(expected));
        const auto stats = sink.stats();
        CHECK(stats.dead_letters == bad.size());
        CHECK(stats.events == stream.size());
        CHECK(stats.events_pending == 0);
        CHECK(acknowledged == last_positions(stream));

        // What a row records: the values as text (bytes that are not UTF-8 as \xNN), the reason
        // without the value; valid JSON.
        const auto first_text = *bad.begin();
        const auto values = conn.exec(
            "SELECT row_values::jsonb ->> 'name', row_values::jsonb ->> 'id', reason, "
            "recorded_at <= now()::timestamp FROM " +
                std::string(letters_table) +
                " WHERE target_table = $1 AND source_partition = $2 AND source_offset = $3",
            target, stream[first_text].position.partition, stream[first_text].position.offset);
        REQUIRE(values.rows() == 1);
        CHECK(values.get(0, 0) == "broken \\xC3( " + std::to_string(first_text));
        CHECK(values.get(0, 1) == std::to_string(stream[first_text].row.id));
        CHECK_THAT(std::string(values.get(0, 2)), Catch::Contains("UTF-8") && !Catch::Contains("broken"));
        CHECK(values.get(0, 3) == "t");
        const auto check = conn.exec("SELECT reason, row_values::jsonb ->> 'version' FROM " +
                                         std::string(letters_table) + " WHERE target_table = $1 AND sqlstate = '23514'",
                                     target);
        REQUIRE(check.rows() > 0);
        CHECK_THAT(std::string(check.get(0, 0)), Catch::Contains("version_not_negative") && !Catch::Contains("-1"));
        CHECK(check.get(0, 1) == "-1");

        // A batch of dead letters only: committed and acknowledged alone.
        auto last = stream.back();
        last.op = redsink::Op::update;
        last.position.offset += 1;
        last.row.name = "\xFF";
        sink.write(last);
        sink.flush();
        CHECK(sink.stats().dead_letters == bad.size() + 1);
        CHECK(acknowledged.at(last.position.partition) == last.position.offset);
        CHECK(table_rows(conn, target) == model.rows());
    }

    // Replayed from the earliest dead-lettered position once the cause is fixed, as
    // docs/dead-letters.md says.
    {
        conn.exec("ALTER TABLE " + target + " DROP CONSTRAINT version_not_negative");
        // The query the docs give: where each partition's replay starts.
        const auto from = conn.exec("SELECT source_partition, MIN(source_offset) FROM " + std::string(letters_table) +
                                        " WHERE target_table = $1 AND sqlstate IS NOT NULL GROUP BY source_partition",
                                    target);
        Positions start;
        for (int row = 0; row < from.rows(); ++row)
            start[from.as<std::int32_t>(row, 0)] = from.as<std::int64_t>(row, 1);
        conn.exec("DELETE FROM " + std::string(letters_table) + " WHERE target_table = $1 AND sqlstate IS NOT NULL",
                  target);
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = 500, .trace = sink_trace<Sink>()});
        for (const auto& change : stream) {
            const auto found = start.find(change.position.partition);
            if (found != start.end() && change.position.offset >= found->second) sink.write(change);
        }
        sink.flush();
        // The server's refusals are written now; the client's stay refused (their values are bad).
        Model model(InsertKind::upsert, DeleteKind::hard);
        for (std::size_t i = 0; i < stream.size(); ++i) {
            if (bad.contains(i) && stream[i].row.version != -1) continue;
            model.apply(stream[i]);
        }
        CHECK(table_rows(conn, target) == model.rows());
        for (const auto& letter : letters_of(conn, target)) CHECK(letter.sqlstate.empty());
    }
}

TEMPLATE_TEST_CASE("dead_letter, append: a key twice against a unique index, and bad values; the rest is appended",
                   "[pg][sink][dead_letter]", redsink::redshift, redsink::postgres) {
    using Sink = LetterSink<redsink::append, TestType>;
    const std::string dialect(redsink::to_string(TestType::value));
    const std::string table = "letters_append_" + dialect;
    const auto target = qualified(table);
    drop_table(table);
    auto conn = reader();
    clear_letters(conn, target);
    auto stream = random_stream({.seed = 133, .events = 1200, .keys = 100000});
    for (std::size_t i = 0; i < stream.size(); ++i) {
        stream[i].op = redsink::Op::create;
        stream[i].row.id = static_cast<std::int64_t>(i);
    }
    std::vector<Letter> expected;
    std::set<std::size_t> bad;
    // Duplicates within a batch (the later one is refused) and of a row committed earlier.
    for (const auto& [first, second] : {std::pair{10, 310}, std::pair{450, 470}, std::pair{100, 900}}) {
        stream[static_cast<std::size_t>(second)].row.id = stream[static_cast<std::size_t>(first)].row.id;
        expected.push_back(server_letter(stream[static_cast<std::size_t>(second)], "23505"));
        bad.insert(static_cast<std::size_t>(second));
    }
    for (const std::size_t i : {5, 333, 1199}) {
        stream[i].row.name = std::string("nul \0 inside", 12);
        expected.push_back(client_letter(stream[i], "name"));
        bad.insert(i);
    }
    std::sort(expected.begin(), expected.end());

    // Two tasks: a key's events share one, whichever task a client refusal goes to.
    Sink sink(test_config(),
              {.schema = sink_schema, .table = table, .batch_rows = 500, .tasks = 2, .trace = sink_trace<Sink>()});
    conn.exec("CREATE UNIQUE INDEX " + table + "_id ON " + target + " (id)");
    Positions acknowledged;
    sink.on_commit([&](const Positions& done) { acknowledged = done; });
    write_all(sink, stream);

    Model model(InsertKind::append, DeleteKind::hard);
    for (std::size_t i = 0; i < stream.size(); ++i)
        if (!bad.contains(i)) model.apply(stream[i]);
    CHECK(table_rows(conn, target) == model.rows());
    CHECK(describe(letters_of(conn, target)) == describe(expected));
    CHECK(sink.stats().dead_letters == bad.size());
    CHECK(acknowledged == last_positions(stream));
    // A NUL byte, which no text column holds, is recorded as the JSON escape for U+0000.
    const auto nul = conn.exec("SELECT strpos(row_values, $3) > 0 FROM " + std::string(letters_table) +
                                   " WHERE target_table = $1 AND source_offset = $2",
                               target, stream[333].position.offset, std::string(R"("name":"nul \u0000 inside")"));
    REQUIRE(nul.rows() == 1);
    CHECK(nul.get(0, 0) == "t");
}

TEST_CASE(
    "dead_letter: more refused rows in a batch than max_refused_rows stops the sink, nothing of the batch "
    "committed",
    "[pg][sink][dead_letter]") {
    using Sink = LetterSink<redsink::upsert, redsink::postgres>;
    const std::string table = "letters_limit";
    const auto target = qualified(table);
    drop_table(table);
    auto conn = reader();
    clear_letters(conn, target);
    auto stream = random_stream({.seed = 137, .events = 400, .keys = 1000});
    for (std::size_t i = 0; i < stream.size(); ++i) {
        stream[i].op = redsink::Op::create;
        stream[i].row.id = static_cast<std::int64_t>(i);
    }
    for (const std::size_t i : {250, 260, 270}) stream[i].row.version = -1;
    Sink sink(test_config(),
              {.schema = sink_schema, .table = table, .batch_rows = 200, .max_refused_rows = 2, .trace = {}});
    conn.exec("ALTER TABLE " + target + " ADD CONSTRAINT version_not_negative CHECK (version >= 0)");
    Positions acknowledged;
    sink.on_commit([&](const Positions& done) { acknowledged = done; });
    try {
        write_all(sink, stream);
        FAIL("three refused rows were taken with max_refused_rows = 2");
    } catch (const redsink::Error& error) {
        CHECK(error.sqlstate() == "23514");
        CHECK_THAT(error.what(), Catch::Contains("max_refused_rows (2)") &&
                                     Catch::Contains("event at " + redsink::to_string(stream[270].position)));
    }
    CHECK(conn.exec("SELECT count(*) FROM " + target).as<int>(0, 0) == 200);
    CHECK(letters_of(conn, target).empty());
    CHECK(acknowledged == last_positions(std::vector<AccountChange>(stream.begin(), stream.begin() + 200)));
}

// ---- The bad-input corpus: every kind of value the client refuses, and rows the server refuses,
// under stop_on_error and under dead_letter, in both dialects.

namespace {

struct Wide {
    BOOST_HANA_DEFINE_STRUCT(Wide, (std::int64_t, id), (std::int64_t, version), (std::string, name),
                             (redsink::varchar<8>, code), (redsink::decimal<12, 2>, amount), (double, ratio),
                             (std::chrono::year_month_day, day), (redsink::timestamp, at), (redsink::json, doc),
                             (std::string, note));
};
using WideKey = redsink::primary_key<"id">;

Wide good_wide(std::int64_t id) {
    using namespace std::chrono;
    Wide row;
    row.id = id;
    row.version = id;
    row.name = "name " + std::to_string(id);
    row.code = redsink::varchar<8>("c" + std::to_string(id % 100));
    row.amount = redsink::decimal<12, 2>::from_units(id * 101);
    row.ratio = 0.5;
    row.day = year_month_day(year(2024), month(5), day(1));
    row.at = redsink::timestamp(sys_days(year_month_day(year(2024), month(5), day(1))) + hours(1));
    row.doc = redsink::json(R"({"n":)" + std::to_string(id) + "}");
    row.note = "ok";
    return row;
}

std::string wide_text(const Wide& row) {
    return fmt::format("{}|{}|{}|{}|{}|{}", row.id, row.version, row.name, row.code.value, cents_text(row.amount.units),
                       row.note);
}

std::vector<std::string> wide_rows(redsink::pq::Connection& conn, const std::string& table) {
    const auto result = conn.exec("SELECT id, version, name, code, amount, note FROM " + table);
    std::vector<std::string> out;
    for (int row = 0; row < result.rows(); ++row) {
        std::string text;
        for (int column = 0; column < result.columns(); ++column)
            text += (column > 0 ? "|" : "") + std::string(result.get(row, column));
        out.push_back(std::move(text));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// One kind of bad input: how it spoils a row (given the stream so far, for a duplicate key), and
// who refuses it: the client (naming `column`) or the server (with `sqlstate`). Event 0 is
// always good.
struct BadKind {
    std::string name;
    std::string column;    // the client's refusal
    std::string sqlstate;  // the server's
    std::function<void(Wide&, const std::vector<redsink::Change<Wide>>&)> spoil;
    bool redshift_only = false;
};

std::vector<BadKind> bad_kinds() {
    using namespace std::chrono;
    return {
        {"text that is not UTF-8", "name", "", [](Wide& row, const auto&) { row.name = "bad \xC3( text"; }},
        {"a NUL byte", "name", "", [](Wide& row, const auto&) { row.name = std::string("nul \0 byte", 10); }},
        {"longer than VARCHAR(8)", "code", "",
         [](Wide& row, const auto&) { row.code = redsink::varchar<8>("123456789"); }},
        {"a decimal of too many digits", "amount", "",
         [](Wide& row, const auto&) { row.amount = redsink::decimal<12, 2>::from_units(redsink::int128{1} << 60); }},
        {"a date not on the calendar", "day", "",
         [](Wide& row, const auto&) { row.day = year_month_day(year(2023), month(2), day(29)); }},
        {"a timestamp after year 9999", "at", "",
         [](Wide& row, const auto&) {
             row.at = redsink::timestamp(sys_days(year_month_day(year(10000), month(1), day(1))));
         }},
        {"JSON that does not parse", "doc", "", [](Wide& row, const auto&) { row.doc = redsink::json("{\"a\": "); }},
        {"NaN (Redshift)", "ratio", "", [](Wide& row, const auto&) { row.ratio = std::nan(""); }, true},
        {"text over 65535 bytes (Redshift)", "note", "",
         [](Wide& row, const auto&) { row.note = std::string(70'000, 'n'); }, true},
        {"a CHECK constraint", "", "23514", [](Wide& row, const auto&) { row.version = -1; }},
        {"a column narrowed under the sink", "", "22001",
         [](Wide& row, const auto&) { row.note = "longer than twelve bytes"; }},
        {"a key twice against a unique index", "", "23505",
         [](Wide& row, const auto& before) { row.id = before.at(0).row.id; }},
    };
}

void prepare_wide(redsink::pq::Connection& conn, const std::string& target) {
    conn.exec("ALTER TABLE " + target + " ADD CONSTRAINT version_not_negative CHECK (version >= 0)");
    conn.exec("ALTER TABLE " + target + " ALTER COLUMN note TYPE VARCHAR(12)");
    conn.exec("CREATE UNIQUE INDEX ON " + target + " (id)");
}

}  // namespace

TEMPLATE_TEST_CASE("the bad-input corpus: stop_on_error names the event; dead_letter keeps exactly the bad events",
                   "[pg][sink][dead_letter]", redsink::redshift, redsink::postgres) {
    const std::string dialect(redsink::to_string(TestType::value));
    const bool redshift = TestType::value == redsink::Dialect::redshift;
    auto conn = reader();
    if (redshift) install_super_stand_in(conn);
    const auto kinds = bad_kinds();

    SECTION("stop_on_error: each kind stops the sink, naming its event; nothing of its batch is written") {
        using Sink = redsink::Sink<Wide, WideKey, redsink::append, redsink::create_table, TestType>;
        const std::string table = "corpus_stop_" + dialect;
        const auto target = qualified(table);
        for (const auto& kind : kinds) {
            if (kind.redshift_only && !redshift) continue;
            INFO(kind.name);
            drop_table(table);
            std::vector<redsink::Change<Wide>> stream;
            for (std::int64_t i = 0; i < 30; ++i) stream.push_back(redsink::created(good_wide(i), {1, 100 + i}));
            kind.spoil(stream[17].row, std::vector<redsink::Change<Wide>>(stream.begin(), stream.begin() + 17));
            Sink sink(test_config(),
                      {.schema = sink_schema, .table = table, .batch_rows = 1000, .trace = sink_trace<Sink>()});
            prepare_wide(conn, target);
            const auto position = redsink::to_string(stream[17].position);
            try {
                for (const auto& change : stream) sink.write(change);
                sink.flush();
                FAIL("the bad event was written");
            } catch (const redsink::BadValue& error) {
                CHECK(kind.sqlstate.empty());
                CHECK(error.column() == kind.column);
                CHECK_THAT(error.what(), Catch::Contains(position));
            } catch (const redsink::Error& error) {
                CHECK(error.sqlstate() == kind.sqlstate);
                CHECK_THAT(error.what(), Catch::Contains("event at " + position));
            }
            CHECK(conn.exec("SELECT count(*) FROM " + target).template as<int>(0, 0) == 0);
        }
    }

    SECTION("dead_letter: the table holds the good events, the dead-letter table exactly the bad ones") {
        using Sink = redsink::Sink<Wide, WideKey, redsink::append, redsink::create_table, TestType,
                                   redsink::dead_letter<"dead_letters_test">>;
        const std::string table = "corpus_letters_" + dialect;
        const auto target = qualified(table);
        drop_table(table);
        clear_letters(conn, target);
        std::vector<redsink::Change<Wide>> stream;
        std::vector<Letter> expected;
        std::set<std::size_t> bad;
        for (std::int64_t i = 0; i < 400; ++i) {
            auto change = redsink::created(good_wide(i), {static_cast<std::int32_t>(i % 3), i / 3});
            // Each kind about a dozen times, spread over the batches.
            const auto slot = static_cast<std::size_t>(i) % 31;
            if (i > 40 && slot < kinds.size() && !(kinds[slot].redshift_only && !redshift)) {
                kinds[slot].spoil(change.row, stream);
                expected.push_back({change.position.partition, change.position.offset, "create", kinds[slot].column,
                                    kinds[slot].sqlstate});
                bad.insert(stream.size());
            }
            stream.push_back(change);
        }
        std::sort(expected.begin(), expected.end());
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = 64, .trace = sink_trace<Sink>()});
        prepare_wide(conn, target);
        Positions acknowledged;
        sink.on_commit([&](const Positions& done) { acknowledged = done; });
        for (const auto& change : stream) sink.write(change);
        sink.flush();

        std::vector<std::string> model;
        for (std::size_t i = 0; i < stream.size(); ++i)
            if (!bad.contains(i)) model.push_back(wide_text(stream[i].row));
        std::sort(model.begin(), model.end());
        CHECK(wide_rows(conn, target) == model);
        CHECK(describe(letters_of(conn, target)) == describe(expected));
        CHECK(sink.stats().dead_letters == bad.size());
        CHECK(sink.stats().events == stream.size());
        CHECK(acknowledged == last_positions(stream));
    }
}

// ---- Refusals outside SQLSTATE classes 22 and 23, and server text that quotes a row's value
// without quotes: a trigger's RAISE.

namespace {

// A trigger on `target` that warns about every row and raises, with the row's name in its text,
// for names starting "refuse" (SQLSTATE `sqlstate`), or for every row when `always`.
void add_raising_trigger(redsink::pq::Connection& conn, const std::string& target, const std::string& sqlstate,
                         bool always = false) {
    const auto function = target + "_refuse";
    conn.exec("CREATE OR REPLACE FUNCTION " + function +
              "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
              "RAISE WARNING 'writing %', NEW.name; "
              "IF " +
              (always ? std::string("true") : std::string("NEW.name LIKE 'refuse%'")) +
              " THEN RAISE EXCEPTION 'test card % refused', NEW.name USING ERRCODE = '" + sqlstate +
              "'; END IF; RETURN NEW; END $$");
    conn.exec("CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON " + target + " FOR EACH ROW EXECUTE FUNCTION " +
              function + "()");
}

// Every text a trace hook saw (statements and notices).
struct TraceTexts {
    std::mutex mutex;
    std::vector<std::string> texts;

    redsink::pq::TraceHook hook() {
        return [this](redsink::pq::TracePoint, std::string_view text) {
            const std::lock_guard lock(mutex);
            texts.emplace_back(text);
        };
    }
    [[nodiscard]] std::size_t holding(const std::string& value) {
        const std::lock_guard lock(mutex);
        return static_cast<std::size_t>(std::count_if(
            texts.begin(), texts.end(), [&](const auto& text) { return text.find(value) != std::string::npos; }));
    }
};

}  // namespace

TEMPLATE_TEST_CASE("a trigger's RAISE quoting a row's value: not in the error, the dead letter, the trace or stats",
                   "[pg][sink][dead_letter][values]", redsink::redshift, redsink::postgres) {
    const std::string dialect(redsink::to_string(TestType::value));
    const std::string card = "refuse 4111-2222-3333-4444";
    auto conn = reader();
    std::vector<AccountChange> stream;
    for (std::int64_t i = 0; i < 40; ++i)
        stream.push_back(redsink::upserted(
            Account{i, i, "name " + std::to_string(i), std::nullopt, redsink::decimal<12, 2>::from_units(i), true},
            {0, i}));
    stream[23].row.name = card;
    const auto position = redsink::to_string(stream[23].position);

    SECTION("stop_on_error: P0001 names the table, SQLSTATE and event; verbatim shows the text") {
        using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::create_table, TestType>;
        const std::string table = "raise_stop_" + dialect;
        const auto target = qualified(table);
        for (const bool verbatim : {false, true}) {
            INFO("verbatim " << verbatim);
            drop_table(table);
            TraceTexts trace;
            Sink sink(test_config(), {.schema = sink_schema,
                                      .table = table,
                                      .batch_rows = 100,
                                      .verbatim_server_text = verbatim,
                                      .trace = sink_trace<Sink>(trace.hook())});
            add_raising_trigger(conn, target, "P0001");
            std::string text;
            try {
                write_all(sink, stream);
                FAIL("the trigger's refusal was not raised");
            } catch (const redsink::Error& error) {
                CHECK(error.sqlstate() == "P0001");
                text = error.what();
            }
            INFO(text);
            CHECK_THAT(text,
                       Catch::Contains(target) && Catch::Contains("P0001") && Catch::Contains("event at " + position));
            const auto stats = sink.stats();
            const auto stats_text = fmt::format("{} {} {} {} {}", stats.events, stats.events_pending,
                                                stats.dead_letters, stats.retries, stats.rows_inserted);
            CHECK(stats_text.find(card) == std::string::npos);
            if (verbatim) {
                CHECK_THAT(text, Catch::Contains("test card " + card + " refused"));
                CHECK(trace.holding("writing " + card) > 0);
            } else {
                CHECK_THAT(text, Catch::Contains("server text not shown"));
                CHECK(text.find("4111") == std::string::npos);
                CHECK(trace.holding("4111") == 0);
                CHECK(trace.holding("WARNING 01000: warning (server text not shown)") > 0);
            }
            CHECK(conn.exec("SELECT count(*) FROM " + target).template as<int>(0, 0) == 0);
        }
    }

    SECTION("dead_letter with SQLSTATE 23514: the reason holds no value") {
        using Sink = LetterSink<redsink::upsert, TestType>;
        const std::string table = "raise_letter_" + dialect;
        const auto target = qualified(table);
        drop_table(table);
        clear_letters(conn, target);
        TraceTexts trace;
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = table, .batch_rows = 100, .trace = sink_trace<Sink>(trace.hook())});
        add_raising_trigger(conn, target, "23514");
        write_all(sink, stream);
        CHECK(describe(letters_of(conn, target)) == describe({server_letter(stream[23], "23514")}));
        const auto reason =
            conn.exec("SELECT reason FROM " + std::string(letters_table) + " WHERE target_table = $1", target);
        REQUIRE(reason.rows() == 1);
        INFO(reason.get(0, 0));
        CHECK(std::string(reason.get(0, 0)).find("4111") == std::string::npos);
        CHECK_THAT(std::string(reason.get(0, 0)), Catch::Contains("check constraint violation"));
        CHECK(trace.holding("4111") == 0);
        CHECK(conn.exec("SELECT count(*) FROM " + target).template as<int>(0, 0) == 39);
    }
}

TEMPLATE_TEST_CASE("dead_letter: a row a trigger refuses with P0001 is dead-lettered, the rest equals the model",
                   "[pg][sink][dead_letter]", redsink::redshift, redsink::postgres) {
    using Sink = LetterSink<redsink::upsert, TestType>;
    const bool redshift = TestType::value == redsink::Dialect::redshift;
    const std::string dialect(redsink::to_string(TestType::value));
    const std::string table = "letters_raise_" + dialect;
    const auto target = qualified(table);
    // The Redshift dialect on the stand-in whose sessions are SERIALIZABLE, as Redshift's are.
    const auto config = redshift ? serializable_config() : test_config();
    redsink::pq::Connection conn(config);
    conn.exec("DROP TABLE IF EXISTS " + target);
    clear_letters(conn, target);
    auto stream = random_stream({.seed = 139, .events = 1500, .keys = 200});

    // Refused rows: a key's last event of its batch (the only one the server sees in upsert mode).
    const auto batch_of = [](std::size_t i) { return i / 250 * 250; };
    const auto last_in_batch = [&](std::size_t j) {
        for (std::size_t k = j + 1; k < std::min(stream.size(), batch_of(j) + 250); ++k)
            if (stream[k].row.id == stream[j].row.id) return false;
        return true;
    };
    std::vector<Letter> expected;
    std::set<std::size_t> bad;
    for (std::size_t i = 40; i < stream.size(); i += 173) {
        for (std::size_t j = i; j < std::min(stream.size(), i + 100); ++j) {
            if (redsink::is_delete(stream[j].op) || !last_in_batch(j)) continue;
            stream[j].row.name = "refuse " + std::to_string(j);
            expected.push_back(server_letter(stream[j], "P0001"));
            bad.insert(j);
            break;
        }
    }
    REQUIRE(bad.size() >= 7);
    std::sort(expected.begin(), expected.end());

    Sink sink(config, {.schema = sink_schema, .table = table, .batch_rows = 250, .trace = sink_trace<Sink>()});
    add_raising_trigger(conn, target, "P0001");
    Positions acknowledged;
    sink.on_commit([&](const Positions& done) { acknowledged = done; });
    write_all(sink, stream);

    Model model(InsertKind::upsert, DeleteKind::hard);
    for (std::size_t i = 0; i < stream.size(); ++i)
        if (!bad.contains(i)) model.apply(stream[i]);
    CHECK(table_rows(conn, target) == model.rows());
    CHECK(describe(letters_of(conn, target)) == describe(expected));
    CHECK(sink.stats().dead_letters == bad.size());
    CHECK(sink.stats().events == stream.size());
    CHECK(acknowledged == last_positions(stream));
}

TEST_CASE("dead_letter: an error every row raises (P0001) stops the sink; nothing uncommitted is acknowledged",
          "[pg][sink][dead_letter]") {
    using Sink = LetterSink<redsink::append, redsink::postgres>;
    const std::string table = "letters_raise_all";
    const auto target = qualified(table);
    drop_table(table);
    auto conn = reader();
    clear_letters(conn, target);
    std::vector<AccountChange> stream;
    for (std::int64_t i = 0; i < 300; ++i)
        stream.push_back(redsink::created(
            Account{i, i, "name " + std::to_string(i), std::nullopt, redsink::decimal<12, 2>::from_units(i), true},
            {0, i}));
    Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 100, .trace = {}});
    Positions acknowledged;
    sink.on_commit([&](const Positions& done) { acknowledged = done; });
    const std::vector<AccountChange> first(stream.begin(), stream.begin() + 100);
    write_all(sink, first);
    REQUIRE(acknowledged == last_positions(first));
    add_raising_trigger(conn, target, "P0001", true);
    try {
        write_all(sink, std::vector<AccountChange>(stream.begin() + 100, stream.end()));
        FAIL("every row was refused, and the sink went on");
    } catch (const redsink::Error& error) {
        CHECK(error.sqlstate() == "P0001");
        CHECK_THAT(error.what(), Catch::Contains(target) && !Catch::Contains("event at"));
    }
    CHECK(conn.exec("SELECT count(*) FROM " + target).as<int>(0, 0) == 100);
    CHECK(letters_of(conn, target).empty());
    CHECK(acknowledged == last_positions(first));
    CHECK(sink.stats().dead_letters == 0);
}
