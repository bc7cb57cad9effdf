#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/acks.hpp>
#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/record_model.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/encode.hpp>
#include <redsink/position.hpp>
#include <redsink/sql/dml.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redsink::detail {

// One task's batch as the Batcher filled it, frozen once handed over: its events encoded as they
// were written, one row of `columns` values per event (a delete carries its key columns and NULL
// elsewhere), with each event's position, op, key hash and acknowledgement ticket. With a
// dead-letter policy, also the events the client refused (taken as dead letters, never encoded).
// What the reduction stages is StagedRows (reduce.hpp), what the server refuses Refusals
// (refusals.hpp): neither writes here. Reused between batches: clear() keeps the memory.
struct EncodedBatch {
    ParamBuffer params;
    std::size_t columns = 0;
    std::vector<char> ops;    // per event: sql::op_insert or sql::op_delete
    std::vector<Op> changes;  // per event: its op at the source
    std::vector<Position> positions;
    std::vector<AckTracker::Ticket> tickets;  // every event taken, refused ones included
    std::vector<std::size_t> key_hashes;
    std::vector<std::uint32_t> row_bytes;  // per event: its encoded values' bytes
    // Per event, the stage's keep column (sql::keep_column): '0' or '1' per column, or NULL when
    // the event keeps no stored value (Change::keep).
    ParamBuffer keeps;
    std::size_t events_keeping = 0;          // events with a keep text
    std::vector<DeadLetter> client_refused;  // events the client refused: dead letters, not encoded

    // Encoded events.
    [[nodiscard]] std::size_t events() const noexcept { return ops.size(); }
    // Events taken: encoded, and refused by the client.
    [[nodiscard]] std::size_t taken() const noexcept { return ops.size() + client_refused.size(); }
    [[nodiscard]] bool empty() const noexcept { return taken() == 0; }
    // The memory its values take: what batch_bytes bounds.
    [[nodiscard]] std::size_t bytes() const noexcept { return params.bytes() + params.size() * sizeof(std::uint32_t); }
    [[nodiscard]] const char* value(std::size_t event, std::size_t column) const noexcept {
        return params.data(event * columns + column);
    }
    // The event's keep text: nullptr when it keeps nothing.
    [[nodiscard]] const char* keep(std::size_t event) const noexcept {
        return event < keeps.size() ? keeps.data(event) : nullptr;
    }

    void clear() noexcept {
        params.clear();
        ops.clear();
        changes.clear();
        positions.clear();
        tickets.clear();
        key_hashes.clear();
        row_bytes.clear();
        keeps.clear();
        events_keeping = 0;
        client_refused.clear();
    }
};

// The hash of an encoded key, from the texts of its values `first + key_columns[i]`: equal keys
// hash alike whatever their C++ type. Routing chooses a task with it; reduction finds equal keys
// with it.
[[nodiscard]] inline std::size_t key_hash(const ParamBuffer& params, std::size_t first,
                                          std::span<const std::size_t> key_columns) noexcept {
    std::size_t hash = 0;
    for (const auto column : key_columns)
        hash = hash * 1'000'003 ^ std::hash<std::string_view>{}(params.view(first + column));
    return hash;
}

// No order column: a delete carries its key alone.
inline constexpr std::size_t no_order_column = static_cast<std::size_t>(-1);

// Refuses what the event asks to keep (Change::keep) and the sink cannot: a key member, the
// order member, any member when the sink keeps no stored values (`keeps`: one row per key).
template <class Model>
void check_keep(const Model& model, const MemberSet& keep, bool keeps, std::size_t order_column) {
    for (std::size_t member = 0; member < model.size(); ++member) {
        if (!keep.contains(member)) continue;
        const auto column = std::string(model.column(member).name);
        if (!keeps)
            throw BadValue(column,
                           "the event does not carry its value (it asks to keep the stored one: Change::keep, such "
                           "as Debezium's unavailable value of an unchanged TOAST column), and only a sink with one "
                           "row per key (upsert, newest_wins) keeps stored values");
        if (model.is_key(member))
            throw BadValue(column,
                           "the event does not carry the value of this key column (Change::keep): a key "
                           "value cannot be kept");
        if (member == order_column)
            throw BadValue(column,
                           "the event does not carry the value of newest_wins's order column "
                           "(Change::keep): events cannot be ordered without it");
    }
}

// Encodes one event as the next row of `batch`, through the record's model (record_model.hpp). A
// delete encodes its key members only, and the member at `order_column` (newest_wins's order
// column: a delete's order decides whether it is stale). On a bad value nothing of the event
// stays in the batch, and the BadValue names the column (the caller adds the table and the
// position). `hash` is the key's hash when the caller computed it already. A member the event
// keeps (Change::keep) is encoded as NULL, and the event's keep text says which: `keeps` says
// whether the sink keeps stored values at all.
template <class R, class Model>
void encode_change(const Change<R>& change, EncodedBatch& batch, const Model& model,
                   std::optional<std::size_t> hash = std::nullopt, std::size_t order_column = no_order_column,
                   bool keeps = false) {
    const std::size_t size = model.size();
    model.check(change.row);
    batch.columns = size;
    const bool removes = is_delete(change.op);
    const bool keeping = !removes && !change.keep.empty();
    if (keeping) check_keep(model, change.keep, keeps, order_column);
    const auto mark = batch.params.mark();
    try {
        model.for_each(change.row, [&](auto index, const auto& value) {
            const std::size_t member = index;
            if (keeping && change.keep.contains(member))
                batch.params.push_null();
            else if (!removes || model.is_key(member) || member == order_column)
                encode_value(value, batch.params, model.column(member));
            else
                batch.params.push_null();
        });
    } catch (...) {
        batch.params.rollback(mark);
        throw;
    }
    // A kept row carries its keep text: one character per column.
    const auto row_bytes = batch.params.bytes() - mark.bytes + (keeping ? size + 1 : 0);
    if (model.dialect() == Dialect::redshift && row_bytes > max_statement_value_bytes) {
        batch.params.rollback(mark);
        throw BadValue("(row)", "its values take " + std::to_string(row_bytes) +
                                    " bytes, more than one Redshift statement (16 MB) can carry");
    }
    if (keeping) {
        char* out = batch.keeps.prepare(size);
        for (std::size_t member = 0; member < size; ++member) out[member] = change.keep.contains(member) ? '1' : '0';
        batch.keeps.commit(out + size);
        ++batch.events_keeping;
    } else {
        batch.keeps.push_null();
    }
    const auto first = batch.events() * size;
    batch.key_hashes.push_back(hash ? *hash : key_hash(batch.params, first, model.key_indexes()));
    batch.ops.push_back(removes ? sql::op_delete : sql::op_insert);
    batch.changes.push_back(change.op);
    batch.positions.push_back(change.position);
    batch.row_bytes.push_back(static_cast<std::uint32_t>(row_bytes));
}

// 0, 1, 2, ...: the positions of a key's values encoded alone, one after the other.
inline constexpr auto value_positions = [] {
    std::array<std::size_t, 1600> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = i;
    return out;
}();

// The key's hash of a row, encoding its key members into `scratch` (for routing, before the row
// is encoded into its task's batch).
template <class R, class Model>
[[nodiscard]] std::size_t row_key_hash(const R& row, ParamBuffer& scratch, const Model& model) {
    model.check(row);
    scratch.clear();
    model.for_each(row, [&](auto index, const auto& value) {
        if (model.is_key(index)) encode_value(value, scratch, model.column(index));
    });
    return key_hash(scratch, 0, std::span(value_positions.data(), model.key_indexes().size()));
}

}  // namespace redsink::detail
