// What COPY's CSV reading must keep apart: NULL and empty strings, quotes, newlines, time
// formats, JSON into SUPER; and manifests, pg_last_copy_count() and the authorization. Each value
// is checked by the server's own parse of a text written here, bound as a parameter.
#include "verify_redshift/expected_values.hpp"

namespace verify {

namespace {

using namespace values;

// ---- Strings through COPY -----------------------------------------------------------------------

struct TextRow {
    BOOST_HANA_DEFINE_STRUCT(TextRow, (std::int64_t, id), (std::string, text), (std::optional<std::string>, maybe),
                             (std::optional<redsink::varchar<64>>, short_text));
};

const std::vector<Column> text_columns = {{"text", "VARCHAR(65535)", Compare::text},
                                          {"maybe", "VARCHAR(65535)", Compare::text},
                                          {"short_text", "VARCHAR(65535)", Compare::text}};

// Texts that COPY's NULL handling must keep apart from NULL and from each other.
const std::vector<std::string> null_like = {"",  "NULL", "\\N", "null",   "\\0", "\\",
                                            " ", "\"\"", "N",   "<NULL>", "\"",  "0"};

// Texts that trip CSV readers.
const std::vector<std::string> tricky_texts = {"\"",
                                               "\"\"",
                                               "say \"hi\", then go",
                                               "a,b,c",
                                               ",",
                                               "line\nbreak",
                                               "cr\r\nlf",
                                               "lone\rcr",
                                               "\n",
                                               "tab\there",
                                               "\t",
                                               "back\\slash",
                                               "\\",
                                               "ends\\",
                                               " leading",
                                               "trailing ",
                                               "  both  ",
                                               "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
                                               "'single'",
                                               "\"\n,\\\r\n\t",
                                               "ends with a quote\"",
                                               "\"starts with a quote",
                                               "#not a comment",
                                               "plain"};

// id 1..n. `texts` feed the NOT NULL column; the optional columns are NULL every few rows.
std::vector<TextRow> text_stream(std::size_t n, const std::vector<std::string>& texts, std::size_t pad = 0) {
    std::vector<TextRow> rows;
    for (std::size_t i = 1; i <= n; ++i) {
        TextRow row{};
        row.id = static_cast<std::int64_t>(i);
        row.text = texts[i % texts.size()];
        if (pad > 0) row.text += " " + std::to_string(i) + " " + std::string(pad + (i * 31) % 300, 'z') + "\xC3\xA9";
        if (i % 4 != 0) row.maybe = texts[(i * 7 + 3) % texts.size()];
        if (i % 3 != 0) row.short_text = redsink::varchar<64>(texts[(i * 11 + 5) % texts.size()]);
        rows.push_back(std::move(row));
    }
    return rows;
}

Outcome text_scenario(const Settings& settings, const std::string& name, const std::vector<std::string>& texts,
                      std::uint64_t part_bytes, const std::string& what) {
    if (!settings.s3) return no_bucket();
    const auto table = fresh_table(settings, name);
    const auto rows = text_stream(settings.events, texts);
    TableCheck expected(settings, table, text_columns);
    for (const auto& row : rows)
        expected.expect(row.id, {row.text, row.maybe,
                                 row.short_text ? Text(row.short_text->value) : Text()});  // the model: the values
    auto options = sink_options(settings, name);
    options.bulk_load = s3_loader(settings, part_bytes);
    const auto written = write_rows(settings, options, rows);
    check(written.copies > 0, "no COPY ran: every batch went by INSERT");
    const auto values = expected.run();
    return settled(settings,
                   fmt::format("{} rows in {} batches, {} COPYs: {} values ({}) equal the model", rows.size(),
                               written.batches, written.copies, values, what),
                   "whether Redshift's COPY reads the CSV so (the stand-in loads it with PostgreSQL's CSV mode)");
}

// ---- Times through COPY -------------------------------------------------------------------------

struct TimeRow {
    BOOST_HANA_DEFINE_STRUCT(TimeRow, (std::int64_t, id), (redsink::timestamp, ts), (redsink::timestamptz, tstz),
                             (std::chrono::year_month_day, day), (std::optional<redsink::timestamp>, o_ts),
                             (std::optional<redsink::timestamptz>, o_tstz),
                             (std::optional<std::chrono::year_month_day>, o_day));
};

const std::vector<Column> time_columns = {{"ts", "TIMESTAMP"},   {"tstz", "TIMESTAMPTZ"},   {"day", "DATE"},
                                          {"o_ts", "TIMESTAMP"}, {"o_tstz", "TIMESTAMPTZ"}, {"o_day", "DATE"}};

struct Moment {
    int y;
    unsigned mo, d;
    int h, mi, s, us;  // us < 0: whole seconds, written without a fraction
};

// The expected text, written from the parts (not from the value).
std::string timestamp_text(const Moment& m) {
    auto text = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", m.y, m.mo, m.d, m.h, m.mi, m.s);
    if (m.us >= 0) text += fmt::format(".{:06}", m.us);
    return text;
}

sys_time<microseconds> moment_time(const Moment& m) {
    return instant(m.y, m.mo, m.d, m.h, m.mi, m.s, std::max(m.us, 0));
}

Moment moment(std::size_t i) {
    static const std::vector<Moment> special = {{1, 1, 1, 0, 0, 0, 1},
                                                {9999, 12, 31, 23, 59, 59, 999999},
                                                {1, 1, 1, 0, 0, 0, -1},
                                                {9999, 12, 31, 23, 59, 59, -1},
                                                {2024, 2, 29, 12, 0, 0, 500000},
                                                {1970, 1, 1, 0, 0, 0, 0},
                                                {1969, 12, 31, 23, 59, 59, 999999},
                                                {2000, 1, 1, 0, 0, 0, 999999},
                                                {1582, 10, 10, 10, 10, 10, 1}};
    if (i < special.size()) return special[i];
    const int fractions[] = {1, 999999, 0, -1, 500000, 123456};
    return {1 + static_cast<int>((i * 37) % 9999),
            static_cast<unsigned>(1 + i % 12),
            static_cast<unsigned>(1 + (i * 5) % 28),
            static_cast<int>(i % 24),
            static_cast<int>((i * 7) % 60),
            static_cast<int>((i * 13) % 60),
            i % 2 == 0 ? fractions[(i / 2) % 6] : static_cast<int>((i * 7919) % 1'000'000)};
}

Outcome time_scenario(const Settings& settings) {
    if (!settings.s3) return no_bucket();
    const std::string name = "copy_timeformat";
    const auto table = fresh_table(settings, name);
    TableCheck expected(settings, table, time_columns);
    std::vector<TimeRow> rows;
    for (std::size_t i = 0; i < settings.events; ++i) {
        const auto a = moment(i);
        const auto b = moment(i + 3);
        TimeRow row{};
        row.id = static_cast<std::int64_t>(i + 1);
        row.ts = redsink::timestamp(moment_time(a));
        row.tstz = redsink::timestamptz(moment_time(b));
        row.day = date(b.y, b.mo, b.d);
        std::vector<Text> texts = {timestamp_text(a),
                                   timestamp_text(b) + "+00:00",
                                   fmt::format("{:04}-{:02}-{:02}", b.y, b.mo, b.d),
                                   std::nullopt,
                                   std::nullopt,
                                   std::nullopt};
        if (i % 3 != 0) {
            row.o_ts = redsink::timestamp(moment_time(b));
            texts[3] = timestamp_text(b);
        }
        if (i % 4 != 1) {
            row.o_tstz = redsink::timestamptz(moment_time(a));
            texts[4] = timestamp_text(a) + "+00";
        }
        if (i % 5 != 2) {
            row.o_day = date(a.y, a.mo, a.d);
            texts[5] = fmt::format("{:04}-{:02}-{:02}", a.y, a.mo, a.d);
        }
        rows.push_back(row);
        expected.expect(row.id, std::move(texts));
    }
    auto options = sink_options(settings, name);
    options.bulk_load = s3_loader(settings);
    const auto written = write_rows(settings, options, rows);
    check(written.copies > 0, "no COPY ran: every batch went by INSERT");
    const auto values = expected.run();
    return settled(settings,
                   fmt::format("{} rows in {} batches, {} COPYs: {} timestamp, timestamptz and date values (years 1 "
                               "and 9999, .000001 and .999999, whole seconds, NULLs) equal the model",
                               rows.size(), written.batches, written.copies, values),
                   "whether COPY's TIMEFORMAT 'auto' reads microseconds and +00 offsets so");
}

// ---- JSON documents through COPY into SUPER -----------------------------------------------------

const std::vector<Column> json_columns = {{"doc", "SUPER", Compare::json}, {"o_doc", "SUPER", Compare::json}};

const std::vector<std::string> json_documents = {
    R"({"q":"say \"hi\", ok"})",
    R"({"nl":"line\nbreak\r\n","tab":"a\tb","cr":"\r"})",
    R"({"u":"\u00e9\u2713\ud83d\ude00","raw":"caf)"
    "\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"
    R"("})",
    R"({"nest":{"a":[1,[2,[3,{"b":null}]]],"e":{},"l":[]}})",
    R"(["a,b","\"","\\","\\N","NULL","",null])",
    R"({"esc":"\/\b\f\n\r\t\\\"","key with \"quotes\"":1})",
    R"("a top-level \"string\"")",
    R"(12.5)",
    R"(true)",
    R"({"big":12345678901234567,"neg":-0.001,"exp":1.5e300})",
    R"({})",
    R"([])",
    "{\n  \"pretty\": [1,\n 2],\t\"x\" : \"y\"\r\n}",
};

