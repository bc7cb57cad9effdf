// redsink_verify_redshift: runs redsink's scenarios against a Redshift cluster and an S3 bucket
// of the user's, checks each table against a model row by row, removes what it made, and writes
// a Markdown report (docs/verify-redshift.md). scripts/verify-redshift builds and runs it;
// scripts/test runs it against the PostgreSQL stand-in and a local S3 server, where what only
// Redshift can answer is reported as "needs Redshift".
#include "verify_redshift/verify.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <string_view>
#include <utility>

namespace verify {

namespace {

std::string env(const char* name, std::string fallback = {}) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::atomic<std::uint64_t> copies{0};
std::atomic<std::uint64_t> manifest_copies{0};

// One complete gzip stream, inflated.
std::string gunzip(const std::string& gz) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2 failed");
    std::string out;
    std::string buffer(1 << 16, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    for (int status = Z_OK; status != Z_STREAM_END;) {
        zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
        zs.avail_out = static_cast<uInt>(buffer.size());
        status = inflate(&zs, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            inflateEnd(&zs);
            throw std::runtime_error("an object of the batch is not a complete gzip stream");
        }
        out.append(buffer.data(), buffer.size() - zs.avail_out);
    }
    inflateEnd(&zs);
    return out;
}

// One complete zstd frame (or several, back to back), decompressed.
std::string unzstd(const std::string& compressed) {
    const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!context) throw std::runtime_error("ZSTD_createDCtx failed");
    std::string out;
    std::string buffer(ZSTD_DStreamOutSize(), '\0');
    ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
    std::size_t last = 0;
    while (in.pos < in.size) {
        ZSTD_outBuffer chunk{buffer.data(), buffer.size(), 0};
        last = ZSTD_decompressStream(context.get(), &chunk, &in);
        if (ZSTD_isError(last) != 0U)
            throw std::runtime_error(std::string("an object of the batch is not valid zstd: ") +
                                     ZSTD_getErrorName(last));
        out.append(buffer.data(), chunk.pos);
    }
    if (last != 0) throw std::runtime_error("an object of the batch ends inside a zstd frame");
    return out;
}

// An object's CSV, decompressed as the COPY says it was written.
std::string decompress(const std::string& object, redsink::s3::Compression compression) {
    return compression == redsink::s3::Compression::zstd ? unzstd(object) : gunzip(object);
}

// The stand-in's COPY: PostgreSQL cannot read s3://, so the objects the COPY names are read back and decompressed,
// each NULL field (a lone NUL byte: NULL AS '\0') made an unquoted empty field, which is CSV
// mode's NULL in PostgreSQL, and sent with COPY FROM STDIN. Its row count stands for
// pg_last_copy_count().
redsink::s3::CopyRunner stand_in_copy(redsink::s3::ClientOptions client_options) {
    return [client_options](redsink::pq::Connection& conn, const redsink::s3::CopyCommand& command) {
        redsink::s3::Client client(client_options);
        std::string fields;
        for (const auto& object : command.objects)
            for (const char c : decompress(client.get_object(object), command.compression))
                if (c != '\0') fields.push_back(c);
        std::string sql = "COPY " + std::string(command.table) + " (";
        for (std::size_t i = 0; i < command.columns.size(); ++i) sql += (i ? ", " : "") + command.columns[i];
        sql += ") FROM STDIN (FORMAT csv)";
        const auto copied = conn.copy_from_stdin(sql, fields);
        ++copies;
        if (command.manifest) ++manifest_copies;
        return static_cast<std::uint64_t>(copied);
    };
}

const char* status_text(Status status) {
    switch (status) {
        case Status::pass: return "pass";
        case Status::fail: return "**FAIL**";
        case Status::needs_redshift: return "needs Redshift";
        case Status::skipped: return "skipped";
    }
    return "?";
}

// A detail as one Markdown table cell.
std::string cell(std::string text) {
    std::string out;
    for (const char c : text) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n')
            out += "<br>";
        else
            out.push_back(c);
    }
    return out;
}

