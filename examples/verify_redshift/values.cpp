// The values: every mapped type at its limits through INSERT and through COPY, and SUPER's
// string limit on the client and on the server. Each value is checked by the server's own parse
// of a text written here (never the library's encoding), bound as a parameter. COPY's own
// specifics are in copy_checks.cpp.
#include "verify_redshift/expected_values.hpp"

namespace verify {

namespace {

using namespace values;

// ---- types/round-trip: every mapped type at its limits ------------------------------------------

struct AllTypes {
    BOOST_HANA_DEFINE_STRUCT(AllTypes, (std::int64_t, id), (bool, flag), (std::int16_t, small), (std::int32_t, medium),
                             (std::int64_t, big), (float, r32), (double, f64), (std::string, s),
                             (redsink::varchar<16>, vc), (redsink::decimal<38, 0>, d38), (redsink::decimal<12, 2>, d12),
                             (std::chrono::year_month_day, day), (redsink::timestamp, ts), (redsink::timestamptz, tstz),
                             (redsink::json, doc), (std::optional<std::int32_t>, o_int), (std::optional<double>, o_f64),
                             (std::optional<std::string>, o_s), (std::optional<redsink::varchar<4>>, o_vc),
                             (std::optional<redsink::decimal<12, 2>>, o_d12),
                             (std::optional<std::chrono::year_month_day>, o_day),
                             (std::optional<redsink::timestamp>, o_ts), (std::optional<redsink::timestamptz>, o_tstz),
                             (std::optional<redsink::json>, o_doc), (std::optional<bool>, o_flag));
};

const std::vector<Column> all_types_columns = {
    {"flag", "BOOLEAN"},
    {"small", "SMALLINT"},
    {"medium", "INTEGER"},
    {"big", "BIGINT"},
    {"r32", "REAL"},
    {"f64", "DOUBLE PRECISION"},
    {"s", "VARCHAR(65535)", Compare::text},
    {"vc", "VARCHAR(65535)", Compare::text},
    {"d38", "DECIMAL(38,0)"},
    {"d12", "DECIMAL(12,2)"},
    {"day", "DATE"},
    {"ts", "TIMESTAMP"},
    {"tstz", "TIMESTAMPTZ"},
    {"doc", "SUPER", Compare::json},
    {"o_int", "INTEGER"},
    {"o_f64", "DOUBLE PRECISION"},
    {"o_s", "VARCHAR(65535)", Compare::text},
    {"o_vc", "VARCHAR(65535)", Compare::text},
    {"o_d12", "DECIMAL(12,2)"},
    {"o_day", "DATE"},
    {"o_ts", "TIMESTAMP"},
    {"o_tstz", "TIMESTAMPTZ"},
    {"o_doc", "SUPER", Compare::json},
    {"o_flag", "BOOLEAN"},
};

// 65,535 bytes of UTF-8: 16,383 four-byte characters and one of three bytes.
std::string longest_string() {
    std::string out;
    for (int i = 0; i < 16383; ++i) out += "\xF0\x9F\x98\x80";  // U+1F600
    out += "\xE2\x9C\x93";                                      // U+2713
    return out;
}

const std::string thirty_eight_nines = "99999999999999999999999999999999999999";

// Escapes, \u escapes with a surrogate pair, raw UTF-8, nesting, every JSON type.
const std::string nested_json =
    R"({"quote":"say \"hi\"","back":"a\\b","nl":"line\nbreak","crlf":"\r\n","tab":"\t","slash":"\/",)"
    R"("uni":"\u00e9\u2713\ud83d\ude00","raw":"caf\u00e9 )"
    "\xE2\x9C\x93 \xF0\x9F\x98\x80"
    R"(","nested":{"list":[1,-2.5,1e10,true,false,null,{"deep":[[["x"]]]}],"empty":{},"none":[]},"n":-7})";

struct RoundTripRow {
    AllTypes row;
    std::vector<Text> expected;  // all_types_columns' order
};

