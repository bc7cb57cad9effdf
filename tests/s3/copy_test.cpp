// Redshift's bulk path (COPY from S3) end to end, against the local S3 server and the PostgreSQL
// stand-in: the objects read back by an independent CSV reader (Python's csv module), the table
// against the reference model, the faults, and every statement through the grammar check.
//
// The stand-in (docs/testing.md): PostgreSQL cannot COPY from s3://, so CopyOptions::run_copy
// logs the real statement (secrets redacted) for scripts/check-redshift-sql, downloads every
// object the COPY loads (the one object, or each part its manifest lists), decompresses each (zstd
// or gzip, as the statement says, with the test's own readers of libzstd and zlib), turns
// each NULL field (a lone NUL byte, NULL AS '\0') into an unquoted empty field, and sends them
// with one COPY ... FROM STDIN (FORMAT csv), whose default NULL is exactly that field (a quoted ""
// stays an empty string). Its row count stands for pg_last_copy_count(). The tests that touch
// the files run for both compressions (a GENERATE); the others with the default, zstd.
#include "s3/support.hpp"

#include <redsink/s3/copy.hpp>
#include <redsink/sink.hpp>

#include <zlib.h>
#include <zstd.h>
#include <support/keeping.hpp>
#include <support/sink.hpp>
#include <support/statement_log.hpp>
#include <support/stream.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rs3 = redsink::s3;
using namespace redsink_test;
using namespace redsink_test::s3;
using namespace std::chrono_literals;

namespace {

// gunzip, written for the test with zlib's inflate (the writer uses deflate): exactly one complete
// gzip stream, nothing after it. Runs on the tasks' threads (the stand-in), where Catch's
// assertions may not: it throws instead.
std::string gunzip(const std::string& gz) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 32) != Z_OK) throw std::runtime_error("inflateInit2 failed");
    std::string out;
    char buffer[1 << 15];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buffer);
        zs.avail_out = sizeof buffer;
        status = inflate(&zs, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            inflateEnd(&zs);
            throw std::runtime_error("the object is not a complete gzip stream");
        }
        out.append(buffer, sizeof buffer - zs.avail_out);
    }
    const bool trailing = zs.avail_in != 0;
    inflateEnd(&zs);
    if (trailing) throw std::runtime_error("bytes after the object's gzip stream");
    return out;
}

// unzstd, written for the test with libzstd's decompression: exactly one complete zstd frame
// (its content checksum checked), nothing after it. Throws, as gunzip.
std::string unzstd(const std::string& zst) {
    const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!context) throw std::runtime_error("ZSTD_createDCtx failed");
    ZSTD_inBuffer in{zst.data(), zst.size(), 0};
    std::string out;
    char buffer[1 << 15];
    for (std::size_t left = 1; left != 0;) {
        ZSTD_outBuffer chunk{buffer, sizeof buffer, 0};
        left = ZSTD_decompressStream(context.get(), &chunk, &in);
        if (ZSTD_isError(left) != 0u)
            throw std::runtime_error(std::string("the object is not a zstd frame: ") + ZSTD_getErrorName(left));
        out.append(buffer, chunk.pos);
        if (left != 0 && in.pos == in.size && chunk.pos < sizeof buffer)
            throw std::runtime_error("the object's zstd frame is incomplete");
    }
    if (in.pos != in.size) throw std::runtime_error("bytes after the object's zstd frame");
    // The frame header's descriptor, after the 4-byte magic number: bit 2 is Content_Checksum_flag
    // (RFC 8878, 3.1.1.1.1).
    if (zst.size() < 5 || (static_cast<unsigned char>(zst[4]) & 0x04u) == 0)
        throw std::runtime_error("the object's zstd frame has no content checksum");
    return out;
}

// An object's CSV text, decompressed as `compression` says.
std::string decompress(const std::string& bytes, rs3::Compression compression) {
    return compression == rs3::Compression::zstd ? unzstd(bytes) : gunzip(bytes);
}

// Every object the sink deletes, downloaded just before (ClientOptions::on_delete), and every
// COPY the stand-in ran. Filled on the tasks' threads, checked on the test's.
struct Capture {
    std::mutex mutex;
    int leaks = 0;                                         // statements shown with a secret in them
    std::map<std::string, std::string> objects;            // key -> bytes (compressed CSV, or a manifest's JSON)
    std::vector<std::string> copied_keys;                  // what each COPY's FROM named: an object or a manifest
    std::vector<std::vector<std::string>> copied_objects;  // the objects each COPY loaded
    std::vector<bool> manifests;                           // whether each COPY named a manifest
    std::vector<std::string> statements;                   // as shown (redacted)
};

// The stand-in COPY: see the file's comment. Checks on the way that the shown statement holds no
// secret and that the object holds the rows the loader says it sent.
rs3::CopyRunner stand_in(Capture& capture, std::vector<std::string> secrets) {
    return [&capture, secrets](redsink::pq::Connection& conn, const rs3::CopyCommand& command) -> std::uint64_t {
        log_redshift_statement(command.shown);
        log_redshift_statement("SELECT pg_last_copy_count()");
        for (const auto& secret : secrets)
            if (command.shown.find(secret) != std::string_view::npos) {
                const std::lock_guard lock(capture.mutex);
                ++capture.leaks;
            }
        rs3::Client client(test_options());
        // A manifest must be there when the COPY runs (what it lists: the test reads it with Python).
        if (command.manifest) (void)client.get_object(command.key);
        if (command.objects.empty() ||
            (!command.manifest && (command.objects.size() != 1 || command.objects.front() != command.key)))
            throw std::runtime_error("a COPY of one object names another, or a manifest");
        std::string fields;
        for (const auto& object : command.objects)
            for (const char c : decompress(client.get_object(object), command.compression))
                if (c != '\0') fields.push_back(c);
        std::string sql = "COPY " + std::string(command.table) + " (";
        for (std::size_t i = 0; i < command.columns.size(); ++i) sql += (i ? ", " : "") + command.columns[i];
        sql += ") FROM STDIN (FORMAT csv)";
        // The stand-in's own statement is PostgreSQL's, not the dialect's: kept from the trace (and
        // so from the grammar check).
        auto trace = conn.trace();
        conn.set_trace({});
        std::size_t copied = 0;
        try {
            copied = conn.copy_from_stdin(sql, fields);
        } catch (const redsink::Error& error) {
            conn.set_trace(std::move(trace));
            if (error.retryable()) throw;
            // As Redshift reports a load error: SQLSTATE XX000, no row named.
            throw redsink::Error(redsink::ErrorKind::other, "XX000",
                                 "Load into table '" + std::string(command.table) +
                                     "' failed.  Check 'sys_load_error_detail' system table for details.");
        }
        conn.set_trace(std::move(trace));
        const std::lock_guard lock(capture.mutex);
        capture.copied_keys.emplace_back(command.key);
        capture.copied_objects.emplace_back(command.objects.begin(), command.objects.end());
        capture.manifests.push_back(command.manifest);
        capture.statements.emplace_back(command.shown);
        return copied;
    };
}