struct Ran {
    const Scenario* scenario;
    Outcome outcome;
    double seconds;
};

// Drops the run's schema and deletes its S3 objects, then checks that neither is left: what
// happened, and whether all of it is gone.
std::pair<std::string, bool> clean_up(const Settings& settings) {
    std::string done;
    bool clean = true;
    try {
        auto conn = connect(settings);
        conn.exec("DROP SCHEMA IF EXISTS " + redsink::sql::quote_identifier(settings.schema) + " CASCADE");
        const auto left = conn.exec("SELECT count(*) FROM pg_namespace WHERE nspname = $1", settings.schema);
        clean = std::string(left.get(0, 0)) == "0";
        done = "schema " + settings.schema + (clean ? " dropped" : " still there after DROP SCHEMA");
    } catch (const std::exception& error) {
        clean = false;
        done = "dropping schema " + settings.schema + " failed: " + error.what();
    }
    if (!settings.s3) return {done, clean};
    try {
        redsink::s3::Client client(*settings.s3);
        std::vector<std::string> keys;
        for (const auto& object : client.list_objects(settings.prefix + "/")) keys.push_back(object.key);
        if (!keys.empty()) client.delete_objects(keys);
        const auto left = client.list_objects(settings.prefix + "/").size();
        clean = clean && left == 0;
        done += fmt::format("; {} S3 objects under {}/ deleted{}", keys.size(), settings.prefix,
                            left == 0 ? ", none left" : fmt::format(", {} still there", left));
    } catch (const std::exception& error) {
        clean = false;
        done += "; emptying s3://" + settings.s3->bucket + "/" + settings.prefix + "/ failed: " + error.what();
    }
    return {done, clean};
}

// SIGINT or SIGTERM: the scenario running ends, the rest are skipped, the cleanup runs and the
// report is written. A second signal ends the program at once (what it made stays).
std::atomic<int> signals{0};

extern "C" void on_signal(int) {
    if (signals.fetch_add(1) > 0) ::_exit(130);
}

Settings settings_from_environment() {
    Settings settings;
    settings.config = redsink::ConnectionConfig::from_env();
    settings.stand_in = env("REDSINK_VERIFY_STAND_IN") == "1";
    if (settings.stand_in)
        settings.config.options.emplace_back("options", "-c default_transaction_isolation=serializable");
    const auto now = std::chrono::system_clock::now();
    settings.schema =
        fmt::format("redsink_verify_{:%Y%m%d%H%M%S}_{}", std::chrono::floor<std::chrono::seconds>(now), ::getpid());
    const auto events = env("REDSINK_VERIFY_EVENTS", "2000");
    if (events.find_first_not_of("0123456789") != std::string::npos || events.size() > 7 || std::stoul(events) < 100)
        throw std::runtime_error("REDSINK_VERIFY_EVENTS must be a whole number from 100 to 9999999, got '" + events +
                                 "'");
    settings.events = static_cast<std::size_t>(std::stoul(events));
    if (const auto bucket = env("REDSINK_VERIFY_S3_BUCKET"); !bucket.empty()) {
        redsink::s3::ClientOptions s3;
        s3.bucket = bucket;
        s3.region = env("REDSINK_VERIFY_S3_REGION");
        s3.endpoint = env("REDSINK_VERIFY_S3_ENDPOINT");
        s3.path_style = !s3.endpoint.empty();
        settings.s3 = s3;
        settings.prefix = env("REDSINK_VERIFY_S3_PREFIX", "redsink-verify") + "/" + settings.schema;
        settings.iam_role = env("REDSINK_VERIFY_IAM_ROLE");
    }
    return settings;
}

