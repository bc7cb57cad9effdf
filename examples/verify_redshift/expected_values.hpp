#pragma once

// The value scenarios' shared parts (values.cpp, copy_checks.cpp): a table checked against
// expected texts by the server's own parse of them, and a stream written through an append sink
// with its COPYs counted.
#include "verify_redshift/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

namespace verify::values {

using namespace std::chrono;
using Text = std::optional<std::string>;

template <class R>
using AppendSink = redsink::Sink<R, redsink::append, redsink::create_table, redsink::redshift>;

// ---- Checking a table against expected texts, by the server's parse of them ------------------

enum class Compare {
    plain,  // the column = CAST(expected AS type)
    text,   // the same, and the same length in bytes (Redshift ignores trailing blanks in =)
    json,   // SUPER: JSON_SERIALIZE of both sides on Redshift; JSONB equality on the stand-in
};

struct Column {
    std::string name;
    std::string type;  // the SQL type the expected text is cast to
    Compare compare = Compare::plain;
};

inline std::string quoted(const std::string& name) {
    return redsink::sql::quote_identifier(name);
}

// A value for a failure message: escaped, and cut when long.
inline std::string shown(const Text& value) {
    if (!value) return "NULL";
    std::string out = "'";
    std::size_t end = std::min<std::size_t>(value->size(), 120);
    while (end < value->size() && end > 0 && (static_cast<unsigned char>((*value)[end]) & 0xC0) == 0x80)
        --end;  // not inside a UTF-8 character
    for (std::size_t i = 0; i < end; ++i) {
        const char c = (*value)[i];
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\'')
            out += "\\'";
        else if (c == '\\')
            out += "\\\\";
        else
            out.push_back(c);
    }
    if (end < value->size()) out += fmt::format("... ({} bytes)", value->size());
    return out + "'";
}

// The table `table` (quoted, qualified) must hold exactly the expected rows, keyed by the BIGINT
// column "id": each column equal to the server's parse of its expected text (nullopt: NULL).
class TableCheck {
public:
    TableCheck(const Settings& settings, std::string table, std::vector<Column> columns)
        : settings_(settings), table_(std::move(table)), columns_(std::move(columns)) {}

    void expect(std::int64_t id, std::vector<Text> values) {
        if (values.size() != columns_.size()) throw std::logic_error("an expected row has the wrong column count");
        rows_[id] = std::move(values);
    }

    // Checks; returns the number of values compared.
    std::size_t run() {
        auto conn = connect(settings_);
        const auto counts = conn.exec("SELECT count(*), count(DISTINCT " + quoted("id") + ") FROM " + table_);
        const auto total = counts.as<std::int64_t>(0, 0);
        const auto distinct = counts.as<std::int64_t>(0, 1);
        check(total == static_cast<std::int64_t>(rows_.size()) && distinct == total,
              fmt::format("{} holds {} rows ({} distinct ids), the model {}", table_, total, distinct, rows_.size()));
        std::vector<std::size_t> all(columns_.size());
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
        const std::size_t per_query = std::max<std::size_t>(1, 300 / (columns_.size() + 1));
        std::vector<std::int64_t> chunk;
        const auto check_chunk = [&] {
            if (chunk.empty()) return;
            if (matching(conn, chunk, all) != chunk.size()) diagnose(conn, chunk, all);
            chunk.clear();
        };
        for (const auto& [id, values] : rows_) {
            chunk.push_back(id);
            if (chunk.size() == per_query) check_chunk();
        }
        check_chunk();
        return rows_.size() * columns_.size();
    }

private:
    std::string expected_type(const Column& column) const {
        if (column.compare == Compare::json) return settings_.stand_in ? "jsonb" : "VARCHAR(65535)";
        return column.type;
    }

    std::string condition(const Column& column, std::size_t index) const {
        const auto a = "t." + quoted(column.name);
        const auto e = "e.c" + std::to_string(index);
        const auto both_null = "(" + a + " IS NULL AND " + e + " IS NULL)";
        switch (column.compare) {
            case Compare::plain: return "(" + both_null + " OR " + a + " = " + e + ")";
            case Compare::text:
                return "(" + both_null + " OR (" + a + " = " + e + " AND OCTET_LENGTH(" + a + ") = OCTET_LENGTH(" + e +
                       ")))";
            case Compare::json:
                if (settings_.stand_in) return "(" + both_null + " OR " + a + " = " + e + ")";
                return "(" + both_null + " OR JSON_SERIALIZE(" + a + ") = JSON_SERIALIZE(JSON_PARSE(" + e + ")))";
        }
        return "false";
    }

    // How many of `ids` the table holds with every column of `which` as expected.
    std::size_t matching(redsink::pq::Connection& conn, const std::vector<std::int64_t>& ids,
                         const std::vector<std::size_t>& which) {
        std::string rows;
        std::vector<std::string> arena;
        std::vector<bool> null;
        int n = 0;
        for (const auto id : ids) {
            rows += rows.empty() ? "SELECT " : " UNION ALL SELECT ";
            rows += fmt::format("CAST(${} AS BIGINT) AS id", ++n);
            arena.push_back(std::to_string(id));
            null.push_back(false);
            const auto& values = rows_.at(id);
            for (const auto i : which) {
                rows += fmt::format(", CAST(${} AS {}) AS c{}", ++n, expected_type(columns_[i]), i);
                arena.push_back(values[i].value_or(""));
                null.push_back(!values[i]);
            }
        }
        std::string sql =
            "SELECT count(*) FROM (" + rows + ") e JOIN " + table_ + " t ON t." + quoted("id") + " = e.id WHERE true";
        for (const auto i : which) sql += " AND " + condition(columns_[i], i);
        std::vector<const char*> params;
        for (std::size_t i = 0; i < arena.size(); ++i) params.push_back(null[i] ? nullptr : arena[i].c_str());
        return static_cast<std::size_t>(conn.exec_raw(sql, params).as<std::int64_t>(0, 0));
    }