Outcome json_scenario(const Settings& settings) {
    if (!settings.s3) return no_bucket();
    const std::string name = "copy_super_from_csv";
    const auto table = fresh_table(settings, name);
    TableCheck expected(settings, table, json_columns);
    std::vector<JsonRow> rows;
    for (std::size_t i = 1; i <= settings.events; ++i) {
        JsonRow row{};
        row.id = static_cast<std::int64_t>(i);
        const auto& doc = json_documents[i % json_documents.size()];
        row.doc = redsink::json(doc);
        Text o_doc;
        if (i % 5 == 0)
            o_doc = "null";  // JSON's null, not SQL's NULL
        else if (i % 3 != 0)
            o_doc = json_documents[(i * 7 + 2) % json_documents.size()];
        if (o_doc) row.o_doc = redsink::json(*o_doc);
        rows.push_back(row);
        expected.expect(row.id, {doc, o_doc});
    }
    auto options = sink_options(settings, name);
    options.bulk_load = s3_loader(settings);
    const auto written = write_rows(settings, options, rows);
    check(written.copies > 0, "no COPY ran: every batch went by INSERT");
    const auto values = expected.run();
    return settled(settings,
                   fmt::format("{} rows in {} batches, {} COPYs: {} SUPER values (quotes, escaped newlines, \\u "
                               "escapes, nesting, scalars, JSON null apart from NULL) equal JSON_PARSE of the model",
                               rows.size(), written.batches, written.copies, values),
                   "whether COPY's CSV mode takes JSON text into SUPER as JSON_PARSE does");
}

