#pragma once

// What the exactly-once tests and their child process (exactly_once_child.cpp) share: the
// records, the sinks, and a stream whose every event is a function of its position, so that a
// process that restarts anywhere writes the same events again.
#include <redsink/sink.hpp>

#include <support/stream.hpp>

#include <cstdint>
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

}  // namespace redsink_test
