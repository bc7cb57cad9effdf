#pragma once

#include <redsink/detail/encoded_batch.hpp>
#include <redsink/detail/refusals.hpp>
#include <redsink/detail/staged_rows.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/sql/dml.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace redsink::detail {

// Finds events with equal keys by their encoded key texts, without allocating per event: open
// addressing over event indexes, probing from the key hash computed when the event was encoded.
class KeyIndex {
public:
    KeyIndex(const EncodedBatch& batch, std::span<const std::size_t> key_columns) : batch_(batch), keys_(key_columns) {
        std::size_t capacity = 16;
        int bits = 4;
        while (capacity < batch.events() * 2) {
            capacity *= 2;
            ++bits;
        }
        slots_.assign(capacity, empty);
        mask_ = capacity - 1;
        shift_ = 64 - bits;
    }

    // The slot that holds `event`'s key: either empty (a new key) or the index stored there.
    [[nodiscard]] std::uint32_t& slot(std::uint32_t event) {
        // The hash's low bits chose the event's task: probe from its high bits.
        for (std::size_t i = (batch_.key_hashes[event] * 0x9E3779B97F4A7C15ULL) >> shift_;; i = (i + 1) & mask_) {
            if (slots_[i] == empty || same_key(slots_[i], event)) return slots_[i];
        }
    }

    static constexpr std::uint32_t empty = 0xFFFFFFFF;

private:
    [[nodiscard]] bool same_key(std::uint32_t a, std::uint32_t b) const noexcept {
        if (batch_.key_hashes[a] != batch_.key_hashes[b]) return false;
        for (const auto column : keys_)
            if (batch_.params.view(a * batch_.columns + column) != batch_.params.view(b * batch_.columns + column))
                return false;
        return true;
    }

    const EncodedBatch& batch_;
    std::span<const std::size_t> keys_;
    std::vector<std::uint32_t> slots_;
    std::size_t mask_ = 0;
    int shift_ = 60;
};

// The column newest_wins orders events by: its index among the record's columns, and whether its
// encoded text is an integer (compared as a number) or a date or timestamp (fixed-width text,
// years 1 to 9999: compared as text).
struct OrderColumn {
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t index = none;
    bool numeric = false;

    // -1, 0 or 1 as the order value of event `a` is lower than, equal to or higher than `b`'s.
    [[nodiscard]] int compare(const EncodedBatch& batch, std::uint32_t a, std::uint32_t b) const noexcept {
        const auto left = batch.params.view(a * batch.columns + index);
        const auto right = batch.params.view(b * batch.columns + index);
        if (!numeric) return left < right ? -1 : (left == right ? 0 : 1);
        std::int64_t x = 0;
        std::int64_t y = 0;
        (void)std::from_chars(left.data(), left.data() + left.size(), x);
        (void)std::from_chars(right.data(), right.data() + right.size(), y);
        return x < y ? -1 : (x == y ? 0 : 1);
    }
    // Event `a` is newer than the earlier-written event `b`: a higher order value, or an equal one
    // (the later write wins a tie).
    [[nodiscard]] bool supersedes(const EncodedBatch& batch, std::uint32_t a, std::uint32_t b) const noexcept {
        return compare(batch, a, b) >= 0;
    }
};

// reduce()'s working memory, kept between batches: per key (indexed by its first event) its
// last event, last delete and last insert; per event its key and the key's event before it.
struct ReduceScratch {
    std::vector<std::uint32_t> owner, last_event, last_delete, last_insert, previous;
};