std::vector<RoundTripRow> round_trip_rows() {
    std::vector<RoundTripRow> out;
    {  // the largest values, every optional set
        AllTypes r{};
        r.id = 1;
        r.flag = true;
        r.small = 32767;
        r.medium = 2147483647;
        r.big = 9223372036854775807LL;
        r.r32 = std::numeric_limits<float>::max();
        r.f64 = std::numeric_limits<double>::max();
        r.s = longest_string();
        r.vc = redsink::varchar<16>("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");  // 8 x é
        r.d38 = redsink::decimal<38, 0>(thirty_eight_nines);
        r.d12 = redsink::decimal<12, 2>("9999999999.99");
        r.day = date(9999, 12, 31);
        r.ts = redsink::timestamp(instant(9999, 12, 31, 23, 59, 59, 999999));
        r.tstz = redsink::timestamptz(instant(9999, 12, 31, 23, 59, 59, 999999));
        r.doc = redsink::json(nested_json);
        r.o_int = 2147483647;
        r.o_f64 = 0.1;
        r.o_s = "";
        r.o_vc = redsink::varchar<4>(
            "\xC3\xA9"
            "ab");  // 4 bytes
        r.o_d12 = redsink::decimal<12, 2>("-0.05");
        r.o_day = date(2024, 2, 29);
        r.o_ts = redsink::timestamp(instant(2024, 2, 29, 12, 0, 0, 0));
        r.o_tstz = redsink::timestamptz(instant(2024, 3, 1, 0, 0, 0, 500000));
        r.o_doc = redsink::json("null");
        r.o_flag = false;
        out.push_back({r,
                       {"true",
                        "32767",
                        "2147483647",
                        "9223372036854775807",
                        "340282346638528859811704183484516925440",
                        "1.7976931348623157e308",
                        longest_string(),
                        "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9",
                        thirty_eight_nines,
                        "9999999999.99",
                        "9999-12-31",
                        "9999-12-31 23:59:59.999999",
                        "9999-12-31 23:59:59.999999+00:00",
                        nested_json,
                        "2147483647",
                        "0.1",
                        "",
                        "\xC3\xA9"
                        "ab",
                        "-0.05",
                        "2024-02-29",
                        "2024-02-29 12:00:00",
                        "2024-03-01 01:00:00.5+01:00",
                        "null",
                        "false"}});
    }
    {  // the smallest values, every optional NULL
        AllTypes r{};
        r.id = 2;
        r.flag = false;
        r.small = -32768;
        r.medium = -2147483647 - 1;
        r.big = -9223372036854775807LL - 1;
        r.r32 = std::numeric_limits<float>::lowest();
        r.f64 = std::numeric_limits<double>::lowest();
        r.s = "";
        r.vc = redsink::varchar<16>("");
        r.d38 = redsink::decimal<38, 0>("-" + thirty_eight_nines);
        r.d12 = redsink::decimal<12, 2>("-9999999999.99");
        r.day = date(1, 1, 1);
        r.ts = redsink::timestamp(instant(1, 1, 1, 0, 0, 0, 1));
        r.tstz = redsink::timestamptz(instant(1, 1, 1, 0, 0, 0, 1));
        r.doc = redsink::json("[]");
        out.push_back({r,
                       {"false",
                        "-32768",
                        "-2147483648",
                        "-9223372036854775808",
                        "-340282346638528859811704183484516925440",
                        "-1.7976931348623157e308",
                        "",
                        "",
                        "-" + thirty_eight_nines,
                        "-9999999999.99",
                        "0001-01-01",
                        "0001-01-01 00:00:00.000001",
                        "0001-01-01 00:00:00.000001+00:00",
                        "[]",
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt}});
    }
    {  // the smallest normal numbers, whole seconds, a top-level JSON string
        AllTypes r{};
        r.id = 3;
        r.flag = true;
        r.small = 0;
        r.medium = -1;
        r.big = 0;
        r.r32 = std::numeric_limits<float>::min();  // the smallest normal
        r.f64 = std::numeric_limits<double>::min();
        r.s = "it's \"quoted\", back\\slashed,\nnew\r\nlines\tand tabs, trailing  ";
        r.vc = redsink::varchar<16>("sixteen bytes ok");
        r.d38 = redsink::decimal<38, 0>(0);
        r.d12 = redsink::decimal<12, 2>("0.01");
        r.day = date(1970, 1, 1);
        r.ts = redsink::timestamp(instant(1970, 1, 1, 0, 0, 0, 0));
        r.tstz = redsink::timestamptz(instant(2024, 3, 1, 0, 0, 0, 500000));
        r.doc = redsink::json(R"("just a \"string\" \u00e9")");
        r.o_int = -2147483647 - 1;
        r.o_f64 = -std::numeric_limits<double>::min();
        r.o_s = "\xE2\x9C\x93";
        r.o_d12 = redsink::decimal<12, 2>("9999999999.99");
        r.o_ts = redsink::timestamp(instant(1, 1, 1, 0, 0, 0, 0));
        r.o_doc = redsink::json(R"({"k":[1,{"v":"\u0041\u00df"}]})");
        out.push_back({r,
                       {"true",
                        "0",
                        "-1",
                        "0",
                        "1.17549435082228750796873653722224567781866555677208752150875170627841725945472717285156250e-"
                        "38",
                        "2.2250738585072014e-308",
                        "it's \"quoted\", back\\slashed,\nnew\r\nlines\tand tabs, trailing  ",
                        "sixteen bytes ok",
                        "0",
                        "0.01",
                        "1970-01-01",
                        "1970-01-01 00:00:00",
                        "2024-03-01 01:00:00.5+01:00",
                        R"("just a \"string\" \u00e9")",
                        "-2147483648",
                        "-2.2250738585072014e-308",
                        "\xE2\x9C\x93",
                        std::nullopt,
                        "9999999999.99",
                        std::nullopt,
                        "0001-01-01 00:00:00",
                        std::nullopt,
                        R"({"k":[1,{"v":"\u0041\u00df"}]})",
                        std::nullopt}});
    }
    {  // negative zeros, inexact binary fractions, a top-level array
        AllTypes r{};
        r.id = 4;
        r.flag = false;
        r.small = 1;
        r.medium = 1;
        r.big = 1;
        r.r32 = -0.0f;
        r.f64 = -0.0;
        r.s = "\xF0\x9F\x98\x80 four-byte first, then \xC3\xA9";
        r.vc = redsink::varchar<16>(" spaced ");
        r.d38 = redsink::decimal<38, 0>(-1);
        r.d12 = redsink::decimal<12, 2>("-0.05");
        r.day = date(2000, 2, 29);
        r.ts = redsink::timestamp(instant(2000, 2, 29, 23, 59, 59, 999999));
        r.tstz = redsink::timestamptz(instant(1, 1, 1, 0, 0, 0, 0));
        r.doc = redsink::json(R"([1,"two",null,true,{"three":[3.25]},"a,b\"c"])");
        r.o_int = 0;
        r.o_f64 = 1e-300;
        r.o_s = "NULL";
        r.o_vc = redsink::varchar<4>("\\N");
        r.o_d12 = redsink::decimal<12, 2>(0);
        r.o_day = date(1, 1, 1);
        r.o_tstz = redsink::timestamptz(instant(2024, 7, 1, 12, 30, 0, 1));
        r.o_flag = true;
        out.push_back({r,
                       {"false",
                        "1",
                        "1",
                        "1",
                        "-0",
                        "-0",
                        "\xF0\x9F\x98\x80 four-byte first, then \xC3\xA9",
                        " spaced ",
                        "-1",
                        "-0.05",
                        "2000-02-29",
                        "2000-02-29 23:59:59.999999",
                        "0001-01-01 00:00:00+00:00",
                        R"([1,"two",null,true,{"three":[3.25]},"a,b\"c"])",
                        "0",
                        "1e-300",
                        "NULL",
                        "\\N",
                        "0.00",
                        "0001-01-01",
                        std::nullopt,
                        "2024-07-01 08:30:00.000001-04:00",
                        std::nullopt,
                        "true"}});
    }
    {  // inexact binary fractions
        AllTypes r{};
        r.id = 5;
        r.flag = true;
        r.small = -1;
        r.medium = 123456789;
        r.big = -1234567890123456789LL;
        r.r32 = 0.1f;
        r.f64 = 0.1;
        r.s = "plain";
        r.vc = redsink::varchar<16>("a");
        r.d38 = redsink::decimal<38, 0>("12345678901234567890123456789012345678");
        r.d12 = redsink::decimal<12, 2>("1234.5");
        r.day = date(2024, 12, 31);
        r.ts = redsink::timestamp(instant(2024, 12, 31, 0, 0, 0, 1));
        r.tstz = redsink::timestamptz(instant(2024, 12, 31, 23, 59, 59, 0));
        r.doc = redsink::json("{}");
        r.o_f64 = 1.0 / 3.0;
        out.push_back({r,
                       {"true",
                        "-1",
                        "123456789",
                        "-1234567890123456789",
                        "0.100000001490116119384765625",
                        "0.1",
                        "plain",
                        "a",
                        "12345678901234567890123456789012345678",
                        "1234.50",
                        "2024-12-31",
                        "2024-12-31 00:00:00.000001",
                        "2024-12-31 23:59:59+00:00",
                        "{}",
                        std::nullopt,
                        "0.333333333333333314829616256247390992939472198486328125",
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt,
                        std::nullopt}});
    }
    return out;
}