rs3::CopyOptions test_copy_options(Capture& capture, const std::string& prefix, std::size_t min_rows,
                                   rs3::Compression compression = rs3::Compression::zstd) {
    auto client = test_options();
    client.on_delete = [&capture](std::string_view key) {
        rs3::Client reader(test_options());
        auto bytes = reader.get_object(key);
        const std::lock_guard lock(capture.mutex);
        capture.objects.emplace(std::string(key), std::move(bytes));
    };
    return {.client = client,
            .prefix = prefix,
            .min_rows = min_rows,
            .compression = compression,
            .run_copy = stand_in(capture, {s3_env("REDSINK_TEST_S3_SECRET_KEY")})};
}

std::vector<std::string> keys_under(const std::string& prefix) {
    rs3::Client client(test_options());
    std::vector<std::string> keys;
    for (const auto& object : client.list_objects(prefix)) keys.push_back(object.key);
    return keys;
}

// The fields of each record of a compressed CSV object, as Python's csv module reads them: nullopt
// for NULL. A gzip object goes to Python as it is (Python's gzip module reads it); a zstd one, which
// Python's standard library cannot read, decompressed by the test's unzstd.
std::vector<std::vector<std::optional<std::string>>> python_read(const std::string& object,
                                                                 rs3::Compression compression) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto in = dir / ("redsink-copy-test-" + std::to_string(::getpid()) + ".csv.object");
    const auto out = dir / ("redsink-copy-test-" + std::to_string(::getpid()) + ".txt");
    {
        std::ofstream file(in, std::ios::binary);
        file << (compression == rs3::Compression::zstd ? unzstd(object) : object);
    }
    const auto command = "/usr/bin/python3 " + std::string(REDSINK_SOURCE_DIR) + "/tests/s3/read_csv.py " +
                         in.string() + " " + out.string();
    REQUIRE(std::system(command.c_str()) == 0);
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::ifstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::optional<std::string>> fields;
        std::istringstream words(line);
        for (std::string word; words >> word;) {
            if (word == "N") {
                fields.emplace_back(std::nullopt);
                continue;
            }
            REQUIRE(word[0] == 'V');
            std::string text;
            for (std::size_t i = 1; i + 1 < word.size(); i += 2)
                text.push_back(static_cast<char>(std::stoi(word.substr(i, 2), nullptr, 16)));
            fields.emplace_back(std::move(text));
        }
        rows.push_back(std::move(fields));
    }
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return rows;
}

// The entries of a manifest, as Python's json module reads them: "URL mandatory" (or "URL optional").
std::vector<std::string> python_manifest(const std::string& json) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto in = dir / ("redsink-copy-test-" + std::to_string(::getpid()) + ".manifest");
    const auto out = dir / ("redsink-copy-test-" + std::to_string(::getpid()) + ".entries");
    {
        std::ofstream file(in, std::ios::binary);
        file << json;
    }
    const auto command = "/usr/bin/python3 " + std::string(REDSINK_SOURCE_DIR) + "/tests/s3/read_manifest.py " +
                         in.string() + " " + out.string();
    REQUIRE(std::system(command.c_str()) == 0);
    std::vector<std::string> entries;
    std::ifstream lines(out);
    for (std::string line; std::getline(lines, line);) entries.push_back(line);
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return entries;
}

// Values that trip CSV writers: quotes, delimiters, newlines, tabs, backslashes, the NULL marker
// of other formats, UTF-8, empty strings, leading and trailing spaces.
struct Tricky {
    BOOST_HANA_DEFINE_STRUCT(Tricky, (std::int64_t, id), (std::string, text), (std::optional<std::string>, maybe),
                             (redsink::decimal<12, 2>, amount), (redsink::timestamp, at), (redsink::timestamptz, at_tz),
                             (std::chrono::year_month_day, day), (std::optional<std::int64_t>, parent), (bool, flag));
};

const std::vector<std::string> tricky_texts = {"",
                                               "plain",
                                               "\"",
                                               "\"\"",
                                               "say \"hi\", then go",
                                               "a,b,c",
                                               "line\nbreak",
                                               "cr\r\nlf",
                                               "tab\there",
                                               "back\\slash \\N \\0",
                                               "\\N",
                                               "NULL",
                                               " spaced ",
                                               "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
                                               "'single'",
                                               "\x01\x1f"};

Tricky tricky(std::int64_t id) {
    using namespace std::chrono;
    Tricky row;
    row.id = id;
    const auto n = static_cast<std::size_t>(id);
    row.text = tricky_texts[n % tricky_texts.size()];
    if (id % 3 != 0) row.maybe = tricky_texts[(n * 7 + 3) % tricky_texts.size()];
    row.amount = redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>((id % 2 ? -1 : 1) * id * 12345));
    row.at = redsink::timestamp(sys_days(year_month_day(year(2024), month(2), day(29))) + hours(id % 24) +
                                minutes(id % 60) + seconds(7) + microseconds(id * 11 % 1'000'000));
    row.at_tz = redsink::timestamptz(row.at.value + hours(1));
    row.day = year_month_day(year(1 + static_cast<int>(id) % 9999), month(12), day(31));
    if (id % 4 != 0) row.parent = -id;
    row.flag = id % 2 == 0;
    return row;
}

// The text each field of a Tricky row must hold, written here from the values, not by the encoders.
std::vector<std::optional<std::string>> tricky_fields(const Tricky& row) {
    const auto two = [](long long v) { return fmt::format("{:02}", v); };
    const auto time_text = [&](redsink::timestamp t) {
        using namespace std::chrono;
        const auto day_point = floor<days>(t.value);
        const year_month_day ymd(day_point);
        const hh_mm_ss clock(t.value - day_point);
        return fmt::format("{:04}-{}-{} {}:{}:{}.{:06}", static_cast<int>(ymd.year()),
                           two(static_cast<unsigned>(ymd.month())), two(static_cast<unsigned>(ymd.day())),
                           two(clock.hours().count()), two(clock.minutes().count()), two(clock.seconds().count()),
                           clock.subseconds().count());
    };
    std::vector<std::optional<std::string>> out;
    out.emplace_back(std::to_string(row.id));
    out.emplace_back(row.text);
    out.emplace_back(row.maybe);
    out.emplace_back(cents_text(row.amount.units));
    out.emplace_back(time_text(row.at));
    out.emplace_back(time_text(redsink::timestamp(row.at_tz.value)) + "+00");
    out.emplace_back(fmt::format("{:04}-12-31", static_cast<int>(row.day.year())));
    out.emplace_back(row.parent ? std::optional<std::string>(std::to_string(*row.parent)) : std::nullopt);
    out.emplace_back(row.flag ? "t" : "f");
    return out;
}