    // A chunk did not match: finds the first row and column that differ, and fails naming them.
    [[noreturn]] void diagnose(redsink::pq::Connection& conn, const std::vector<std::int64_t>& ids,
                               const std::vector<std::size_t>& all) {
        for (const auto id : ids) {
            if (matching(conn, {id}, all) == 1) continue;
            const auto found = conn.exec("SELECT count(*) FROM " + table_ + " WHERE " + quoted("id") + " = $1", id);
            check(found.as<std::int64_t>(0, 0) == 1, fmt::format("{}: row id {} is missing", table_, id));
            for (const auto i : all) {
                if (matching(conn, {id}, {i}) == 1) continue;
                const auto& column = columns_[i];
                const auto actual = conn.exec(
                    "SELECT " + quoted(column.name) + " FROM " + table_ + " WHERE " + quoted("id") + " = $1", id);
                const auto value = actual.optional(0, 0);
                throw Failed(fmt::format("{}: row id {}, column {} ({}): the table has {}, expected {}", table_, id,
                                         column.name, column.type, shown(value ? Text(std::string(*value)) : Text()),
                                         shown(rows_.at(id)[i])));
            }
            throw Failed(fmt::format("{}: row id {} differs from the model, but no single column does", table_, id));
        }
        throw Failed(fmt::format("{}: rows {}..{} did not all match at once, but each matches alone", table_,
                                 ids.front(), ids.back()));
    }

    const Settings& settings_;
    std::string table_;
    std::vector<Column> columns_;
    std::map<std::int64_t, std::vector<Text>> rows_;
};

// ---- Writing a stream ---------------------------------------------------------------------------

// The COPY statements the sink sent (as its trace shows them: secrets redacted). On the stand-in
// the COPY from S3 is the stand-in's and never reaches the trace: stand_in_counts() counts it.
struct CopyTrace {
    std::mutex mutex;
    std::vector<std::string> statements;
};

struct Written {
    std::size_t batches = 0;
    std::size_t copies = 0;                    // COPYs from S3 (the trace on Redshift, the stand-in's own count)
    std::size_t manifests = 0;                 // of them, through a manifest
    std::vector<std::string> copy_statements;  // Redshift: as traced
};

template <class R>
Written write_rows(const Settings& settings, redsink::SinkOptions options, const std::vector<R>& rows) {
    auto trace = std::make_shared<CopyTrace>();
    options.trace = [trace](redsink::pq::TracePoint point, std::string_view sql) {
        if (point != redsink::pq::TracePoint::sending || !sql.starts_with("COPY ") ||
            sql.find(" FROM 's3://") == std::string_view::npos)
            return;
        const std::lock_guard lock(trace->mutex);
        trace->statements.emplace_back(sql);
    };
    const auto before = stand_in_counts();
    Written written;
    {
        AppendSink<R> sink(settings.config, std::move(options));
        for (std::size_t i = 0; i < rows.size(); ++i)
            sink.write(redsink::created(rows[i], redsink::Position{0, static_cast<std::int64_t>(i)}));
        sink.flush();
        check(sink.pending_events() == 0, "events still pending after flush()");
        written.batches = sink.stats().batches;
    }
    const std::lock_guard lock(trace->mutex);
    written.copy_statements = trace->statements;
    if (settings.stand_in) {
        const auto after = stand_in_counts();
        written.copies = after.copies - before.copies;
        written.manifests = after.manifests - before.manifests;
    } else {
        written.copies = trace->statements.size();
        for (const auto& statement : trace->statements)
            if (statement.find(" MANIFEST ") != std::string::npos) ++written.manifests;
    }
    return written;
}

inline Outcome no_bucket() {
    return {Status::skipped, "no bucket: REDSINK_VERIFY_S3_BUCKET is unset"};
}

// What the stand-in proved, and that Redshift's answer is still to be had.
inline Outcome settled(const Settings& settings, std::string detail, const std::string& redshift_question) {
    if (settings.stand_in)
        return {Status::needs_redshift, "the stand-in: " + detail + "; on Redshift: " + redshift_question};
    return {Status::pass, std::move(detail)};
}

// A calendar day, and an instant at microseconds (UTC).
inline year_month_day date(int y, unsigned m, unsigned d) {
    return year_month_day{year{y}, month{m}, day{d}};
}

inline sys_time<microseconds> instant(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
    return sys_days{date(y, mo, d)} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
}

// A JSON document, required and optional: copy/super-from-csv and the super/ scenarios.
struct JsonRow {
    BOOST_HANA_DEFINE_STRUCT(JsonRow, (std::int64_t, id), (redsink::json, doc), (std::optional<redsink::json>, o_doc));
};

}  // namespace verify::values