Outcome round_trip(const Settings& settings, bool s3) {
    if (s3 && !settings.s3) return no_bucket();
    const std::string name = s3 ? "values_round_trip_s3" : "values_round_trip_insert";
    const auto table = fresh_table(settings, name);
    const auto rows = round_trip_rows();
    std::vector<AllTypes> records;
    TableCheck expected(settings, table, all_types_columns);
    for (const auto& row : rows) {
        records.push_back(row.row);
        expected.expect(row.row.id, row.expected);
    }
    auto options = sink_options(settings, name);
    if (s3) options.bulk_load = s3_loader(settings);
    const auto written = write_rows(settings, options, records);
    if (s3) check(written.copies > 0, "the S3 path ran no COPY: the batch went by INSERT");
    if (!s3) check(written.copies == 0, "the INSERT path ran a COPY");
    const auto values = expected.run();
    return settled(settings,
                   fmt::format("{} rows of {} columns by {}: all {} values equal the server's parse of their expected "
                               "text (integer and decimal limits, FLT_MAX/DBL_MAX, smallest normals, -0, years 1 and "
                               "9999 to the microsecond, a 65,535-byte UTF-8 string, a full varchar(16), JSON)",
                               rows.size(), all_types_columns.size() + 1, s3 ? "S3 and COPY" : "INSERT", values),
                   s3 ? "whether COPY reads each value's CSV text into its column as written"
                      : "whether Redshift takes each value's text for its type as written");
}