// The stand-in loaded the objects' bytes: the table holds every value, empty strings and NULLs apart.
void check_tricky_table(const std::string& table, const std::vector<Tricky>& rows) {
    auto conn = reader();
    const auto result = conn.exec("SELECT id, text, maybe, maybe IS NULL FROM " + qualified(table) + " ORDER BY id");
    REQUIRE(static_cast<std::size_t>(result.rows()) == rows.size());
    for (int i = 0; i < result.rows(); ++i) {
        const auto& row = rows[static_cast<std::size_t>(i)];
        INFO("id " << row.id);
        CHECK(std::string(result.get(i, 0)) == std::to_string(row.id));
        CHECK(std::string(result.get(i, 1)) == row.text);
        CHECK((std::string(result.get(i, 3)) == "t") == !row.maybe.has_value());
        if (row.maybe) CHECK(std::string(result.get(i, 2)) == *row.maybe);
    }
}

// What the trace saw, on the tasks' threads: secrets (never), and the INSERTs of the small batches.
struct Traced {
    std::atomic<int> secrets{0};
    std::atomic<int> inserts{0};
};

template <class Sink>
redsink::pq::TraceHook trace_checking(Traced& traced) {
    return sink_trace<Sink>([&traced](redsink::pq::TracePoint point, std::string_view sql) {
        for (const auto& secret : {s3_env("REDSINK_TEST_S3_SECRET_KEY")})
            if (sql.find(secret) != std::string_view::npos) ++traced.secrets;
        if (point == redsink::pq::TracePoint::sending && sql.starts_with("INSERT INTO") &&
            sql.find("VALUES") != std::string_view::npos)
            ++traced.inserts;
    });
}

}  // namespace

TEST_CASE("the COPY statement and the CSV fields", "[s3_copy]") {
    const std::vector<std::string> columns = {R"("redsink_op")", R"("id")"};
    const rs3::CopyAuthorization keys{.keys = {.access_key_id = "AKIDEXAMPLE",
                                               .secret_access_key = "wJalrXUtnFEMI/K7MDENG",
                                               .session_token = "FQoGZXIvYXdzEXAMPLETOKEN"}};
    const auto shown =
        rs3::copy_sql(R"("redsink_stage")", columns, "loads", "redsink/t/k.csv.zst", "eu-west-1", keys, true);
    CHECK(
        shown ==
        R"(COPY "redsink_stage" ("redsink_op", "id") FROM 's3://loads/redsink/t/k.csv.zst' ACCESS_KEY_ID 'AKIDEXAMPLE' )"
        R"(SECRET_ACCESS_KEY '<redacted>' SESSION_TOKEN '<redacted>' REGION 'eu-west-1' FORMAT AS CSV ZSTD )"
        R"(NULL AS '\0' DATEFORMAT 'YYYY-MM-DD' TIMEFORMAT 'auto' ROUNDEC STATUPDATE OFF COMPUPDATE OFF)");
    log_redshift_statement(shown);
    const auto sent =
        rs3::copy_sql(R"("redsink_stage")", columns, "loads", "redsink/t/k.csv.zst", "eu-west-1", keys, false);
    CHECK_THAT(sent,
               Catch::Contains("SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG' SESSION_TOKEN 'FQoGZXIvYXdzEXAMPLETOKEN'"));
    const auto role = rs3::copy_sql(R"("redsink_stage")", columns, "loads", "k", "eu-west-1",
                                    {.iam_role = "arn:aws:iam::123456789012:role/redsink-copy"}, false);
    CHECK_THAT(role, Catch::Contains("FROM 's3://loads/k' IAM_ROLE 'arn:aws:iam::123456789012:role/redsink-copy' "
                                     "REGION") &&
                         !Catch::Contains("ACCESS_KEY_ID"));
    log_redshift_statement(role);
    // A batch in parts: FROM names the manifest, and MANIFEST follows the authorization; gzip: GZIP
    // in ZSTD's place.
    const auto manifest = rs3::copy_sql(R"("redsink_stage")", columns, "loads", "redsink/t/k.manifest", "eu-west-1",
                                        keys, true, rs3::CopyFrom::manifest, rs3::Compression::gzip);
    CHECK(
        manifest ==
        R"(COPY "redsink_stage" ("redsink_op", "id") FROM 's3://loads/redsink/t/k.manifest' ACCESS_KEY_ID 'AKIDEXAMPLE' )"
        R"(SECRET_ACCESS_KEY '<redacted>' SESSION_TOKEN '<redacted>' MANIFEST REGION 'eu-west-1' FORMAT AS CSV GZIP )"
        R"(NULL AS '\0' DATEFORMAT 'YYYY-MM-DD' TIMEFORMAT 'auto' ROUNDEC STATUPDATE OFF COMPUPDATE OFF)");
    log_redshift_statement(manifest);
    const auto role_manifest =
        rs3::copy_sql(R"("redsink_stage")", columns, "loads", "k.manifest", "",
                      {.iam_role = "arn:aws:iam::123456789012:role/redsink-copy"}, false, rs3::CopyFrom::manifest);
    CHECK_THAT(role_manifest, Catch::Contains("IAM_ROLE 'arn:aws:iam::123456789012:role/redsink-copy' MANIFEST "
                                              "FORMAT AS CSV ZSTD NULL AS"));
    log_redshift_statement(role_manifest);
    CHECK(rs3::object_suffix(rs3::Compression::zstd) == ".csv.zst");
    CHECK(rs3::object_suffix(rs3::Compression::gzip) == ".csv.gz");
    const std::vector<std::string> parts = {"redsink/t/k-p000001.csv.zst", "redsink/t/k-p000002.csv.zst"};
    CHECK(rs3::manifest_json("loads", parts) ==
          R"({"entries":[{"url":"s3://loads/redsink/t/k-p000001.csv.zst","mandatory":true},)"
          R"({"url":"s3://loads/redsink/t/k-p000002.csv.zst","mandatory":true}]})");

    std::string out;
    rs3::append_csv_field(out, nullptr, {});
    out += ',';
    rs3::append_csv_field(out, "", "");
    out += ',';
    rs3::append_csv_field(out, "a\"b\"\"", "a\"b\"\"");
    CHECK(out == std::string("\0,\"\",\"a\"\"b\"\"\"\"\"", 15));

    // A connection scrubs the secrets it was given from traces and errors.
    redsink::pq::Connection conn(test_config());
    std::vector<std::string> traced;
    conn.set_trace([&](redsink::pq::TracePoint, std::string_view sql) { traced.emplace_back(sql); });
    conn.add_secret("hunter2-secret");
    try {
        conn.exec("SELECT 'hunter2-secret' FROM no_such_table_here");
        FAIL("the statement succeeded");
    } catch (const redsink::Error& error) {
        CHECK_THAT(error.what(), !Catch::Contains("hunter2-secret") && Catch::Contains("<redacted>"));
    }
    REQUIRE_FALSE(traced.empty());
    for (const auto& sql : traced) CHECK_THAT(sql, !Catch::Contains("hunter2-secret"));
}

TEST_CASE("every uploaded object, read by Python's csv module, holds the batch's values", "[s3_copy]") {
    using Sink = redsink::Sink<Tricky, redsink::primary_key<"id">, redsink::append, redsink::ignore_deletes,
                               redsink::create_table, redsink::redshift>;
    const std::string table = "s3_copy_values";
    const auto compression = GENERATE(rs3::Compression::zstd, rs3::Compression::gzip);
    INFO("compression " << rs3::compression_name(compression));
    drop_table(table);
    Capture capture;
    Traced traced;
    auto loader = rs3::copy_loader(test_copy_options(capture, unique_prefix("copy-values"), 1, compression));
    std::vector<Tricky> rows;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 40,
                                  .bulk_load = loader,
                                  .trace = trace_checking<Sink>(traced)});
        for (std::int64_t id = 1; id <= 100; ++id) {
            rows.push_back(tricky(id));
            sink.write({redsink::Op::create, rows.back(), {0, id}});
        }
        sink.flush();
        CHECK(sink.stats().acknowledged.at(0) == 100);
    }
    // Three batches (40, 40, 20), each one object, COPYed then deleted.
    REQUIRE(capture.copied_keys.size() == 3);
    REQUIRE(capture.objects.size() == 3);
    CHECK(keys_under(loader->root()).empty());
    std::size_t next = 0;
    for (const auto& key : capture.copied_keys) {
        INFO("object " << key);
        CHECK_THAT(key,
                   Catch::StartsWith(loader->root()) && Catch::EndsWith(std::string(rs3::object_suffix(compression))));
        REQUIRE(capture.objects.contains(key));
        for (const auto& fields : python_read(capture.objects.at(key), compression)) {
            REQUIRE(next < rows.size());
            INFO("row id " << rows[next].id);
            CHECK(fields == tricky_fields(rows[next]));
            ++next;
        }
    }
    CHECK(next == rows.size());
    CHECK(traced.secrets == 0);
    CHECK(capture.leaks == 0);
    CHECK(capture.manifests == std::vector<bool>{false, false, false});  // one object each: no manifest
    for (const auto& statement : capture.statements)
        CHECK_THAT(statement,
                   Catch::Contains(fmt::format(" FORMAT AS CSV {} NULL AS ", rs3::copy_keyword(compression))));
    check_tricky_table(table, rows);
}