// ---- Manifests, pg_last_copy_count, authorization -----------------------------------------------

Outcome manifest_scenario(const Settings& settings) {
    if (!settings.s3) return no_bucket();
    const std::string name = "copy_manifest";
    const auto table = fresh_table(settings, name);
    // Rows long enough that every batch (200 rows, or the whole stream when shorter) passes 4,096
    // bytes of CSV more than once.
    const auto pad = 9000 / std::clamp<std::size_t>(settings.events, 1, 200);
    const auto rows = text_stream(settings.events, tricky_texts, pad);
    TableCheck expected(settings, table, text_columns);
    for (const auto& row : rows)
        expected.expect(row.id, {row.text, row.maybe, row.short_text ? Text(row.short_text->value) : Text()});
    auto options = sink_options(settings, name);
    options.bulk_load = s3_loader(settings, 4096);
    const auto written = write_rows(settings, options, rows);
    check(written.copies > 0, "no COPY ran: every batch went by INSERT");
    check(written.manifests > 0,
          fmt::format("{} COPYs, none through a manifest: with part_bytes 4096 the batches should be cut in parts",
                      written.copies));
    const auto values = expected.run();
    return settled(
        settings,
        fmt::format("{} rows in {} batches, {} COPYs of which {} through a manifest (parts of 4,096 bytes of "
                    "CSV): {} values equal the model",
                    rows.size(), written.batches, written.copies, written.manifests, values),
        "whether Redshift reads the manifest and loads every part, counted by pg_last_copy_count()");
}

Outcome last_copy_count_scenario(const Settings& settings) {
    if (!settings.s3) return no_bucket();
    const std::string name = "copy_last_copy_count";
    const auto table = fresh_table(settings, name);
    const std::size_t batch_rows = std::max<std::size_t>(1, settings.events / 8);
    const auto rows = text_stream(settings.events, tricky_texts);
    TableCheck expected(settings, table, text_columns);
    for (const auto& row : rows)
        expected.expect(row.id, {row.text, row.maybe, row.short_text ? Text(row.short_text->value) : Text()});
    auto options = sink_options(settings, name, batch_rows);
    options.bulk_load = s3_loader(settings);
    const auto written = write_rows(settings, options, rows);
    check(written.copies >= 2 || rows.size() <= batch_rows,
          fmt::format("{} COPYs for {} rows in batches of {}", written.copies, rows.size(), batch_rows));
    const auto values = expected.run();
    return settled(settings,
                   fmt::format("{} rows in {} batches, {} COPYs inside the sink's transactions, each count checked by "
                               "the loader against the rows sent: {} values equal the model",
                               rows.size(), written.batches, written.copies, values),
                   "pg_last_copy_count() after a COPY into the temporary stage inside a transaction (the stand-in "
                   "counts its own COPY FROM STDIN)");
}