void write_report(const std::string& path, const Settings& settings, const std::string& server,
                  const std::vector<Ran>& runs, const std::string& cleanup) {
    std::ofstream out(path);
    out << "# redsink verification report\n\n";
    out << "- run: "
        << fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                       std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))
        << "\n";
    out << "- database: " << (settings.stand_in ? "the PostgreSQL stand-in" : "Redshift") << ", " << server << "\n";
    out << "- connection: " << settings.config.redacted() << "\n";
    out << "- S3: "
        << (settings.s3 ? "bucket " + settings.s3->bucket + ", prefix " + settings.prefix +
                              (settings.iam_role.empty() ? ", access keys" : ", IAM_ROLE " + settings.iam_role)
                        : std::string("none (REDSINK_VERIFY_S3_BUCKET unset): the S3 scenarios are skipped"))
        << "\n";
    out << "- schema: " << settings.schema << " (dropped at the end), " << settings.events << " events a stream\n";
    out << "- cleanup: " << cleanup << "\n\n";
    std::map<Status, int> counts;
    for (const auto& run : runs) ++counts[run.outcome.status];
    out << fmt::format("{} passed, {} failed, {} need Redshift, {} skipped\n\n", counts[Status::pass],
                       counts[Status::fail], counts[Status::needs_redshift], counts[Status::skipped]);
    out << "| scenario | result | seconds | what was checked, or the answer |\n|---|---|---|---|\n";
    for (const auto& run : runs)
        out << "| `" << run.scenario->name << "` | " << status_text(run.outcome.status) << " | "
            << fmt::format("{:.1f}", run.seconds) << " | "
            << cell(run.outcome.detail.empty() ? run.scenario->checks : run.outcome.detail) << " |\n";
}

}  // namespace

redsink::pq::Connection connect(const Settings& settings) {
    return redsink::pq::Connection(settings.config);
}

std::vector<std::string> table_rows(redsink::pq::Connection& conn, const std::string& query) {
    const auto result = conn.exec(query);
    std::vector<std::string> out;
    for (int row = 0; row < result.rows(); ++row) {
        std::string text;
        for (int column = 0; column < result.columns(); ++column) {
            if (column > 0) text += '|';
            text += result.is_null(row, column) ? std::string("<NULL>") : std::string(result.get(row, column));
        }
        out.push_back(std::move(text));
    }
    std::sort(out.begin(), out.end());
    return out;
}

void check_rows(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
                const std::string& table) {
    if (expected == actual) return;
    const auto [left, right] = std::mismatch(expected.begin(), expected.end(), actual.begin(), actual.end());
    std::string first;
    if (left != expected.end()) first += "the model has " + *left;
    if (right != actual.end()) first += std::string(first.empty() ? "" : ", ") + "the table has " + *right;
    throw Failed(fmt::format("{} holds {} rows, the model {}; first difference: {}", table, actual.size(),
                             expected.size(), first));
}

std::string fresh_table(const Settings& settings, const std::string& table) {
    const auto name = redsink::sql::quote_identifier(settings.schema) + "." + redsink::sql::quote_identifier(table);
    auto conn = connect(settings);
    conn.exec("DROP TABLE IF EXISTS " + name);
    return name;
}

redsink::SinkOptions sink_options(const Settings& settings, const std::string& table, std::size_t batch_rows) {
    redsink::SinkOptions options;
    options.schema = settings.schema;
    options.table = table;
    options.batch_rows = batch_rows;
    options.retry_budget = std::chrono::seconds(60);
    return options;
}

std::shared_ptr<redsink::BulkLoader> s3_loader(const Settings& settings, std::uint64_t part_bytes) {
    if (!settings.s3_unreachable.empty())
        throw Failed("nothing written: the bucket could not be listed at start: " + settings.s3_unreachable);
    redsink::s3::CopyOptions options;
    options.client = *settings.s3;
    options.iam_role = settings.iam_role;
    options.prefix = settings.prefix;
    options.min_rows = 1;
    if (part_bytes != 0) options.part_bytes = part_bytes;
    if (settings.stand_in) options.run_copy = stand_in_copy(*settings.s3);
    return redsink::s3::copy_loader(options);
}

