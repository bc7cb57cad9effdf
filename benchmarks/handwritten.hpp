#pragma once

#include "records.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// What a careful engineer writes by hand with fmt: every value formatted to text into one
// reused buffer, NUL-terminated, with its offset; format strings compiled (FMT_COMPILE), which
// is several times faster than parsing them per value; the tables' DDL and columns typed out.
// No redsink code here beyond the record types the app already has.
namespace redsink_bench::hand {

// Text bind parameters for PQexecParams / PQexecPrepared, reused between statements.
class TextParams {
public:
    void clear() {
        buffer_.clear();
        offsets_.clear();
    }

    template <class Format, class... Args>
    void add(const Format& format, const Args&... args) {
        offsets_.push_back(static_cast<std::ptrdiff_t>(buffer_.size()));
        fmt::format_to(fmt::appender(buffer_), format, args...);
        buffer_.push_back('\0');
    }
    void add_text(std::string_view text) {
        offsets_.push_back(static_cast<std::ptrdiff_t>(buffer_.size()));
        buffer_.append(text);
        buffer_.push_back('\0');
    }
    void add_null() { offsets_.push_back(null); }
    void end_row() {}

    // Pointers into the buffer, valid until the next add: taken once all values are in.
    [[nodiscard]] const char* const* values() {
        pointers_.resize(offsets_.size());
        for (std::size_t i = 0; i < offsets_.size(); ++i)
            pointers_[i] = offsets_[i] == null ? nullptr : buffer_.data() + offsets_[i];
        return pointers_.data();
    }
    [[nodiscard]] int count() const { return static_cast<int>(offsets_.size()); }
    [[nodiscard]] std::size_t bytes() const { return buffer_.size(); }

private:
    static constexpr std::ptrdiff_t null = -1;
    fmt::memory_buffer buffer_;
    std::vector<std::ptrdiff_t> offsets_;
    std::vector<const char*> pointers_;
};

// Rows in COPY's text format: tab-separated, \N for NULL, backslash escapes in texts.
class CopyRows {
public:
    void clear() { buffer_.clear(); }

    template <class Format, class... Args>
    void add(const Format& format, const Args&... args) {
        separate();
        fmt::format_to(fmt::appender(buffer_), format, args...);
    }
    void add_text(std::string_view text) {
        separate();
        std::size_t run = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c != '\\' && c != '\t' && c != '\n' && c != '\r') continue;
            buffer_.append(text.substr(run, i - run));
            buffer_.append(std::string_view(c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r"));
            run = i + 1;
        }
        buffer_.append(text.substr(run));
    }
    void add_null() {
        separate();
        buffer_.append(std::string_view("\\N"));
    }
    void end_row() {
        buffer_.push_back('\n');
        first_ = true;
    }

    [[nodiscard]] const char* data() const { return buffer_.data(); }
    [[nodiscard]] std::size_t bytes() const { return buffer_.size(); }

private:
    void separate() {
        if (!first_) buffer_.push_back('\t');
        first_ = false;
    }

