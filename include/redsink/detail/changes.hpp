#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/batch.hpp>
#include <redsink/encode.hpp>
#include <redsink/record.hpp>
#include <redsink/sql/dml.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace redsink::detail {

// A row's size for batch_bytes: the bytes of its strings and documents, the size of the rest.
template <class T>
std::size_t value_bytes(const T& value) {
    if constexpr (std::is_same_v<T, std::string>)
        return value.size();
    else if constexpr (requires { value.value.size(); })
        return value.value.size();
    else if constexpr (std::is_same_v<T, json>)
        return value.text.size();
    else if constexpr (requires { value.has_value(); })
        return value ? value_bytes(*value) : 1;
    else
        return sizeof(T);
}

template <class R>
std::size_t row_bytes(const R& row) {
    std::size_t bytes = 0;
    record_info<R>::for_each(row, [&](auto, const auto& value) { bytes += value_bytes(value) + 1; });
    return bytes;
}

template <class R>
using ColumnContexts = std::array<ColumnContext, record_info<R>::size>;

// Appends change events to a batch, one row per event; a delete carries only its key, the
// other members may be unset. A bad value is reported with the table and the event's position.
template <class R, class Key>
void encode_changes(std::span<const Change<R>> changes, EncodedBatch& batch, const ColumnContexts<R>& columns,
                    const std::string& table) {
    using info = record_info<R>;
    using keys = key_info<R, Key>;
    batch.columns = info::size;
    for (const auto& change : changes) {
        const auto before = batch.params.bytes();
        try {
            if (is_delete(change.op)) {
                info::for_each(change.row, [&](auto index, const auto& value) {
                    if constexpr (keys::is_key(decltype(index)::value))
                        encode_value(value, batch.params, columns[index]);
                    else
                        batch.params.push_null();
                });
            } else {
                encode_row(change.row, batch.params, columns);
            }
        } catch (const BadValue& error) {
            throw error.at(table, change.position);
        }
        batch.ops.push_back(is_delete(change.op) ? sql::op_delete : sql::op_insert);
        batch.positions.push_back(change.position);
        batch.row_bytes.push_back(static_cast<std::uint32_t>(batch.params.bytes() - before));
    }
}

// A hash of a row's encoded key columns (so equal keys hash alike whatever their C++ type).
template <class R, class Key>
std::size_t key_hash(const R& row, ParamBuffer& scratch, const ColumnContexts<R>& columns) {
    scratch.clear();
    std::size_t hash = 0;
    record_info<R>::for_each(row, [&](auto index, const auto& value) {
        if constexpr (key_info<R, Key>::is_key(decltype(index)::value)) {
            encode_value(value, scratch, columns[index]);
            hash = hash * 1'000'003 ^ std::hash<std::string_view>{}(scratch.view(scratch.size() - 1));
        }
    });
    return hash;
}

}  // namespace redsink::detail
