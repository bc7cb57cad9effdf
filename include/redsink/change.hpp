#pragma once

#include <redsink/position.hpp>

#include <string_view>
#include <utility>

namespace redsink {

// What happened to a row at the source. create, update and read (a snapshot) carry the whole
// row; remove and tombstone need only the key members set (and, with newest_wins<"col">, `col`:
// the delete's own order value).
enum class Op { create, update, read, remove, tombstone };

[[nodiscard]] constexpr bool is_delete(Op op) noexcept {
    return op == Op::remove || op == Op::tombstone;
}

[[nodiscard]] constexpr std::string_view to_string(Op op) noexcept {
    switch (op) {
        case Op::create: return "create";
        case Op::update: return "update";
        case Op::read: return "read";
        case Op::remove: return "delete";
        case Op::tombstone: return "tombstone";
    }
    return "?";
}

// One change event for a record type, with where it came from.
template <class Record>
struct Change {
    Op op = Op::update;
    Record row{};
    Position position{};
};

// The row as it now is (a create or an update).
template <class Record>
[[nodiscard]] Change<Record> upserted(Record row, Position position) {
    return {Op::update, std::move(row), position};
}

template <class Record>
[[nodiscard]] Change<Record> created(Record row, Position position) {
    return {Op::create, std::move(row), position};
}

// The row was deleted; only its key members need be set (with newest_wins<"col">, `col` too).
template <class Record>
[[nodiscard]] Change<Record> deleted(Record key, Position position) {
    return {Op::remove, std::move(key), position};
}

// A tombstone for the key (a compacted topic's null value): deletes like a delete event.
template <class Record>
[[nodiscard]] Change<Record> tombstone(Record key, Position position) {
    return {Op::tombstone, std::move(key), position};
}

}  // namespace redsink