    fmt::memory_buffer buffer_;
    bool first_ = true;
};

// ---- Values to text, the way PostgreSQL and Redshift read them ------------------------------

template <class Out>
void put(Out& out, std::int64_t value) {
    out.add(FMT_COMPILE("{}"), value);
}
template <class Out>
void put(Out& out, std::int32_t value) {
    out.add(FMT_COMPILE("{}"), value);
}
template <class Out>
void put(Out& out, std::int16_t value) {
    out.add(FMT_COMPILE("{}"), value);
}
template <class Out>
void put(Out& out, double value) {
    out.add(FMT_COMPILE("{}"), value);
}
template <class Out>
void put(Out& out, float value) {
    out.add(FMT_COMPILE("{}"), value);
}
template <class Out>
void put(Out& out, bool value) {
    out.add_text(value ? "t" : "f");
}
template <class Out>
void put(Out& out, const std::string& value) {
    out.add_text(value);
}
template <class Out, std::size_t N>
void put(Out& out, const redsink::varchar<N>& value) {
    out.add_text(value.value);
}

// Money fits in 64 bits; the units are printed as whole.fraction with the scale's digits.
template <class Out, int P, int S>
void put(Out& out, const redsink::decimal<P, S>& value) {
    static_assert((S == 2 || S == 4) && P <= 18, "the benchmark records use scales 2 and 4");
    constexpr auto scale = static_cast<std::int64_t>(redsink::decimal<P, S>::pow10(S));
    const auto units = static_cast<std::int64_t>(value.units);
    const auto magnitude = units < 0 ? -units : units;
    const std::string_view sign = units < 0 ? "-" : "";
    if constexpr (S == 2)
        out.add(FMT_COMPILE("{}{}.{:02}"), sign, magnitude / scale, magnitude % scale);
    else
        out.add(FMT_COMPILE("{}{}.{:04}"), sign, magnitude / scale, magnitude % scale);
}

template <class Out>
void put(Out& out, const std::chrono::year_month_day& date) {
    out.add(FMT_COMPILE("{:04}-{:02}-{:02}"), static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
            static_cast<unsigned>(date.day()));
}

// fmt 9's %S drops the microseconds: the fields are formatted as numbers instead.
template <class Out>
void put_time(Out& out, std::chrono::sys_time<std::chrono::microseconds> time, std::string_view zone) {
    using namespace std::chrono;
    const auto day = floor<days>(time);
    const year_month_day date(day);
    const hh_mm_ss<microseconds> clock(time - day);
    out.add(FMT_COMPILE("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}{}"), static_cast<int>(date.year()),
            static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
            clock.minutes().count(), clock.seconds().count(), clock.subseconds().count(), zone);
}
template <class Out>
void put(Out& out, const redsink::timestamp& value) {
    put_time(out, value.value, "");
}
template <class Out>
void put(Out& out, const redsink::timestamptz& value) {
    put_time(out, value.value, "+00");
}

template <class Out, class T>
void put(Out& out, const std::optional<T>& value) {
    if (value)
        put(out, *value);
    else
        out.add_null();
}

// ---- The two tables, typed out ----------------------------------------------------------------

template <class R>
struct Table;

template <>
struct Table<Narrow> {
    static constexpr int columns = 6;
    // A column whose value changes with the row's version, for the benchmarks' check.
    static constexpr std::string_view versioned_column = "account";
    static std::int64_t versioned_value(const Narrow& row) { return row.account; }
    static constexpr std::string_view column_list = "id, account, amount, name, created_at, active";
    static constexpr std::string_view ddl =
        "id BIGINT NOT NULL, account BIGINT NOT NULL, amount NUMERIC(12,2) NOT NULL, name TEXT NOT NULL, "
        "created_at TIMESTAMP NOT NULL, active BOOLEAN NOT NULL";