TEST_CASE("a batch whose CSV passes part_bytes: parts and a manifest, one COPY, every object read back", "[s3_copy]") {
    using Sink = redsink::Sink<Tricky, redsink::primary_key<"id">, redsink::append, redsink::ignore_deletes,
                               redsink::create_table, redsink::redshift>;
    const std::string table = "s3_copy_parts";
    const auto compression = GENERATE(rs3::Compression::zstd, rs3::Compression::gzip);
    INFO("compression " << rs3::compression_name(compression));
    drop_table(table);
    Capture capture;
    Traced traced;
    auto options = test_copy_options(capture, unique_prefix("copy-parts"), 1, compression);
    options.part_bytes = 1000;  // a Tricky row is some 100 to 200 bytes of CSV
    auto loader = rs3::copy_loader(options);
    std::vector<Tricky> rows;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 200,
                                  .bulk_load = loader,
                                  .trace = trace_checking<Sink>(traced)});
        for (std::int64_t id = 1; id <= 200; ++id) {
            rows.push_back(tricky(id));
            sink.write({redsink::Op::create, rows.back(), {0, id}});
        }
        sink.flush();
        CHECK(sink.stats().acknowledged.at(0) == 200);
    }
    // One batch, one COPY, which named the manifest.
    REQUIRE(capture.copied_keys.size() == 1);
    REQUIRE(capture.manifests == std::vector<bool>{true});
    const auto manifest = capture.copied_keys.front();
    const auto parts = capture.copied_objects.front();
    const auto bucket = s3_env("REDSINK_TEST_S3_BUCKET");
    CHECK_THAT(manifest, Catch::StartsWith(loader->root()) && Catch::EndsWith(".manifest"));
    REQUIRE(parts.size() >= 10);
    CHECK_THAT(capture.statements.front(),
               Catch::Contains("FROM 's3://" + bucket + "/" + manifest + "' ACCESS_KEY_ID '") &&
                   Catch::Contains("' MANIFEST REGION '" + s3_env("REDSINK_TEST_S3_REGION") + "' FORMAT AS CSV " +
                                   std::string(rs3::copy_keyword(compression))));
    // Every object, the manifest included, was downloaded by the seam before its deletion; there
    // was no other, and none is left.
    REQUIRE(capture.objects.size() == parts.size() + 1);
    REQUIRE(capture.objects.contains(manifest));
    CHECK(keys_under(loader->root()).empty());
    // The manifest, read by Python's json module: exactly the parts, in order, each mandatory.
    std::vector<std::string> expected;
    for (const auto& key : parts) expected.push_back("s3://" + bucket + "/" + key + " mandatory");
    CHECK(python_manifest(capture.objects.at(manifest)) == expected);
    // Each part a complete zstd frame (or gzip stream) of whole rows, cut once its CSV reached part_bytes; read by
    // Python's csv module, the parts in order hold the batch's rows in order, value by value.
    std::size_t next = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto& key = parts[i];
        INFO("part " << key);
        CHECK_THAT(key, Catch::StartsWith(loader->root()) &&
                            Catch::EndsWith(fmt::format("-p{:06}{}", i + 1, rs3::object_suffix(compression))));
        REQUIRE(capture.objects.contains(key));
        const auto& object = capture.objects.at(key);
        const auto csv_bytes = decompress(object, compression).size();
        if (i + 1 < parts.size()) CHECK(csv_bytes >= options.part_bytes);
        CHECK(csv_bytes < options.part_bytes + 400);  // past part_bytes by less than a row
        const auto records = python_read(object, compression);
        CHECK_FALSE(records.empty());
        for (const auto& fields : records) {
            REQUIRE(next < rows.size());
            INFO("row id " << rows[next].id);
            CHECK(fields == tricky_fields(rows[next]));
            ++next;
        }
    }
    CHECK(next == rows.size());
    CHECK(traced.secrets == 0);
    CHECK(capture.leaks == 0);
    check_tricky_table(table, rows);
}