// ---- SUPER's string limit -----------------------------------------------------------------------

// A JSON document {"s":"<n bytes>"}: ASCII, so bytes and characters agree.
std::string string_of(std::size_t bytes) {
    std::string out;
    out.reserve(bytes);
    for (std::size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>('a' + i % 26));
    return out;
}

std::string document_with(const std::string& text) {
    return R"({"s":")" + text + R"("})";
}

// Whether row `id` holds the string `text` as its document's member "s", byte for byte.
bool holds_string(const Settings& settings, const std::string& table, std::int64_t id, const std::string& text) {
    auto conn = connect(settings);
    const std::string member = settings.stand_in ? "(t.doc ->> 's')" : "CAST(t.doc.s AS VARCHAR(65535))";
    const auto result = conn.exec("SELECT count(*) FROM " + table + " AS t WHERE t.id = CAST($1 AS BIGINT) AND " +
                                      member + " = CAST($2 AS VARCHAR(65535)) AND OCTET_LENGTH(" + member + ") = $3",
                                  id, text, static_cast<std::int64_t>(text.size()));
    return result.as<std::int64_t>(0, 0) == 1;
}

std::int64_t row_count(const Settings& settings, const std::string& table) {
    auto conn = connect(settings);
    return conn.exec("SELECT count(*) FROM " + table).as<std::int64_t>(0, 0);
}

