#pragma once

#include <redsink/encode.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/position.hpp>
#include <redsink/sql/dml.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace redsink::detail {

// A row to stage: which encoded event, and whether it inserts or deletes.
struct StagedRow {
    std::uint32_t event;
    char op;
};

// A batch after encoding: one row of `columns` values per event (a delete carries its key
// columns and NULL elsewhere), and after reduce(), the rows to stage. Reused between batches.
struct EncodedBatch {
    ParamBuffer params;
    std::size_t columns = 0;
    std::vector<char> ops;                 // per event: sql::op_insert or sql::op_delete
    std::vector<Position> positions;       // per event
    std::vector<std::uint32_t> row_bytes;  // per event: encoded bytes
    std::vector<StagedRow> staged;
    std::size_t staged_inserts = 0;  // op 'i' and 'x'
    std::size_t staged_deletes = 0;  // op 'd'
    // Set when events are encoded on demand (a direct COPY streams them while the server reads):
    // encodes events up to the given count.
    std::function<void(std::size_t)> encode_until;

    void ensure_encoded(std::size_t count) {
        if (encode_until && events() < count) encode_until(count);
    }

    // reduce()'s working memory, kept between batches.
    std::vector<std::uint32_t> owner, last_event, last_delete, last_insert;

    void clear() noexcept {
        encode_until = nullptr;
        params.clear();
        ops.clear();
        positions.clear();
        row_bytes.clear();
        staged.clear();
        staged_inserts = 0;
        staged_deletes = 0;
    }

    [[nodiscard]] std::size_t events() const noexcept { return ops.size(); }
    [[nodiscard]] const char* value(std::size_t event, std::size_t column) const noexcept {
        return params.data(event * columns + column);
    }
};

// Finds events with equal keys by their encoded key text, without allocating per event: open
// addressing over event indexes.
class KeyIndex {
public:
    KeyIndex(const EncodedBatch& batch, std::span<const std::size_t> key_columns) : batch_(batch), keys_(key_columns) {
        std::size_t capacity = 16;
        while (capacity < batch.events() * 2) capacity *= 2;
        slots_.assign(capacity, empty);
        mask_ = capacity - 1;
    }

    // The slot that holds `event`'s key: either empty (a new key) or the index stored there.
    [[nodiscard]] std::uint32_t& slot(std::uint32_t event) {
        for (std::size_t i = hash(event) & mask_;; i = (i + 1) & mask_) {
            if (slots_[i] == empty || same_key(slots_[i], event)) return slots_[i];
        }
    }

    static constexpr std::uint32_t empty = 0xFFFFFFFF;

private:
    [[nodiscard]] std::size_t hash(std::uint32_t event) const noexcept {
        std::size_t h = 0;
        for (const auto column : keys_) {
            h ^= std::hash<std::string_view>{}(batch_.params.view(event * batch_.columns + column)) +
                 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        }
        return h;
    }
    [[nodiscard]] bool same_key(std::uint32_t a, std::uint32_t b) const noexcept {
        for (const auto column : keys_)
            if (batch_.params.view(a * batch_.columns + column) != batch_.params.view(b * batch_.columns + column))
                return false;
        return true;
    }

    const EncodedBatch& batch_;
    std::span<const std::size_t> keys_;
    std::vector<std::uint32_t> slots_;
    std::size_t mask_ = 0;
};

// Reduces a batch to its net effect per key, in event order:
// - last_per_key: each key's last event, an insert or a delete; when `keep_rows` and the last
//   event is a delete, the key's last insert instead, staged as deleted ('x');
// - inserts_after_last_delete: one delete for each key deleted in the batch, and every insert
//   after its key's last delete; when `keep_rows`, the inserts before it too, as deleted ('x').
// Without key columns every event is an insert and is staged.
inline void reduce(EncodedBatch& batch, Reduction reduction, bool keep_rows, std::span<const std::size_t> key_columns) {
    batch.staged.clear();
    batch.staged_inserts = 0;
    batch.staged_deletes = 0;
    const auto events = static_cast<std::uint32_t>(batch.events());
    const auto stage = [&](std::uint32_t event, char op) {
        batch.staged.push_back({event, op});
        (op == sql::op_delete ? batch.staged_deletes : batch.staged_inserts) += 1;
    };
    const bool any_delete = std::find(batch.ops.begin(), batch.ops.end(), sql::op_delete) != batch.ops.end();
    // Without a key, or appending a batch without deletes, every event is staged as it is.
    if (key_columns.empty() || (reduction == Reduction::inserts_after_last_delete && !any_delete)) {
        for (std::uint32_t event = 0; event < events; ++event) stage(event, batch.ops[event]);
        return;
    }
    constexpr auto none = KeyIndex::empty;
    KeyIndex index(batch, key_columns);
    // Per key (indexed by its first event): its last event, last delete and last insert.
    auto& owner = batch.owner;
    auto& last_event = batch.last_event;
    auto& last_delete = batch.last_delete;
    auto& last_insert = batch.last_insert;
    owner.resize(events);
    last_event.assign(events, none);
    last_delete.assign(events, none);
    last_insert.assign(events, none);
    for (std::uint32_t event = 0; event < events; ++event) {
        auto& slot = index.slot(event);
        if (slot == none) slot = event;
        owner[event] = slot;
        last_event[slot] = event;
        (batch.ops[event] == sql::op_delete ? last_delete : last_insert)[slot] = event;
    }
    for (std::uint32_t event = 0; event < events; ++event) {
        const auto key = owner[event];
        const bool deletes = batch.ops[event] == sql::op_delete;
        if (reduction == Reduction::last_per_key) {
            const bool ends_deleted = batch.ops[last_event[key]] == sql::op_delete;
            if (keep_rows && ends_deleted && last_insert[key] != none) {
                if (event == last_insert[key]) stage(event, sql::op_deleted_insert);
            } else if (event == last_event[key]) {
                stage(event, batch.ops[event]);
            }
        } else if (deletes) {
            if (event == last_delete[key]) stage(event, sql::op_delete);
        } else if (last_delete[key] == none || event > last_delete[key]) {
            stage(event, sql::op_insert);
        } else if (keep_rows) {
            stage(event, sql::op_deleted_insert);
        }
    }
}

}  // namespace redsink::detail