// A PUT in the server's request log: its key and when it came and ended (ms).
struct LoggedPut {
    std::string url;
    double start = 0;
    double end = 0;
};

std::vector<LoggedPut> logged_puts(std::string_view fragment) {
    const std::regex url(R"re("url":"([^"]*)")re"), start(R"re("start_ms":([0-9.e+-]+))re"),
        end(R"re("end_ms":([0-9.e+-]+))re");
    std::vector<LoggedPut> out;
    for (const auto& line : logged_requests(fragment)) {
        if (line.find(R"("method":"PUT")") == std::string::npos) continue;
        std::smatch u, s, e;
        REQUIRE(std::regex_search(line, u, url));
        REQUIRE(std::regex_search(line, s, start));
        REQUIRE(std::regex_search(line, e, end));
        out.push_back({u[1].str(), std::stod(s[1].str()), std::stod(e[1].str())});
    }
    return out;
}

// The most requests of `puts` the server held at one time.
std::size_t most_at_once(const std::vector<LoggedPut>& puts) {
    std::size_t most = 0;
    for (const auto& at : puts) {
        std::size_t held = 0;
        for (const auto& other : puts) held += other.start <= at.start && at.start < other.end ? 1 : 0;
        most = std::max(most, held);
    }
    return most;
}

TEST_CASE("a batch's parts upload while the next is written, upload_concurrency at a time, the manifest after them",
          "[s3_copy]") {
    using Sink = redsink::Sink<Tricky, redsink::primary_key<"id">, redsink::append, redsink::ignore_deletes,
                               redsink::create_table, redsink::redshift>;
    const std::size_t concurrency = GENERATE(1, 3);
    INFO("upload_concurrency " << concurrency);
    const std::string table = "s3_copy_parts_at_once";
    drop_table(table);
    Capture capture;
    // The test server holds each PUT under this prefix 150 ms: uploads that overlap show in its log.
    auto options = test_copy_options(capture, unique_prefix("slow-put-parts"), 1);
    options.part_bytes = 1000;
    options.upload_concurrency = concurrency;
    auto loader = rs3::copy_loader(options);
    std::vector<Tricky> rows;
    {
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 80, .bulk_load = loader});
        for (std::int64_t id = 1; id <= 80; ++id) {
            rows.push_back(tricky(id));
            sink.write({redsink::Op::create, rows.back(), {0, id}});
        }
        sink.flush();
        CHECK(sink.stats().acknowledged.at(0) == 80);
    }
    REQUIRE(capture.manifests == std::vector<bool>{true});
    const auto parts = capture.copied_objects.front();
    REQUIRE(parts.size() >= 6);
    std::vector<LoggedPut> part_puts;
    std::optional<LoggedPut> manifest_put;
    for (auto& put : logged_puts(loader->root())) {
        if (put.url.find(".manifest") != std::string::npos) {
            CHECK_FALSE(manifest_put);
            manifest_put = put;
        } else {
            part_puts.push_back(put);
        }
    }
    // Every part uploaded once; never more than upload_concurrency at a time, and as many whenever
    // the writer is ahead (it is: writing a part takes microseconds, each upload 150 ms).
    CHECK(part_puts.size() == parts.size());
    CHECK(most_at_once(part_puts) == concurrency);
    // The manifest only after every part was stored.
    REQUIRE(manifest_put);
    for (const auto& put : part_puts) CHECK(put.end <= manifest_put->start);
    // The parts, read back before their deletion, in order, hold the batch; the table the same.
    REQUIRE(capture.objects.size() == parts.size() + 1);
    std::size_t next = 0;
    for (const auto& key : parts)
        for (const auto& fields : python_read(capture.objects.at(key), rs3::Compression::zstd)) {
            REQUIRE(next < rows.size());
            CHECK(fields == tricky_fields(rows[next++]));
        }
    CHECK(next == rows.size());
    CHECK(keys_under(loader->root()).empty());
    check_tricky_table(table, rows);
}

TEST_CASE(
    "a part refused while others upload: the batch fails naming its key, every object stored is deleted, "
    "nothing acknowledged, no file left",
    "[s3_copy]") {
    using Sink = redsink::Sink<Tricky, redsink::primary_key<"id">, redsink::append, redsink::ignore_deletes,
                               redsink::create_table, redsink::redshift>;
    const std::string table = "s3_copy_part_refused";
    drop_table(table);
    Capture capture;
    // The test server refuses part 3 of a batch under this prefix (403) and holds every other PUT
    // 150 ms, so parts 1, 2 and 4 are in flight when part 3's answer comes.
    auto options = test_copy_options(capture, unique_prefix("slow-put-refuse-part-3"), 1);
    options.part_bytes = 1000;
    options.upload_concurrency = 4;
    const auto temp = std::filesystem::temp_directory_path() / ("redsink-parts-" + std::to_string(::getpid()));
    std::filesystem::create_directories(temp);
    options.temp_directory = temp;
    // Each key the sink deletes (part 3 among them: it is listed before its PUT, whose answer might
    // have been lost after the object was stored).
    std::vector<std::string> deleted;
    std::mutex deleted_mutex;
    options.client.on_delete = [&](std::string_view key) {
        const std::lock_guard lock(deleted_mutex);
        deleted.emplace_back(key);
    };
    auto loader = rs3::copy_loader(options);
    {
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 80, .bulk_load = loader});
        try {
            for (std::int64_t id = 1; id <= 80; ++id) sink.write({redsink::Op::create, tricky(id), {0, id}});
            sink.flush();
            FAIL("the batch was written");
        } catch (const std::exception& error) {
            INFO(error.what());
            CHECK_THAT(error.what(), Catch::Contains("AccessDenied") && Catch::Contains("-p000003.csv.zst"));
        }
        CHECK(sink.stats().acknowledged.empty());
    }
    // Part 3 was refused once, not retried, while other parts were in flight; the sink waited for
    // them, then deleted every key it had listed; nothing is left in the bucket or in the temporary
    // directory; no COPY ran.
    const auto puts = logged_puts(loader->root());
    const auto part_3 = [](const auto& text) { return text.find("-p000003") != std::string::npos; };
    CHECK(std::count_if(puts.begin(), puts.end(), [&](const LoggedPut& put) { return part_3(put.url); }) == 1);
    CHECK(most_at_once(puts) >= 2);
    CHECK(deleted.size() >= 4);
    CHECK(deleted.size() >= puts.size());
    CHECK(std::count_if(deleted.begin(), deleted.end(), part_3) == 1);
    CHECK(capture.copied_keys.empty());
    CHECK(keys_under(loader->root()).empty());
    CHECK(std::filesystem::is_empty(temp));
    std::filesystem::remove_all(temp);
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).as<std::int64_t>(0, 0) == 0);
}