// reduce()'s merging of kept values (see reduce), for the staged rows whose event keeps some.
// `order`: newest_per_key's order column (earlier means older by it, ties by event order).
// `keep_rows`: a delete keeps the row (soft_delete), values included, so the search goes on.
inline void merge_kept_values(const EncodedBatch& batch, const Refusals& refusals, const ReduceScratch& scratch,
                              const OrderColumn* order, bool keep_rows, StagedRows& out) {
    constexpr auto none = KeyIndex::empty;
    const auto columns = batch.columns;
    out.first_merged = static_cast<std::uint32_t>(batch.events());
    std::vector<std::uint32_t> earlier;
    std::vector<std::uint32_t> source;  // per column: the event its value comes from
    std::vector<char> kept;             // per column: still kept after the merge
    for (auto& row : out.rows) {
        if (row.op == sql::op_delete) continue;
        const char* keep = batch.keep(row.event);
        if (keep == nullptr) continue;
        // The key's earlier events, nearest first.
        earlier.clear();
        if (order == nullptr) {
            for (auto e = scratch.previous[row.event]; e != none; e = scratch.previous[e])
                if (!refusals.is_refused(e)) earlier.push_back(e);
        } else {
            for (auto e = scratch.last_event[scratch.owner[row.event]]; e != none; e = scratch.previous[e]) {
                if (e == row.event || refusals.is_refused(e)) continue;
                const int by_order = order->compare(batch, e, row.event);
                if (by_order < 0 || (by_order == 0 && e < row.event)) earlier.push_back(e);
            }
            std::stable_sort(earlier.begin(), earlier.end(), [&](std::uint32_t a, std::uint32_t b) {
                const int by_order = order->compare(batch, a, b);
                return by_order > 0 || (by_order == 0 && a > b);
            });
        }
        kept.assign(keep, keep + columns);
        source.assign(columns, row.event);
        std::size_t pending = static_cast<std::size_t>(std::count(kept.begin(), kept.end(), '1'));
        bool merged = false;
        for (const auto e : earlier) {
            if (pending == 0) break;
            if (batch.ops[e] == sql::op_delete) {
                if (keep_rows) continue;
                // Deleted in the batch before this row: nothing stored is left to keep.
                std::replace(kept.begin(), kept.end(), '1', '0');
                pending = 0;
                merged = true;
                break;
            }
            const char* its = batch.keep(e);
            for (std::size_t column = 0; column < columns; ++column) {
                if (kept[column] != '1' || (its != nullptr && its[column] == '1')) continue;
                kept[column] = '0';
                source[column] = e;
                --pending;
                merged = true;
            }
        }
        if (!merged) continue;
        // The merged row, in the staged rows' own storage: values, keep text and bytes.
        std::size_t bytes = 0;
        for (std::size_t column = 0; column < columns; ++column) {
            const auto index = source[column] * columns + column;
            bytes += batch.params.view(index).size() + 1;
            if (batch.params.is_null(index))
                out.merged.push_null();
            else
                out.merged.push(batch.params.view(index));
        }
        if (pending > 0) {
            out.merged_keeps.push(std::string_view(kept.data(), kept.size()));
            bytes += columns + 1;
        } else {
            out.merged_keeps.push_null();
        }
        row.values = out.first_merged + static_cast<std::uint32_t>(out.merged_bytes.size());
        out.merged_bytes.push_back(static_cast<std::uint32_t>(bytes));
    }
    const auto values = out.values(batch);
    for (const auto& row : out.rows)
        if (row.op != sql::op_delete && values.keep(row.row()) != nullptr) ++out.keeping;
}

