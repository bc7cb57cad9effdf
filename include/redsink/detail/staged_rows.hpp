#pragma once

#include <redsink/detail/encoded_batch.hpp>
#include <redsink/encode.hpp>
#include <redsink/row_values.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace redsink::detail {

// A row to stage: which encoded event, and whether it inserts or deletes (sql::op_*). Its values
// are the event's own, or, when reduce() merged kept values into it from earlier events of its
// key, merged row `values` (numbered after the batch's events, as RowValues counts rows).
struct StagedRow {
    static constexpr std::uint32_t own = 0xFFFFFFFF;
    std::uint32_t event;
    char op;
    std::uint32_t values = own;

    // The row that holds its values, as RowValues counts rows.
    [[nodiscard]] std::uint32_t row() const noexcept { return values == own ? event : values; }
};

// What reduce() makes of a batch: the rows to stage, in order, with their counts, and the rows it
// merged kept values into, in storage of their own (the batch stays as the Batcher froze it).
// Owned by the Applier, reused between batches.
struct StagedRows {
    std::vector<StagedRow> rows;
    std::size_t inserts = 0;  // op 'i' and 'x'
    std::size_t deletes = 0;  // op 'd'
    std::size_t keeping = 0;  // staged rows that keep some stored value
    // The merged rows: `columns` values each, a keep text (nullptr once nothing is left to keep)
    // and their bytes; the first is row `first_merged`.
    ParamBuffer merged;
    ParamBuffer merged_keeps;
    std::vector<std::uint32_t> merged_bytes;
    std::uint32_t first_merged = 0;

    void clear() noexcept {
        rows.clear();
        inserts = 0;
        deletes = 0;
        keeping = 0;
        merged.clear();
        merged_keeps.clear();
        merged_bytes.clear();
        first_merged = 0;
    }

    // The values the staged rows send, from the batch and the merged rows.
    [[nodiscard]] RowValues values(const EncodedBatch& batch) const noexcept {
        if (merged_bytes.empty()) return RowValues(batch.params, batch.columns, &batch.keeps);
        return RowValues(batch.params, batch.columns, &batch.keeps, &merged, &merged_keeps, first_merged);
    }
    // The encoded bytes of a staged row's values.
    [[nodiscard]] std::uint32_t bytes(const EncodedBatch& batch, const StagedRow& row) const noexcept {
        return row.values == StagedRow::own ? batch.row_bytes[row.event] : merged_bytes[row.values - first_merged];
    }
};

}  // namespace redsink::detail