TEST_CASE("CopyOptions::part_bytes 0 and upload_concurrency 0 are refused", "[s3_copy]") {
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-part-zero"), 1);
    options.part_bytes = 0;
    CHECK_THROWS_WITH(rs3::copy_loader(options), Catch::Contains("CopyOptions::part_bytes is 0"));
    options.part_bytes = 1000;
    options.upload_concurrency = 0;
    CHECK_THROWS_WITH(rs3::copy_loader(options), Catch::Contains("CopyOptions::upload_concurrency is 0"));
}

TEST_CASE("CopyOptions::compression_level out of its compression's range is refused", "[s3_copy]") {
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-level"), 1);
    options.compression_level = 20;
    CHECK_THROWS_WITH(rs3::copy_loader(options), Catch::Contains(" to 19 for zstd (0: its default)"));
    options.compression_level = -5;  // a fast level
    CHECK_NOTHROW(rs3::copy_loader(options));
    options.compression = rs3::Compression::gzip;
    options.compression_level = 10;
    CHECK_THROWS_WITH(rs3::copy_loader(options), Catch::Contains("compression_level must be 1 to 9 for gzip"));
    options.compression_level = -1;
    CHECK_THROWS_WITH(rs3::copy_loader(options), Catch::Contains("compression_level must be 1 to 9 for gzip"));
    options.compression_level = 9;
    CHECK_NOTHROW(rs3::copy_loader(options));
}

TEST_CASE("upserts and deletes through S3 leave the model's table; small batches still INSERT", "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_model";
    // The default part_bytes (one object a batch), and one that cuts most batches into parts; zstd
    // with both, gzip with parts.
    const auto [part_bytes, compression] = GENERATE(
        Catch::Generators::table<std::uint64_t, rs3::Compression>({{std::uint64_t{128} << 20, rs3::Compression::zstd},
                                                                   {std::uint64_t{700}, rs3::Compression::zstd},
                                                                   {std::uint64_t{700}, rs3::Compression::gzip}}));
    INFO("part_bytes " << part_bytes << ", compression " << rs3::compression_name(compression));
    drop_table(table);
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-model"), 60, compression);
    options.part_bytes = part_bytes;
    auto loader = rs3::copy_loader(options);
    const auto stream = random_stream({.seed = 31, .events = 3000, .keys = 400});
    Traced traced;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 150,
                                  .tasks = 2,
                                  .bulk_load = loader,
                                  .trace = trace_checking<Sink>(traced)});
        // Full batches (150 events each) reduce to more rows than min_rows and COPY; the flushes at
        // uneven points leave smaller ones, which INSERT.
        std::size_t i = 0;
        for (const auto& change : stream) {
            sink.write(change);
            if (++i % 700 == 0 || i % 1300 == 0) sink.flush();
        }
        sink.flush();
        CHECK(sink.stats().acknowledged == last_positions(stream));
    }
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(capture.copied_keys.size() >= 5);
    CHECK(traced.inserts >= 1);
    CHECK(traced.secrets == 0);
    CHECK(capture.leaks == 0);
    // Every object and manifest each COPY read was downloaded before its deletion, and none is left.
    std::size_t uploaded = 0;
    std::size_t with_manifest = 0;
    for (std::size_t i = 0; i < capture.copied_keys.size(); ++i) {
        const auto& objects = capture.copied_objects[i];
        CHECK(capture.manifests[i] == (objects.size() > 1));
        uploaded += objects.size() + (capture.manifests[i] ? 1 : 0);
        with_manifest += capture.manifests[i] ? 1 : 0;
        for (const auto& key : objects) CHECK(capture.objects.contains(key));
        CHECK(capture.objects.contains(capture.copied_keys[i]));
    }
    CHECK(capture.objects.size() == uploaded);
    if (part_bytes < 1000)
        CHECK(with_manifest >= 3);
    else
        CHECK(with_manifest == 0);
    CHECK(keys_under(loader->root()).empty());
    for (const auto& statement : capture.statements)
        CHECK_THAT(statement,
                   Catch::StartsWith(R"(COPY "redsink_stage" ("redsink_op", "redsink_keep", "id", "version")"));
}

// Each COPY the stand-in ran, with when it began and ended (ms since the Unix epoch, the server
// log's clock), after a pause that stands for a cluster's COPY.
struct TimedCopy {
    std::string key;
    double start = 0;
    double end = 0;
};

double epoch_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The batch number in a key: "...t000-000000000007.csv.zst" -> "000000000007".
std::string batch_of(const std::string& key) {
    static const std::regex number(R"(t[0-9]{3}-([0-9]{12}))");
    std::smatch match;
    if (!std::regex_search(key, match, number)) return {};
    return match[1].str();
}

TEST_CASE("a task's next batch is uploaded while the batch before it is in its transaction, once; the model's table",
          "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const bool ahead = GENERATE(true, false);
    INFO("stage_ahead " << ahead);
    const std::string table = "s3_copy_ahead";
    drop_table(table);
    Capture capture;
    // The test server holds each PUT under this prefix 150 ms; each COPY takes 300 ms.
    auto options = test_copy_options(capture, unique_prefix("slow-put-ahead"), 1);
    options.stage_ahead = ahead;
    std::vector<TimedCopy> copies;
    std::mutex copies_mutex;
    options.run_copy = [real = options.run_copy, &copies, &copies_mutex](redsink::pq::Connection& conn,
                                                                         const rs3::CopyCommand& command) {
        const auto start = epoch_ms();
        std::this_thread::sleep_for(300ms);
        const auto loaded = real(conn, command);
        const std::lock_guard lock(copies_mutex);
        copies.push_back({std::string(command.key), start, epoch_ms()});
        return loaded;
    };
    auto loader = rs3::copy_loader(options);
    const auto stream = random_stream({.seed = 47, .events = 700, .keys = 200});
    {
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 100, .bulk_load = loader});
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        CHECK(sink.stats().acknowledged == last_positions(stream));
    }
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    // Every batch was uploaded once (a batch staged ahead is not uploaded again), under a key of
    // its own, and loaded by one COPY.
    REQUIRE(copies.size() == 7);
    const auto puts = logged_puts(loader->root());
    REQUIRE(puts.size() == copies.size());
    std::map<std::string, LoggedPut> put_of;
    for (const auto& put : puts) put_of.emplace(batch_of(put.url), put);
    REQUIRE(put_of.size() == copies.size());
    // With stage_ahead, batch n + 1's PUT begins while batch n's COPY runs (well before it ends);
    // without, after it ended.
    for (std::size_t i = 1; i < copies.size(); ++i) {
        const auto number = batch_of(copies[i].key);
        INFO("batch " << number << " after " << batch_of(copies[i - 1].key));
        REQUIRE(put_of.contains(number));
        const auto& put = put_of.at(number);
        if (ahead)
            CHECK(put.start < copies[i - 1].end - 100);
        else
            CHECK(put.start > copies[i - 1].end - 20);
    }
    CHECK(capture.objects.size() == copies.size());  // each downloaded just before its deletion
    CHECK(keys_under(loader->root()).empty());
}

