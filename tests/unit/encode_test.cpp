#include <redsink/encode.hpp>
#include <redsink/record.hpp>

#include <catch2/catch.hpp>
#include <support/records.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>

// Counts heap allocations, to prove that steady-state encoding makes none.
namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

using redsink::BadValue;
using redsink::ColumnContext;
using redsink::ColumnType;
using redsink::Dialect;
using redsink::ParamBuffer;
using redsink::SqlKind;

namespace {

template <class T>
std::string encoded(const T& value, Dialect dialect = Dialect::redshift) {
    ParamBuffer out;
    redsink::encode_value(value, out, ColumnContext{"col", redsink::column_of<T>::type, dialect});
    return out.is_null(0) ? std::string("NULL") : std::string(out.view(0));
}

template <class T>
std::string refusal(const T& value, Dialect dialect = Dialect::redshift) {
    try {
        (void)encoded(value, dialect);
    } catch (const BadValue& error) {
        CHECK(error.column() == "col");
        CHECK(error.kind() == redsink::ErrorKind::bad_data);
        return error.reason();
    }
    FAIL("the value was accepted");
    return {};
}

redsink::timestamp at(int y, unsigned m, unsigned d, int h, int min, int s, int us) {
    using namespace std::chrono;
    return redsink::timestamp(sys_days(year_month_day(year(y), month(m), day(d))) + hours(h) + minutes(min) +
                              seconds(s) + microseconds(us));
}

}  // namespace