StandInCounts stand_in_counts() {
    return {copies.load(), manifest_copies.load()};
}

}  // namespace verify

int main() {
    using namespace verify;
    Settings settings;
    try {
        settings = settings_from_environment();
    } catch (const std::exception& error) {
        std::cerr << "redsink_verify_redshift: " << error.what() << "\n";
        return 2;
    }
    const auto report = [] {
        const char* path = std::getenv("REDSINK_VERIFY_REPORT");
        return std::string(path != nullptr && *path != '\0' ? path : "redshift-verify-report.md");
    }();
    const auto only = [] {
        const char* text = std::getenv("REDSINK_VERIFY_ONLY");
        return std::string(text != nullptr ? text : "");
    }();
    std::vector<Scenario> scenarios;
    add_write_scenarios(scenarios);
    add_value_scenarios(scenarios);

    std::string server;
    try {
        auto conn = connect(settings);
        server = std::string(conn.exec("SELECT version()").get(0, 0));
        if (!settings.stand_in && !conn.is_redshift()) {
            std::cerr << "redsink_verify_redshift: the server is not Redshift (" << server
                      << "); for a PostgreSQL standing in for it, set REDSINK_VERIFY_STAND_IN=1\n";
            return 2;
        }
        if (settings.stand_in) {
            // SUPER and JSON_PARSE as the stand-in has them (docs/testing.md).
            conn.exec(
                "DO $$ BEGIN CREATE DOMAIN public.super AS jsonb; EXCEPTION WHEN duplicate_object THEN NULL; "
                "END $$");
            conn.exec(
                "CREATE OR REPLACE FUNCTION public.json_parse(text) RETURNS public.super LANGUAGE sql "
                "IMMUTABLE AS 'SELECT $1::jsonb'");
        }
        conn.exec("CREATE SCHEMA " + redsink::sql::quote_identifier(settings.schema));
        // One listing of the prefix, tried twice: a bucket that cannot be reached fails the S3
        // scenarios at once, not after each one's retries.
        if (settings.s3) try {
                auto once = *settings.s3;
                once.max_attempts = 2;
                (void)redsink::s3::Client(once).list_objects(settings.prefix + "/");
            } catch (const std::exception& error) {
                settings.s3_unreachable = error.what();
            }
    } catch (const std::exception& error) {
        std::cerr << "redsink_verify_redshift: cannot prepare the run: " << error.what() << "\n";
        return 2;
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::vector<Ran> runs;
    for (const auto& scenario : scenarios) {
        if (!only.empty() && scenario.name.find(only) == std::string::npos) continue;
        if (signals.load() > 0) {
            runs.push_back({&scenario, {Status::skipped, "the run was interrupted (SIGINT or SIGTERM)"}, 0.0});
            continue;
        }
        std::cout << scenario.name << " ... " << std::flush;
        const auto start = std::chrono::steady_clock::now();
        Outcome outcome;
        try {
            outcome = scenario.run(settings);
        } catch (const std::exception& error) {
            outcome = {Status::fail, error.what()};
        }
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        std::cout << status_text(outcome.status) << fmt::format(" ({:.1f} s)", took.count());
        if (outcome.status == Status::fail) std::cout << ": " << outcome.detail;
        std::cout << "\n";
        runs.push_back({&scenario, std::move(outcome), took.count()});
    }

    // What the run made goes, whatever happened: the schema with its tables, and the S3 prefix.
    const auto [cleanup, cleaned] = clean_up(settings);
    write_report(report, settings, server, runs, cleanup);
    const auto failed =
        std::count_if(runs.begin(), runs.end(), [](const Ran& run) { return run.outcome.status == Status::fail; });
    std::cout << "cleanup: " << cleanup << "\nreport: " << report << "\n";
    if (runs.empty()) {
        std::cerr << "redsink_verify_redshift: no scenario matches REDSINK_VERIFY_ONLY=" << only << "\n";
        return 2;
    }
    return failed == 0 && cleaned && signals.load() == 0 ? 0 : 1;
}