TEST_CASE("the batch before fails for good: the batch staged ahead of it is deleted, nothing acknowledged after it",
          "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_ahead_failed";
    drop_table(table);
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-ahead-failed"), 1);
    // The first COPY takes 300 ms (the next batch is staged meanwhile), then reports a count that
    // is not the rows sent: a fault, not retried.
    std::atomic<int> calls{0};
    options.run_copy = [real = options.run_copy, &calls](redsink::pq::Connection& conn,
                                                         const rs3::CopyCommand& command) -> std::uint64_t {
        if (++calls > 1) return real(conn, command);
        std::this_thread::sleep_for(300ms);
        return real(conn, command) - 1;
    };
    auto loader = rs3::copy_loader(options);
    const auto stream = random_stream({.seed = 53, .events = 300, .keys = 100});
    {
        Sink sink(test_config(), {.schema = sink_schema, .table = table, .batch_rows = 100, .bulk_load = loader});
        int callbacks = 0;
        sink.on_commit([&](const redsink::Positions&) { ++callbacks; });
        try {
            for (const auto& change : stream) sink.write(change);
            sink.flush();
            FAIL("the batches were written");
        } catch (const redsink::Error& error) {
            CHECK_THAT(error.what(), Catch::Contains("(pg_last_copy_count()), but the batch sent"));
        }
        CHECK(callbacks == 0);
        CHECK(sink.stats().acknowledged.empty());
    }
    CHECK(calls == 1);
    // Batch 2 was uploaded while batch 1's COPY ran (two PUTs, each batch's own key), and deleted
    // when batch 1 failed, as batch 1's was: nothing is left under the sink's prefix, nothing after
    // batch 2 was uploaded, the table is empty.
    const auto puts = logged_puts(loader->root());
    REQUIRE(puts.size() == 2);
    CHECK(batch_of(puts[0].url) != batch_of(puts[1].url));
    CHECK(capture.objects.size() == 2);
    CHECK(keys_under(loader->root()).empty());
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).get(0, 0) == std::string("0"));
}

TEST_CASE("kept values through S3: the keep column travels in the file, the stored values stay", "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_keep";
    drop_table(table);
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-keep"), 20);
    const auto stream = keeping_stream(41, 1500, DeleteKind::hard);
    Traced traced;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 60,
                                  .bulk_load = rs3::copy_loader(options),
                                  .trace = trace_checking<Sink>(traced)});
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        CHECK(sink.stats().acknowledged == last_positions(stream));
    }
    KeepModel model(DeleteKind::hard);
    for (const auto& change : stream) model.apply(change);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(capture.copied_keys.size() >= 5);
    // Some file carried keep texts ('0' and '1' per column, in the second field), others NULL.
    std::size_t kept = 0;
    for (const auto& [key, object] : capture.objects)
        for (const auto& fields : python_read(object, options.compression)) {
            REQUIRE(fields.size() == 8);
            if (fields[1]) {
                CHECK(fields[1]->size() == 6);
                CHECK(fields[1]->find_first_not_of("01") == std::string::npos);
                ++kept;
            }
        }
    CHECK(kept > 0);
    CHECK(traced.secrets == 0);
}

TEST_CASE("a COPY that loads another count than was sent: rolled back, nothing acknowledged", "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_count";
    drop_table(table);
    Capture capture;
    Traced traced;
    auto options = test_copy_options(capture, unique_prefix("copy-count"), 1);
    auto real = options.run_copy;
    options.run_copy = [real](redsink::pq::Connection& conn, const rs3::CopyCommand& command) {
        return real(conn, command) - 1;
    };
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = table,
                              .batch_rows = 1000,
                              .bulk_load = rs3::copy_loader(options),
                              .trace = trace_checking<Sink>(traced)});
    int callbacks = 0;
    sink.on_commit([&](const redsink::Positions&) { ++callbacks; });
    const auto stream = random_stream({.seed = 5, .events = 200, .keys = 50});
    for (const auto& change : stream) sink.write(change);
    try {
        sink.flush();
        FAIL("flush succeeded");
    } catch (const redsink::Error& error) {
        CHECK_THAT(error.what(),
                   Catch::Contains("(pg_last_copy_count()), but the batch sent") && Catch::Contains("rolled back"));
    }
    CHECK(callbacks == 0);
    CHECK(sink.pending_events() == stream.size());
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).get(0, 0) == std::string("0"));
}

TEST_CASE("the S3 server stopped mid-stream: retried, then an error; nothing acknowledged; resumed later",
          "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_down";
    drop_table(table);
    Capture capture;
    Traced traced;
    auto options = test_copy_options(capture, unique_prefix("copy-down"), 1);
    options.client.max_attempts = 2;
    int s3_retries = 0;
    options.client.on_retry = [&](const rs3::RetryEvent&) { ++s3_retries; };
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = table,
                              .batch_rows = 100'000,
                              .retry_budget = 20s,
                              .max_attempts = 3,
                              .retry_backoff = 10ms,
                              .bulk_load = rs3::copy_loader(options),
                              .trace = trace_checking<Sink>(traced)});
    int callbacks = 0;
    sink.on_commit([&](const redsink::Positions&) { ++callbacks; });
    const auto stream = random_stream({.seed = 8, .events = 500, .keys = 100});
    for (const auto& change : stream) sink.write(change);
    {
        RestartServerAtEnd restart;
        server_ctl("stop");
        try {
            sink.flush();
            FAIL("flush succeeded with the S3 server down");
        } catch (const redsink::Error& error) {
            CHECK(error.retryable());
            CHECK_THAT(error.what(), Catch::Contains("PUT object s3://" + s3_env("REDSINK_TEST_S3_BUCKET") + "/") &&
                                         Catch::Contains(qualified(table)) && Catch::Contains("after 3 attempts"));
            check_no_secret(error, {s3_env("REDSINK_TEST_S3_SECRET_KEY")});
        }
        CHECK(s3_retries >= 3);  // the client's own, in each of the sink's attempts
        CHECK(callbacks == 0);
        CHECK(sink.stats().acknowledged.empty());
        CHECK(sink.pending_events() == stream.size());
    }
    // The server is back: the kept batch is written, by COPY.
    sink.flush();
    CHECK(callbacks == 1);
    CHECK(sink.stats().acknowledged == last_positions(stream));
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(capture.copied_keys.size() == 1);
    CHECK(traced.secrets == 0);
}