Outcome string_limit_client(const Settings& settings) {
    const std::string name = "super_string_limit_client";
    const auto table = fresh_table(settings, name);
    const auto longest = string_of(65535);
    auto options = sink_options(settings, name);
    check(options.super_string_limit == 65535,
          fmt::format("SinkOptions::super_string_limit defaults to {}, not 65535", options.super_string_limit));
    std::string refusal;
    {
        AppendSink<JsonRow> sink(settings.config, options);
        JsonRow row{};
        row.id = 1;
        row.doc = redsink::json(document_with(longest));
        sink.write(redsink::created(row, redsink::Position{0, 0}));
        sink.flush();
        check(sink.pending_events() == 0, "events still pending after flush()");
        JsonRow over{};
        over.id = 2;
        over.doc = redsink::json(document_with(longest + "z"));
        try {
            sink.write(redsink::created(over, redsink::Position{0, 1}));
            sink.flush();
        } catch (const redsink::BadValue& bad) {
            check(bad.column() == "doc", "BadValue names column " + bad.column() + ", not doc");
            refusal = bad.what();
        } catch (const redsink::Error& error) {
            const std::string what = error.what();
            check(error.kind() == redsink::ErrorKind::bad_data && error.sqlstate().empty() &&
                      what.find("\"doc\"") != std::string::npos,
                  "the 65,536-byte string was not refused by the client as a bad value in column doc: " + what);
            refusal = what;
        }
        check(!refusal.empty(), "a JSON string of 65,536 bytes was taken and written (super_string_limit 65535)");
    }
    check(row_count(settings, table) == 1,
          fmt::format("{} holds {} rows: the refused row reached the table", table, row_count(settings, table)));
    check(holds_string(settings, table, 1, longest), "the 65,535-byte string is not stored intact in row 1");
    return {Status::pass,
            fmt::format("a 65,535-byte JSON string stored intact{}; one of 65,536 refused before sending: {}",
                        settings.stand_in ? " (by the stand-in's JSONB)" : " (by Redshift's JSON_PARSE)", refusal)};
}

Outcome string_limit_server(const Settings& settings) {
    if (settings.stand_in)
        return {Status::needs_redshift,
                "not run: the stand-in's JSONB takes any string; whether JSON_PARSE takes one over 65,535 bytes is "
                "Redshift's answer"};
    const std::string name = "super_string_limit_server";
    const auto table = fresh_table(settings, name);
    const auto text = string_of(65536);
    auto options = sink_options(settings, name);
    options.super_string_limit = 0;
    options.max_attempts = 1;
    AppendSink<JsonRow> sink(settings.config, options);  // a failure to start is the scenario's
    try {
        JsonRow row{};
        row.id = 1;
        row.doc = redsink::json(document_with(text));
        sink.write(redsink::created(row, redsink::Position{0, 0}));
        sink.flush();
    } catch (const redsink::BadValue& bad) {
        throw Failed(std::string("the client refused the value with super_string_limit = 0: ") + bad.what());
    } catch (const redsink::Error& error) {
        check(row_count(settings, table) == 0, "the server refused the batch, yet the table holds rows");
        return {Status::pass, fmt::format("Redshift refuses a 65,536-byte string in SUPER (SQLSTATE {}): {}",
                                          error.sqlstate().empty() ? "none" : error.sqlstate(), error.what())};
    }
    check(row_count(settings, table) == 1, "the sink wrote the row, but the table does not hold exactly one");
    // A string over 65,535 bytes does not fit a VARCHAR to compare it with: its size, as JSON_SIZE
    // measures the stored document, is shown (the document sent was {"s":"<65,536 bytes>"}).
    std::string size;
    try {
        auto conn = connect(settings);
        size = std::string(conn.exec("SELECT JSON_SIZE(doc) FROM " + table).get(0, 0));
    } catch (const std::exception& error) {
        size = std::string("not measured: ") + error.what();
    }
    return {Status::pass, fmt::format("the cluster accepts longer strings: super_string_limit can be raised (a "
                                      "{}-byte document holding a 65,536-byte string was stored; JSON_SIZE: {})",
                                      document_with(text).size(), size)};
}

}  // namespace

void add_value_scenarios(std::vector<Scenario>& out) {
    out.push_back({"types/round-trip-insert",
                   "every mapped type at its limits, and NULLs, through INSERT: each value equals the server's parse "
                   "of its expected text",
                   [](const Settings& s) { return round_trip(s, false); }});
    out.push_back({"types/round-trip-s3",
                   "every mapped type at its limits, and NULLs, through S3 and COPY: each value equals the server's "
                   "parse of its expected text",
                   [](const Settings& s) { return round_trip(s, true); }});
    add_copy_scenarios(out);
    out.push_back({"super/string-limit-client",
                   "a 65,535-byte JSON string is stored; 65,536 bytes is refused by the client before sending",
                   string_limit_client});
    out.push_back({"super/string-limit-server",
                   "with the client's check off, what Redshift answers to a 65,536-byte JSON string",
                   string_limit_server});
}
}  // namespace verify
