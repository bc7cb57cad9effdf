// Streams whose updates keep members (Change::keep), and the model that resolves every kept
// member from the row it holds when the event applies, one event at a time.
#pragma once

#include <support/stream.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace redsink_test {

// Account's members that an update may keep (id is the key): version, name, note, balance, active.
inline constexpr std::size_t first_keepable = 1;
inline constexpr std::size_t last_keepable = 5;
inline constexpr std::size_t note_member = 3;

// One event at a time: a kept member takes the stored row's value, or none (NULL) without one.
class KeepModel {
public:
    explicit KeepModel(DeleteKind deletes) : deletes_(deletes) {}

    void apply(const AccountChange& change) {
        const auto id = change.row.id;
        if (redsink::is_delete(change.op)) {
            if (deletes_ == DeleteKind::hard) rows_.erase(id);
            if (deletes_ == DeleteKind::soft)
                if (auto it = rows_.find(id); it != rows_.end()) it->second.second = true;
            return;
        }
        rows_[id] = {resolved(change), false};
    }

    // The row the event writes: its own values, and the stored ones for the members it keeps.
    [[nodiscard]] Account resolved(const AccountChange& change) const {
        auto row = change.row;
        const auto it = rows_.find(row.id);
        const Account* stored = it == rows_.end() ? nullptr : &it->second.first;
        const Account none{};
        const Account& from = stored != nullptr ? *stored : none;
        if (change.keep.contains(1)) row.version = from.version;
        if (change.keep.contains(2)) row.name = from.name;
        if (change.keep.contains(3)) row.note = from.note;
        if (change.keep.contains(4)) row.balance = from.balance;
        if (change.keep.contains(5)) row.active = from.active;
        return row;
    }

    [[nodiscard]] bool holds(std::int64_t id) const { return rows_.count(id) != 0; }

    [[nodiscard]] std::vector<std::string> rows() const {
        std::vector<std::string> out;
        for (const auto& [id, row] : rows_)
            out.push_back(row_text(row.first, deletes_ == DeleteKind::soft ? std::optional(row.second) : std::nullopt));
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    DeleteKind deletes_;
    std::map<std::int64_t, std::pair<Account, bool>> rows_;
};

// Creates, updates, deletes and tombstones of a few dozen keys; about half the updates keep a
// random set of members. A member that cannot be NULL is kept only when the model holds the row
// (a kept value of a row the table does not hold is NULL); the note is kept either way. Each
// update's own values for the members it keeps are junk the sink must ignore.
inline std::vector<AccountChange> keeping_stream(std::uint64_t seed, std::size_t events, DeleteKind deletes) {
    std::mt19937_64 random(seed);
    KeepModel model(deletes);
    std::vector<AccountChange> stream;
    std::map<std::int32_t, std::int64_t> next;
    for (std::size_t i = 0; i < events; ++i) {
        Account row{};
        row.id = static_cast<std::int64_t>(random() % 3 == 0 ? random() % 3 : random() % 30);
        const auto partition = static_cast<std::int32_t>(row.id % 2);
        const redsink::Position position{partition, next[partition]++};
        const auto roll = random() % 100;
        AccountChange change;
        if (roll < 12) {
            change = roll % 2 == 0 ? redsink::deleted(row, position) : redsink::tombstone(row, position);
        } else {
            row.version = static_cast<std::int64_t>(i) + 1;
            row.name = "name " + std::to_string(i) + (random() % 2 == 0 ? " \xE2\x9C\x93" : " \t'q'");
            if (random() % 3 != 0) row.note = "note " + std::to_string(random() % 1000);
            row.balance = redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(random() % 1'000'000));
            row.active = random() % 2 == 0;
            change = {roll < 30 ? redsink::Op::create : redsink::Op::update, row, position};
            if (roll >= 30 && random() % 2 == 0) {
                for (std::size_t member = first_keepable; member <= last_keepable; ++member)
                    if (random() % 3 == 0 && (member == note_member || model.holds(row.id))) change.keep.insert(member);
                if (change.keep.contains(2)) change.row.name = "junk";
                if (change.keep.contains(3)) change.row.note = "junk";
            }
        }
        model.apply(change);
        stream.push_back(std::move(change));
    }
    return stream;
}

}  // namespace redsink_test