// Reduces a batch to its net effect per key, in event order:
// - last_per_key: each key's last event, an insert or a delete; when `keep_rows` and the last
//   event is a delete, the key's last insert instead, staged as deleted ('x');
// - newest_per_key (needs `order`): each key's newest event by the order column, ties going to
//   the later write; when it is a delete, staged as one ('d') and, when `keep_rows`, with the
//   key's newest insert staged as deleted ('x'); when it is an insert ('i'), alone. The plan's
//   statements compare the staged values with the table's (newest_wins);
// - inserts_after_last_delete: one delete for each key deleted in the batch, and every insert
//   after its key's last delete; when `keep_rows`, the inserts before it too, as deleted ('x').
// Without key columns every event is an insert and is staged. Events the server refused
// (dead-lettered) are left out, as if they had never been written.
//
// A staged insert that keeps stored values (Change::keep) takes each kept value from the key's
// nearest earlier insert in the batch that carries it (earlier by the order column for
// newest_per_key, else in event order), as a merged row (StagedRow::values); an earlier delete
// of the key ends the search (the values it removed are gone: NULL) unless the delete mode keeps
// rows (soft_delete: the flagged row keeps its values). What no earlier event carries stays kept:
// the plan's keep statement reads it from the table, flagged rows included.
inline void reduce(const EncodedBatch& batch, const Refusals& refusals, Reduction reduction, bool keep_rows,
                   std::span<const std::size_t> key_columns, OrderColumn order, StagedRows& out,
                   ReduceScratch& scratch) {
    out.clear();
    const auto events = static_cast<std::uint32_t>(batch.events());
    const auto stage = [&](std::uint32_t event, char op) {
        out.rows.push_back({event, op});
        (op == sql::op_delete ? out.deletes : out.inserts) += 1;
    };
    const bool any_delete = std::find(batch.ops.begin(), batch.ops.end(), sql::op_delete) != batch.ops.end();
    // Without a key, or appending a batch without deletes, every event is staged as it is.
    if (key_columns.empty() || (reduction == Reduction::inserts_after_last_delete && !any_delete)) {
        out.rows.reserve(events);
        for (std::uint32_t event = 0; event < events; ++event)
            if (!refusals.is_refused(event)) stage(event, batch.ops[event]);
        return;
    }
    constexpr auto none = KeyIndex::empty;
    KeyIndex index(batch, key_columns);
    auto& owner = scratch.owner;
    auto& last_event = scratch.last_event;
    auto& last_delete = scratch.last_delete;
    auto& last_insert = scratch.last_insert;
    auto& previous = scratch.previous;
    const bool keeping = batch.events_keeping > 0;
    owner.resize(events);
    if (keeping) previous.assign(events, none);
    last_event.assign(events, none);
    last_delete.assign(events, none);
    last_insert.assign(events, none);
    for (std::uint32_t event = 0; event < events; ++event) {
        if (refusals.is_refused(event)) continue;
        auto& slot = index.slot(event);
        if (slot == none) slot = event;
        owner[event] = slot;
        if (keeping && last_event[slot] != none) previous[event] = last_event[slot];
        last_event[slot] = event;
        auto& newest = (batch.ops[event] == sql::op_delete ? last_delete : last_insert)[slot];
        // newest_per_key keeps each kind's newest event instead of its last.
        if (reduction != Reduction::newest_per_key || newest == none || order.supersedes(batch, event, newest))
            newest = event;
    }
    for (std::uint32_t event = 0; event < events; ++event) {
        if (refusals.is_refused(event)) continue;
        const auto key = owner[event];
        const bool deletes = batch.ops[event] == sql::op_delete;
        if (reduction == Reduction::newest_per_key) {
            const auto insert = last_insert[key];
            const auto remove = last_delete[key];
            // The delete wins when it is newer than the newest insert (or the later of equals).
            const bool delete_wins = remove != none && (insert == none || order.compare(batch, remove, insert) > 0 ||
                                                        (order.compare(batch, remove, insert) == 0 && remove > insert));
            if (event == remove && delete_wins)
                stage(event, sql::op_delete);
            else if (event == insert && (!delete_wins || keep_rows))
                stage(event, delete_wins ? sql::op_deleted_insert : sql::op_insert);
        } else if (reduction == Reduction::last_per_key) {
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
    if (keeping)
        merge_kept_values(batch, refusals, scratch, reduction == Reduction::newest_per_key ? &order : nullptr,
                          keep_rows, out);
}

// The staged rows of a batch, with working memory of its own: for tests and one-off use.
[[nodiscard]] inline StagedRows reduce(const EncodedBatch& batch, Reduction reduction, bool keep_rows,
                                       std::span<const std::size_t> key_columns, OrderColumn order = {},
                                       const Refusals& refusals = {}) {
    StagedRows out;
    ReduceScratch scratch;
    reduce(batch, refusals, reduction, keep_rows, key_columns, order, out, scratch);
    return out;
}

// How a task reduces its batches, with its working memory.
struct Reducer {
    Reduction reduction = Reduction::inserts_after_last_delete;
    bool keep_rows = false;
    std::span<const std::size_t> key_columns;
    OrderColumn order{};
    ReduceScratch scratch{};

    void operator()(const EncodedBatch& batch, const Refusals& refusals, StagedRows& out) {
        reduce(batch, refusals, reduction, keep_rows, key_columns, order, out, scratch);
    }
};

}  // namespace redsink::detail
