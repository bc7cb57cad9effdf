#pragma once

#include <redsink/position.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

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

// Members of a record, by index (record_info<Record>::member_names's order).
class MemberSet {
public:
    void insert(std::size_t member) {
        if (member / 64 >= words_.size()) words_.resize(member / 64 + 1);
        words_[member / 64] |= std::uint64_t{1} << (member % 64);
    }
    [[nodiscard]] bool contains(std::size_t member) const noexcept {
        return member / 64 < words_.size() && ((words_[member / 64] >> (member % 64)) & 1) != 0;
    }
    void erase(std::size_t member) noexcept {
        if (member / 64 < words_.size()) words_[member / 64] &= ~(std::uint64_t{1} << (member % 64));
    }
    [[nodiscard]] bool empty() const noexcept {
        for (const auto word : words_)
            if (word != 0) return false;
        return true;
    }
    void clear() noexcept { words_.clear(); }

private:
    std::vector<std::uint64_t> words_;  // empty when no member is in the set
};

// One change event for a record type, with where it came from.
template <class Record>
struct Change {
    Op op = Op::update;
    Record row{};
    Position position{};
    // Members whose value the event does not carry: the row keeps the value the table holds for
    // them (Debezium's unavailable values: a PostgreSQL TOAST column an update left unchanged).
    // The row's own values for them are ignored. Only a sink with one row per key (upsert,
    // newest_wins) keeps values, and never a key member or the order member (docs/kept-values.md).
    MemberSet keep{};
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