Outcome authorization_scenario(const Settings& settings) {
    if (!settings.s3) return no_bucket();
    if (settings.stand_in)
        return {Status::needs_redshift,
                "not run: the stand-in does not authorize a COPY (IAM_ROLE or access keys with or without "
                "SESSION_TOKEN, REGION)"};
    const std::string name = "copy_authorization";
    const auto table = fresh_table(settings, name);
    const auto rows = text_stream(50, tricky_texts);
    TableCheck expected(settings, table, text_columns);
    for (const auto& row : rows)
        expected.expect(row.id, {row.text, row.maybe, row.short_text ? Text(row.short_text->value) : Text()});
    auto options = sink_options(settings, name);
    options.bulk_load = s3_loader(settings);
    const auto written = write_rows(settings, options, rows);
    check(!written.copy_statements.empty(), "no COPY from S3 was sent");
    const auto& statement = written.copy_statements.front();
    const bool role = statement.find(" IAM_ROLE '") != std::string::npos;
    const bool keys = statement.find(" ACCESS_KEY_ID '") != std::string::npos;
    const bool token = statement.find(" SESSION_TOKEN '") != std::string::npos;
    check(role == !settings.iam_role.empty(),
          settings.iam_role.empty() ? "the COPY used IAM_ROLE, but none was given"
                                    : "REDSINK_VERIFY_IAM_ROLE was given, but the COPY did not use IAM_ROLE");
    check(role || keys, "the COPY names neither IAM_ROLE nor ACCESS_KEY_ID");
    for (const auto& sent : written.copy_statements)
        check(!(keys || token) || sent.find("SECRET_ACCESS_KEY '<redacted>'") != std::string::npos,
              "a traced COPY shows its secret access key: it should read <redacted>");
    expected.run();
    const auto region = statement.find(" REGION '");
    std::string how;
    if (role)
        how = "IAM_ROLE " + settings.iam_role;
    else
        how = token ? "access keys with a session token (temporary credentials)"
                    : "access keys without a session token (long-term keys: the server's statement log keeps them)";
    return {Status::pass, fmt::format("{} COPYs authorized with {}{}; the traced statements show secrets as "
                                      "<redacted>; {} rows equal the model",
                                      written.copies, how,
                                      region == std::string::npos ? ", no REGION" : ", with REGION", rows.size())};
}

}  // namespace

void add_copy_scenarios(std::vector<Scenario>& out) {
    out.push_back({"copy/null-and-empty", "COPY keeps NULL apart from \"\", \"NULL\", \"\\N\", \"\\0\" and the like",
                   [](const Settings& s) {
                       return text_scenario(s, "copy_null_and_empty", null_like, 0,
                                            "NULL, empty and NULL-like strings apart");
                   }});
    out.push_back({"copy/quotes-newlines",
                   "COPY reads quotes, commas, newlines, CR LF, tabs, backslashes, edge spaces and UTF-8 as written",
                   [](const Settings& s) {
                       return text_scenario(s, "copy_quotes_newlines", tricky_texts, 0,
                                            "quotes, commas, newlines, tabs, backslashes, spaces, UTF-8");
                   }});
    out.push_back({"copy/timeformat",
                   "COPY reads timestamps and timestamptz with microseconds (years 1 to 9999) and dates as written",
                   time_scenario});
    out.push_back(
        {"copy/super-from-csv", "COPY loads JSON text from CSV into SUPER as JSON_PARSE reads it", json_scenario});
    out.push_back(
        {"copy/manifest", "batches cut in parts of 4 KB load through a manifest, every row once", manifest_scenario});
    out.push_back({"copy/last-copy-count",
                   "several COPYs inside the sink's transactions, each checked against pg_last_copy_count()",
                   last_copy_count_scenario});
    out.push_back({"copy/authorization", "COPY authorizes with IAM_ROLE or the client's keys, secrets redacted",
                   authorization_scenario});
}

}  // namespace verify
