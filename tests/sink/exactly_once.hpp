#pragma once

// What the exactly-once tests and their child process (exactly_once_child.cpp) share: the
// records, the sinks, and a stream whose every event is a function of its position, so that a
// process that restarts anywhere writes the same events again.
#include <redsink/sink.hpp>

#include <support/rows.hpp>
#include <support/stream.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>

namespace redsink_test {

// Append mode: one row per event, so that a duplicate or a loss shows.
struct Entry {
    BOOST_HANA_DEFINE_STRUCT(Entry, (std::int32_t, source_partition), (std::int64_t, source_offset),
                             (std::string, payload));
};

template <class Dialect>
using AppendOnce = redsink::Sink<Entry, redsink::exactly_once, redsink::create_table, Dialect>;

template <class Dialect>
using UpsertOnce = redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::exactly_once,
                                 redsink::create_table, Dialect>;

inline constexpr std::int32_t once_partitions = 4;

inline redsink::Change<Entry> entry_event(std::int32_t partition, std::int64_t offset) {
    return redsink::created(
        Entry{partition, offset, "event " + std::to_string(partition) + "/" + std::to_string(offset)},
        {partition, offset});
}

// Upserts of a few keys of the partition's own (a key stays in one partition), deletes and
// tombstones; the same event for the same position, every time.
inline AccountChange account_event(std::int32_t partition, std::int64_t offset) {
    std::mt19937_64 random(static_cast<std::uint64_t>(partition) * 1'000'003u + static_cast<std::uint64_t>(offset));
    Account row{};
    row.id = partition * 1000 + static_cast<std::int64_t>(random() % 40);
    const redsink::Position position{partition, offset};
    const auto roll = random() % 100;
    if (roll < 10) return redsink::deleted(row, position);
    if (roll < 15) return redsink::tombstone(row, position);
    row.version = offset;
    row.name = "name " + std::to_string(offset);
    if (roll % 2 == 0) row.note = "note " + std::to_string(random() % 1000);
    row.balance = redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(random() % 1'000'000));
    row.active = roll % 3 == 0;
    return redsink::upserted(row, position);
}

// The table the whole stream leaves in upsert mode: each partition's events in order.
inline std::vector<std::string> account_model(std::int64_t per_partition) {
    Model model(InsertKind::upsert, DeleteKind::hard);
    for (std::int32_t partition = 0; partition < once_partitions; ++partition)
        for (std::int64_t offset = 0; offset < per_partition; ++offset) model.apply(account_event(partition, offset));
    return model.rows();
}

// Rows whose source adds a column half-way: each partition's events from offset per_partition / 2
// on carry `region`. A process started again starts on the first schema, as an app that does
// not know of the change; the sink adds the column when the first such row comes.
template <class Dialect>
using RowsOnce = redsink::Sink<redsink::Row, redsink::upsert, redsink::hard_delete, redsink::exactly_once,
                               redsink::evolve_schema, Dialect>;

inline const std::shared_ptr<const RowSchema>& rows_first_schema() {
    static const auto schema = account_schema();
    return schema;
}
inline const std::shared_ptr<const RowSchema>& rows_region_schema() {
    static const auto schema = [] {
        auto columns = account_schema()->columns();
        columns.push_back({"region", ColumnType{.kind = SqlKind::text, .nullable = true}});
        return std::make_shared<const RowSchema>(std::move(columns));
    }();
    return schema;
}

inline RowChange account_row_event(std::int32_t partition, std::int64_t offset, std::int64_t per_partition) {
    const auto change = account_event(partition, offset);
    if (offset < per_partition / 2) return as_row(change, rows_first_schema());
    auto out = as_row(change, rows_region_schema());
    if (!redsink::is_delete(change.op)) out.row.set("region", "region " + std::to_string(offset % 7));
    return out;
}

// The table the whole Rows stream leaves: row_text and the region (or <NULL>), by key.
inline std::vector<std::string> account_rows_model(std::int64_t per_partition) {
    std::map<std::int64_t, std::string> rows;
    for (std::int32_t partition = 0; partition < once_partitions; ++partition)
        for (std::int64_t offset = 0; offset < per_partition; ++offset) {
            const auto change = account_event(partition, offset);
            if (redsink::is_delete(change.op)) {
                rows.erase(change.row.id);
                continue;
            }
            rows[change.row.id] = row_text(change.row) + "|" +
                                  (offset < per_partition / 2 ? "<NULL>" : "region " + std::to_string(offset % 7));
        }
    std::vector<std::string> out;
    for (const auto& [id, text] : rows) out.push_back(text);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace redsink_test