TEST_CASE("numbers and booleans encode as their shortest exact text", "[unit][encode]") {
    CHECK(encoded(true) == "t");
    CHECK(encoded(false) == "f");
    CHECK(encoded(std::int16_t{-32768}) == "-32768");
    CHECK(encoded(std::numeric_limits<std::int32_t>::max()) == "2147483647");
    CHECK(encoded(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
    CHECK(encoded(0.1) == "0.1");
    CHECK(encoded(1.0 / 3.0) == "0.3333333333333333");
    CHECK(encoded(1e300) == "1e+300");
    CHECK(encoded(-0.0) == "-0");
    CHECK(encoded(0.1f) == "0.1");
    CHECK(encoded(5e-324) == "5e-324");
    const double back = std::strtod(encoded(2.0 / 7.0).c_str(), nullptr);
    CHECK(back == 2.0 / 7.0);
}

TEST_CASE("NaN and infinity: written on PostgreSQL, refused on Redshift", "[unit][encode]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(encoded(nan, Dialect::postgres) == "NaN");
    CHECK(encoded(inf, Dialect::postgres) == "Infinity");
    CHECK(encoded(-inf, Dialect::postgres) == "-Infinity");
    CHECK(encoded(std::numeric_limits<float>::infinity(), Dialect::postgres) == "Infinity");
    CHECK_THAT(refusal(nan), Catch::Contains("NaN"));
    CHECK_THAT(refusal(-inf), Catch::Contains("infinite"));
}

TEST_CASE("decimals keep their scale and must fit their precision", "[unit][encode]") {
    using money = redsink::decimal<12, 2>;
    CHECK(encoded(money("1234.5")) == "1234.50");
    CHECK(encoded(money("-0.05")) == "-0.05");
    CHECK(encoded(money("+7")) == "7.00");
    CHECK(encoded(money(42)) == "42.00");
    CHECK(encoded(money(".5")) == "0.50");
    CHECK(encoded(money::from_units(-1)) == "-0.01");
    CHECK(encoded(redsink::decimal<38, 0>("99999999999999999999999999999999999999")) ==
          "99999999999999999999999999999999999999");
    CHECK(encoded(redsink::decimal<38, 38>("-0.12345678901234567890123456789012345678")) ==
          "-0.12345678901234567890123456789012345678");
    CHECK(encoded(redsink::decimal<5, 0>(0)) == "0");
    CHECK_THAT(refusal(redsink::decimal<4, 2>("100")), Catch::Contains("does not fit in DECIMAL(4,2)"));
    CHECK_THAT(refusal(money::from_units(redsink::decimal<12, 2>::pow10(12))), Catch::Contains("DECIMAL(12,2)"));
    CHECK_THROWS_AS(money("1.234"), std::invalid_argument);
    CHECK_THROWS_AS(money("abc"), std::invalid_argument);
    CHECK_THROWS_AS(money(""), std::invalid_argument);
    CHECK_THROWS_AS(money("1.2.3"), std::invalid_argument);
    CHECK_THROWS_AS(money("-"), std::invalid_argument);
    CHECK_THROWS_AS(money("1e5"), std::invalid_argument);
}

TEST_CASE("dates and timestamps encode as ISO text with microseconds", "[unit][encode]") {
    using namespace std::chrono;
    CHECK(encoded(year_month_day(year(2024), month(2), day(29))) == "2024-02-29");
    CHECK(encoded(year_month_day(year(1), month(1), day(1))) == "0001-01-01");
    CHECK(encoded(at(2024, 1, 2, 3, 4, 5, 6)) == "2024-01-02 03:04:05.000006");
    CHECK(encoded(at(1969, 12, 31, 23, 59, 59, 999999)) == "1969-12-31 23:59:59.999999");
    CHECK(encoded(redsink::timestamptz(at(2024, 1, 2, 3, 4, 5, 0).value)) == "2024-01-02 03:04:05.000000+00");
    const auto nanos = sys_days(year_month_day(year(2020), month(6), day(1))) + nanoseconds(1999);
    CHECK(encoded(redsink::timestamp::from(nanos)) == "2020-06-01 00:00:00.000001");
}

TEST_CASE("dates out of range or not on the calendar are refused", "[unit][encode]") {
    using namespace std::chrono;
    CHECK_THAT(refusal(year_month_day(year(2023), month(2), day(29))), Catch::Contains("not a valid calendar date"));
    CHECK_THAT(refusal(year_month_day(year(0), month(1), day(1))), Catch::Contains("outside 1 to 9999"));
    CHECK_THAT(refusal(year_month_day(year(10000), month(1), day(1))), Catch::Contains("year 10000"));
    CHECK_THAT(refusal(at(10000, 1, 1, 0, 0, 0, 0)), Catch::Contains("outside 1 to 9999"));
    CHECK_THAT(refusal(redsink::timestamptz(at(-5, 1, 1, 0, 0, 0, 0).value)), Catch::Contains("year -5"));
    // Found by the fuzzer: at the ends of the clock, days and back overflowed.
    for (const auto micros : {std::numeric_limits<std::int64_t>::min() + 2, std::numeric_limits<std::int64_t>::max()})
        CHECK_THAT(refusal(redsink::timestamp(sys_time<microseconds>(microseconds(micros)))),
                   Catch::Contains("outside 1 to 9999"));
}

TEST_CASE("strings must be UTF-8 without NUL bytes", "[unit][encode]") {
    const std::string ok = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\x89 it's \"q\" \\";
    CHECK(encoded(ok) == ok);
    CHECK(encoded(std::string()) == "");
    CHECK(encoded(std::optional<std::string>{}) == "NULL");
    CHECK_THAT(refusal(std::string("a\0b", 3)), Catch::Contains("NUL byte at byte 1"));
    CHECK_THAT(refusal(std::string("\xC3\x28")), Catch::Contains("not valid UTF-8 at byte 0"));
    CHECK_THAT(refusal(std::string("ab\xC0\xAF")), Catch::Contains("at byte 2"));                  // overlong
    CHECK_THAT(refusal(std::string("\xED\xA0\x80")), Catch::Contains("not valid UTF-8"));          // surrogate
    CHECK_THAT(refusal(std::string("\xF4\x90\x80\x80")), Catch::Contains("not valid UTF-8"));      // > U+10FFFF
    CHECK_THAT(refusal(std::string("\xF8\x88\x80\x80\x80")), Catch::Contains("not valid UTF-8"));  // 5 bytes
    CHECK_THAT(refusal(std::string("12345678\xE2\x82")), Catch::Contains("at byte 8"));            // truncated
    CHECK_THAT(refusal(std::string("\x80")), Catch::Contains("not valid UTF-8"));
}

TEST_CASE("string lengths: bytes on Redshift, characters on PostgreSQL", "[unit][encode]") {
    const redsink::varchar<8> umlauts("\xC3\xA4\xC3\xA4\xC3\xA4\xC3\xA4\xC3\xA4");  // 5 characters, 10 bytes
    CHECK(encoded(umlauts, Dialect::postgres) == umlauts.value);
    CHECK_THAT(refusal(umlauts), Catch::Contains("10 bytes long, longer than its VARCHAR(8)"));
    CHECK_THAT(refusal(redsink::varchar<8>("123456789"), Dialect::postgres),
               Catch::Contains("9 characters long, longer than its VARCHAR(8)"));
    CHECK(encoded(redsink::varchar<8>("12345678")) == "12345678");
    const std::string big(65536, 'x');
    CHECK_THAT(refusal(big), Catch::Contains("65536 bytes long, longer than Redshift's VARCHAR(65535)"));
    CHECK(encoded(big, Dialect::postgres).size() == big.size());
    CHECK(encoded(std::string(65535, 'y')).size() == 65535);
}

TEST_CASE("JSON documents are checked for syntax", "[unit][encode]") {
    CHECK(encoded(redsink::json(R"({"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00"]})")) ==
          R"({"a": [1, -2.5e3, true, null, "x\u00e9\ud83d\ude00"]})");
    CHECK(encoded(redsink::json("  42 ")) == "  42 ");
    CHECK_THAT(refusal(redsink::json("{")), Catch::Contains("not valid JSON"));
    CHECK_THAT(refusal(redsink::json("{'a': 1}")), Catch::Contains("expected a member name"));
    CHECK_THAT(refusal(redsink::json("[1,]")), Catch::Contains("invalid value"));
    CHECK_THAT(refusal(redsink::json("{} x")), Catch::Contains("unexpected text after the document"));
    CHECK_THAT(refusal(redsink::json("01")), Catch::Contains("unexpected text"));
    CHECK_THAT(refusal(redsink::json(R"(["\ud800"])")), Catch::Contains("unpaired high surrogate"));
    CHECK_THAT(refusal(redsink::json("\"tab\there\"")), Catch::Contains("control character"));
    CHECK_THAT(refusal(redsink::json(std::string(600, '[') + std::string(600, ']'))), Catch::Contains("deeper"));
    CHECK(encoded(redsink::json(R"("\u0000")")) == R"("\u0000")");
    CHECK_THAT(refusal(redsink::json(R"("\u0000")"), Dialect::postgres), Catch::Contains("JSONB"));
}

TEST_CASE("a SUPER document's strings stop at 65,535 bytes on Redshift, or at the sink's limit", "[unit][encode]") {
    const auto document = [](std::size_t bytes, const std::string& unit = "x") {
        std::string text = R"({"note":")";
        while (text.size() < bytes + 9) text += unit;
        return redsink::json(text + "\"}");
    };
    const auto with_limit = [](const redsink::json& value, std::size_t limit) {
        ParamBuffer out;
        redsink::encode_value(value, out,
                              ColumnContext{"doc", redsink::column_of<redsink::json>::type, Dialect::redshift, limit});
        return std::string(out.view(0)).size();
    };
    CHECK(encoded(document(65535)).size() == 65535 + 11);
    CHECK_THAT(refusal(document(70000)),
               Catch::Contains("holding a string of 70000 bytes, more than the 65535 Redshift's SUPER takes"));
    // Escapes count as the bytes they stand for: 21,846 "\u20ac" are 65,538 bytes of UTF-8.
    CHECK_THAT(refusal(document(21846 * 6, "\\u20ac")), Catch::Contains("a string of 65538 bytes"));
    // A member's name counts too; PostgreSQL's JSONB has no such limit.
    CHECK_THAT(refusal(redsink::json("{\"" + std::string(70000, 'k') + "\":1}")), Catch::Contains("70000 bytes"));
    CHECK(encoded(document(70000), Dialect::postgres).size() == 70000 + 11);
    CHECK(with_limit(document(70000), 100000) == 70000 + 11);
    CHECK(with_limit(document(70000), 0) == 70000 + 11);
}

TEST_CASE("a bad value's error names table, column and position, never the value", "[unit][encode]") {
    try {
        (void)encoded(std::string("secret-\xFF-value"));
        FAIL("accepted");
    } catch (const BadValue& error) {
        const auto placed = error.at("app.orders", redsink::Position{3, 1042});
        const std::string text = placed.what();
        CHECK(text ==
              "bad value for table app.orders in column \"col\" at partition 3, offset 1042: is not valid "
              "UTF-8 at byte 7");
        CHECK(placed.table() == "app.orders");
        CHECK(placed.position() == redsink::Position{3, 1042});
        CHECK(text.find("secret") == std::string::npos);
    }
}

TEST_CASE("encoding allocates nothing per value once its buffer has grown", "[unit][encode]") {
    using info = redsink::record_info<redsink_test::Everything>;
    std::vector<redsink_test::Everything> rows;
    for (int i = 0; i < 200; ++i) rows.push_back(redsink_test::sample_everything(i));
    ParamBuffer out;
    std::array<ColumnContext, info::size> columns{};
    for (std::size_t i = 0; i < info::size; ++i)
        columns[i] = ColumnContext{info::column_names[i], info::column_types[i], Dialect::redshift};
    const auto encode_all = [&] {
        out.clear();
        for (const auto& row : rows)
            info::for_each(row,
                           [&](auto index, const auto& value) { redsink::encode_value(value, out, columns[index]); });
    };
    encode_all();
    const auto before = allocations.load();
    encode_all();
    encode_all();
    CHECK(allocations.load() - before == 0);
    CHECK(out.size() == rows.size() * info::size);
}

TEST_CASE("COPY text format escapes backslash, newline, carriage return and tab anywhere", "[unit][encode]") {
    // A reference escaper, one character at a time.
    const auto reference = [](std::string_view text) {
        std::string out;
        for (const char c : text) {
            if (c == '\\')
                out += "\\\\";
            else if (c == '\n')
                out += "\\n";
            else if (c == '\r')
                out += "\\r";
            else if (c == '\t')
                out += "\\t";
            else
                out += c;
        }
        return out;
    };
    ParamBuffer params;
    std::vector<std::string> texts{"", "plain", "a\tb", "\\", "x\r\ny"};
    const std::string specials = "\\\n\r\t\x01\x0D\x0E\x1F ~\x7F";
    for (std::size_t length = 1; length < 40; ++length)
        for (std::size_t at = 0; at < length; at += 3) {
            std::string text(length, 'a');
            text[at] = specials[(length + at) % specials.size()];
            texts.push_back(text);
        }
    texts.push_back(std::string(1000, 'z') + "\t" + std::string(7, '\\'));
    for (const auto& text : texts) params.push(text);
    params.push_null();
    std::string out;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        out.clear();
        redsink::append_copy_field(out, params, i);
        INFO("text " << i);
        CHECK(out == reference(texts[i]));
    }
    out.clear();
    redsink::append_copy_field(out, params, texts.size());
    CHECK(out == "\\N");
}
