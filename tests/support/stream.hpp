#pragma once

// A seeded random change stream and an independent reference model of the table it should
// leave: the model applies the events to std::map / std::multimap in the plainest way, without
// any of the sink's batching, reduction or SQL.
#include <redsink/change.hpp>
#include <redsink/position.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/record.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace redsink_test {

struct Account {
    BOOST_HANA_DEFINE_STRUCT(Account, (std::int64_t, id), (std::int64_t, version), (std::string, name),
                             (std::optional<std::string>, note), (redsink::decimal<12, 2>, balance), (bool, active));
};
using AccountKey = redsink::primary_key<"id">;
using AccountChange = redsink::Change<Account>;

struct StreamShape {
    std::uint64_t seed = 1;
    std::size_t events = 3000;
    std::int64_t keys = 200;
    std::int32_t partitions = 3;
};

// Many updates of a few hot keys, creates, deletes, tombstones, snapshot reads, re-inserts
// after deletes. Offsets grow per partition; a key always maps to the same partition.
inline std::vector<AccountChange> random_stream(const StreamShape& shape) {
    std::mt19937_64 random(shape.seed);
    std::vector<std::int64_t> next_offset(static_cast<std::size_t>(shape.partitions), 0);
    std::vector<AccountChange> stream;
    stream.reserve(shape.events);
    const char* names[] = {"Ada",        "Grace \xE2\x9C\x93", "O'Brien",   "back\\slash",
                           "\"quoted\"", "tab\there",          "Zo\xC3\xAB"};
    for (std::size_t i = 0; i < shape.events; ++i) {
        const bool hot = random() % 3 == 0;
        const auto id =
            static_cast<std::int64_t>(hot ? random() % 5 : random() % static_cast<std::uint64_t>(shape.keys));
        const auto partition = static_cast<std::int32_t>(id % shape.partitions);
        const redsink::Position position{partition, next_offset[static_cast<std::size_t>(partition)]++};
        const auto roll = random() % 100;
        Account row{};
        row.id = id;
        if (roll < 15) {
            stream.push_back(redsink::deleted(row, position));
            continue;
        }
        if (roll < 20) {
            stream.push_back(redsink::tombstone(row, position));
            continue;
        }
        row.version = static_cast<std::int64_t>(i);
        row.name = std::string(names[random() % 7]) + " " + std::to_string(id);
        if (random() % 2 == 0) row.note = "note " + std::to_string(random() % 1000);
        row.balance = redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(random() % 10'000'000));
        row.active = random() % 2 == 0;
        const auto op = roll < 40 ? redsink::Op::create : roll < 90 ? redsink::Op::update : redsink::Op::read;
        stream.push_back({op, row, position});
    }
    return stream;
}

// Per partition, the last offset of a stream: what the sink acknowledges once it committed it all.
template <class Change>
redsink::Positions last_positions(const std::vector<Change>& stream) {
    redsink::Positions last;
    for (const auto& change : stream) last[change.position.partition] = change.position.offset;
    return last;
}

// The text PostgreSQL prints for a NUMERIC(12,2) of `units` hundredths.
inline std::string cents_text(redsink::int128 units) {
    const auto value = static_cast<long long>(units);
    return fmt::format("{}{}.{:02}", value < 0 ? "-" : "", std::abs(value) / 100, std::abs(value) % 100);
}

// One row as text, in the order table_rows() reads it.
inline std::string row_text(const Account& row, std::optional<bool> deleted = std::nullopt) {
    auto text = fmt::format("{}|{}|{}|{}|{}|{}", row.id, row.version, row.name, row.note.value_or("<NULL>"),
                            cents_text(row.balance.units), row.active ? "t" : "f");
    if (deleted) text += *deleted ? "|t" : "|f";
    return text;
}

enum class InsertKind { append, upsert };
enum class DeleteKind { ignore, hard, soft };

// The final table the events imply, for each insert and delete mode.
class Model {
public:
    Model(InsertKind insert, DeleteKind remove) : insert_(insert), delete_(remove) {}

    void apply(const AccountChange& change) {
        const auto id = change.row.id;
        if (redsink::is_delete(change.op)) {
            if (delete_ == DeleteKind::ignore) return;
            auto [first, last] = rows_.equal_range(id);
            if (delete_ == DeleteKind::hard)
                rows_.erase(first, last);
            else
                for (auto it = first; it != last; ++it) it->second.second = true;
            return;
        }
        if (insert_ == InsertKind::upsert) rows_.erase(id);
        rows_.emplace(id, std::make_pair(change.row, false));
    }

    void apply(const std::vector<AccountChange>& changes) {
        for (const auto& change : changes) apply(change);
    }

    [[nodiscard]] std::vector<std::string> rows() const {
        std::vector<std::string> out;
        for (const auto& [id, row] : rows_)
            out.push_back(
                row_text(row.first, delete_ == DeleteKind::soft ? std::optional<bool>(row.second) : std::nullopt));
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    InsertKind insert_;
    DeleteKind delete_;
    std::multimap<std::int64_t, std::pair<Account, bool>> rows_;
};

// A query's rows as text, columns joined by '|', NULL as <NULL>, sorted.
inline std::vector<std::string> query_rows(redsink::pq::Connection& conn, const std::string& query) {
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

// The table's rows as text, sorted, comparable with Model::rows().
inline std::vector<std::string> table_rows(redsink::pq::Connection& conn, const std::string& table,
                                           bool soft_deleted = false) {
    return query_rows(conn, "SELECT id, version, name, coalesce(note, '<NULL>'), balance, active" +
                                std::string(soft_deleted ? ", deleted" : "") + " FROM " + table);
}

}  // namespace redsink_test