    template <class Out>
    static void format(const Narrow& row, Out& out) {
        put(out, row.id);
        put(out, row.account);
        put(out, row.amount);
        put(out, row.name);
        put(out, row.created_at);
        put(out, row.active);
        out.end_row();
    }
};

template <>
struct Table<Wide> {
    static constexpr int columns = 39;
    static constexpr std::string_view versioned_column = "views";
    static std::int64_t versioned_value(const Wide& row) { return row.views; }
    static constexpr std::string_view column_list =
        "id, tenant, version, status, active, verified, score, ratio, amount, balance, fee, created_at, updated_at, "
        "birthday, expires_on, email, first_name, last_name, country, city, street, postal_code, phone, description, "
        "notes, user_agent, referrer, tags, comment, source, campaign, clicks, views, sessions, latitude, longitude, "
        "priority, parent_id, checksum";
    static constexpr std::string_view ddl =
        "id BIGINT NOT NULL, tenant INTEGER NOT NULL, version BIGINT NOT NULL, status SMALLINT NOT NULL, "
        "active BOOLEAN NOT NULL, verified BOOLEAN NOT NULL, score DOUBLE PRECISION NOT NULL, ratio REAL NOT NULL, "
        "amount NUMERIC(18,4) NOT NULL, balance NUMERIC(12,2) NOT NULL, fee NUMERIC(12,2), "
        "created_at TIMESTAMP NOT NULL, updated_at TIMESTAMPTZ NOT NULL, birthday DATE NOT NULL, expires_on DATE, "
        "email VARCHAR(254) NOT NULL, first_name VARCHAR(64) NOT NULL, last_name VARCHAR(64) NOT NULL, "
        "country VARCHAR(2) NOT NULL, city TEXT NOT NULL, street TEXT NOT NULL, postal_code VARCHAR(16) NOT NULL, "
        "phone TEXT, description TEXT NOT NULL, notes TEXT NOT NULL, user_agent TEXT NOT NULL, referrer TEXT, "
        "tags TEXT NOT NULL, comment TEXT, source VARCHAR(32) NOT NULL, campaign VARCHAR(64), "
        "clicks INTEGER NOT NULL, views BIGINT NOT NULL, sessions INTEGER NOT NULL, latitude DOUBLE PRECISION NOT "
        "NULL, "
        "longitude DOUBLE PRECISION NOT NULL, priority SMALLINT NOT NULL, parent_id BIGINT, "
        "checksum BIGINT NOT NULL";

    template <class Out>
    static void format(const Wide& row, Out& out) {
        put(out, row.id);
        put(out, row.tenant);
        put(out, row.version);
        put(out, row.status);
        put(out, row.active);
        put(out, row.verified);
        put(out, row.score);
        put(out, row.ratio);
        put(out, row.amount);
        put(out, row.balance);
        put(out, row.fee);
        put(out, row.created_at);
        put(out, row.updated_at);
        put(out, row.birthday);
        put(out, row.expires_on);
        put(out, row.email);
        put(out, row.first_name);
        put(out, row.last_name);
        put(out, row.country);
        put(out, row.city);
        put(out, row.street);
        put(out, row.postal_code);
        put(out, row.phone);
        put(out, row.description);
        put(out, row.notes);
        put(out, row.user_agent);
        put(out, row.referrer);
        put(out, row.tags);
        put(out, row.comment);
        put(out, row.source);
        put(out, row.campaign);
        put(out, row.clicks);
        put(out, row.views);
        put(out, row.sessions);
        put(out, row.latitude);
        put(out, row.longitude);
        put(out, row.priority);
        put(out, row.parent_id);
        put(out, row.checksum);
        out.end_row();
    }
};

// Redshift binds at most 32,767 parameters per statement: 1,000 narrow rows, 840 wide ones.
template <class R>
inline constexpr std::size_t rows_per_statement = std::min<std::size_t>(1'000, 32'767 / Table<R>::columns);

// The table for a record; the key only where rows are upserted (Redshift would not enforce it).
// Autovacuum would start at random points of a timed run: the benchmarks ANALYZE untimed instead.
template <class R>
std::string create_table_sql(std::string_view table, bool keyed) {
    return fmt::format("CREATE TABLE {} ({}{}) WITH (autovacuum_enabled = off)", table, Table<R>::ddl,
                       keyed ? ", PRIMARY KEY (id)" : "");
}

// INSERT INTO table (columns) VALUES ($1, ...), ... for `rows` rows.
template <class R>
std::string insert_sql(std::string_view table, std::size_t rows) {
    fmt::memory_buffer out;
    fmt::format_to(fmt::appender(out), FMT_COMPILE("INSERT INTO {} ({}) VALUES "), table, Table<R>::column_list);
    int param = 1;
    for (std::size_t row = 0; row < rows; ++row) {
        out.append(std::string_view(row == 0 ? "(" : ", ("));
        for (int column = 0; column < Table<R>::columns; ++column)
            fmt::format_to(fmt::appender(out), FMT_COMPILE("{}${}"), column == 0 ? "" : ", ", param++);
        out.push_back(')');
    }
    return fmt::to_string(out);
}

}  // namespace redsink_bench::hand