TEST_CASE("a wrong secret: a 403 naming the bucket and key, no secret in it", "[s3_copy]") {
    Capture capture;
    auto options = test_copy_options(capture, unique_prefix("copy-denied"), 1);
    const std::string wrong = "wrong-secret-that-must-not-be-printed";
    options.client.credentials->secret_access_key = wrong;
    const auto check_denied = [&](const rs3::Error& error, const std::string& key_part) {
        INFO(error.what());
        CHECK(error.http_status() == 403);
        CHECK_FALSE(error.retryable());
        CHECK_THAT(error.what(), Catch::Contains("s3://" + s3_env("REDSINK_TEST_S3_BUCKET") + "/" + key_part));
        check_no_secret(error, {wrong, s3_env("REDSINK_TEST_S3_SECRET_KEY")});
    };
    // The sink's start (the sweep) is refused first...
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    try {
        Sink sink(test_config(),
                  {.schema = sink_schema, .table = "s3_copy_denied", .bulk_load = rs3::copy_loader(options)});
        FAIL("the sink started");
    } catch (const rs3::Error& error) {
        check_denied(error, options.prefix);
    }
    // ... and so is an upload.
    rs3::CopySession session(std::make_shared<const rs3::CopyOptions>(options), options.prefix + "run/", 0);
    redsink::ParamBuffer params;
    params.push("1");
    params.push_null();
    const std::uint32_t events[] = {0};
    const char ops[] = {'i'};
    try {
        session.stage(redsink::BulkRows(params, 2, events, ops, true));
        FAIL("the upload succeeded");
    } catch (const rs3::Error& error) {
        check_denied(error, options.prefix + "run/t000-000000000001.csv.zst");
    }
}

TEST_CASE("a crash after the upload, before COMMIT: nothing committed; the next start sweeps the objects",
          "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table,
                               redsink::redshift>;
    const std::string table = "s3_copy_crash";
    // One object, or parts and their manifest: all are swept.
    const std::uint64_t part_bytes = GENERATE(std::uint64_t{128} << 20, std::uint64_t{400});
    INFO("part_bytes " << part_bytes);
    drop_table(table);
    const auto prefix = unique_prefix("copy-crash");
    const auto stream = random_stream({.seed = 9, .events = 300, .keys = 80});
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The process dies inside the batch's transaction, after the upload: no cleanup runs.
        Capture capture;
        auto options = test_copy_options(capture, prefix, 1);
        options.part_bytes = part_bytes;
        options.run_copy = [](redsink::pq::Connection&, const rs3::CopyCommand&) -> std::uint64_t { ::_exit(42); };
        try {
            Sink sink(test_config(), {.schema = sink_schema, .table = table, .bulk_load = rs3::copy_loader(options)});
            for (const auto& change : stream) sink.write(change);
            sink.flush();
        } catch (...) {
        }
        ::_exit(1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 42);
    Capture capture;
    Traced traced;
    auto options = test_copy_options(capture, prefix, 1);
    options.part_bytes = part_bytes;
    auto loader = rs3::copy_loader(options);
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).get(0, 0) == std::string("0"));
    // The crashed batch's object, or its parts and manifest.
    const auto left = keys_under(prefix);
    if (part_bytes > 1000) {
        REQUIRE(left.size() == 1);
        CHECK_THAT(left.front(), Catch::EndsWith("-000000000001.csv.zst"));
    } else {
        REQUIRE(left.size() >= 4);
        std::size_t manifests = 0;
        for (const auto& key : left) {
            INFO(key);
            if (key.ends_with(".manifest")) {
                ++manifests;
                CHECK_THAT(key, Catch::EndsWith("-000000000001.manifest"));
            } else {
                CHECK_THAT(key, Catch::Contains("-000000000001-p") && Catch::EndsWith(".csv.zst"));
            }
        }
        CHECK(manifests == 1);
    }
    Sink sink(test_config(),
              {.schema = sink_schema, .table = table, .bulk_load = loader, .trace = trace_checking<Sink>(traced)});
    CHECK(loader->swept() == left.size());
    CHECK(capture.objects.size() == left.size());  // downloaded by the seam before the sweep deleted them
    CHECK(keys_under(prefix).empty());
    for (const auto& change : stream) sink.write(change);
    sink.flush();
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    CHECK(keys_under(prefix).empty());
    CHECK(traced.secrets == 0);
}

TEST_CASE("a COPY the server refuses: the batch is tried by INSERT, which finds the row to dead-letter", "[s3_copy]") {
    using Sink = redsink::Sink<Account, AccountKey, redsink::append, redsink::ignore_deletes, redsink::create_table,
                               redsink::redshift, redsink::dead_letter<"s3_copy_dead_letters">>;
    const std::string table = "s3_copy_refused";
    drop_table(table);
    auto conn = reader();
    conn.exec("DROP TABLE IF EXISTS sink_test.s3_copy_dead_letters");
    Capture capture;
    Traced traced;
    const auto prefix = unique_prefix("copy-refused");
    // Three batches: the second (staged ahead while the first was written) holds the refused row.
    Sink sink(test_config(), {.schema = sink_schema,
                              .table = table,
                              .batch_rows = 100,
                              .bulk_load = rs3::copy_loader(test_copy_options(capture, prefix, 1)),
                              .trace = trace_checking<Sink>(traced)});
    // Appends go straight into the target by COPY, which the CHECK makes fail as a whole.
    conn.exec("ALTER TABLE " + qualified(table) + " ADD CHECK (id <> 113)");
    std::vector<AccountChange> stream;
    for (std::int64_t id = 1; id <= 300; ++id) {
        Account row{};
        row.id = id;
        row.name = "n" + std::to_string(id);
        stream.push_back({redsink::Op::create, row, {0, id}});
    }
    for (const auto& change : stream) sink.write(change);
    sink.flush();
    CHECK(sink.stats().acknowledged.at(0) == 300);
    CHECK(capture.copied_keys.size() == 2);  // the second batch's COPY failed
    CHECK(traced.inserts >= 1);              // the INSERT path took that batch
    CHECK(conn.exec("SELECT count(*), count(*) FILTER (WHERE id = 113) FROM " + qualified(table)).get(0, 0) ==
          std::string("299"));
    const auto letters = conn.exec("SELECT source_offset, sqlstate FROM sink_test.s3_copy_dead_letters");
    REQUIRE(letters.rows() == 1);
    CHECK(std::string(letters.get(0, 0)) == "113");
    CHECK(std::string(letters.get(0, 1)) == "23514");
    // Each batch uploaded once (the refused one is not uploaded again for its INSERTs), each object
    // deleted after its attempt.
    CHECK(logged_puts(prefix).size() == 3);
    CHECK(capture.objects.size() == 3);
    CHECK(keys_under(prefix).empty());
    CHECK(traced.secrets == 0);
}
