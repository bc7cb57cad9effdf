#pragma once

#include <redsink/detail/dead_letters.hpp>
#include <redsink/detail/step.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/table.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <vector>

namespace redsink::detail {

// The steps that write a batch's dead letters into their table, in its transaction: multi-row
// INSERTs with bound values, each within the rows and bytes a statement may carry, each checked
// to insert every row it carries. Unprepared: dead letters are rare. `target` names the sink's
// table, as each letter records it.
[[nodiscard]] inline std::vector<Step> dead_letter_steps(const sql::TableSpec& table,
                                                         std::span<const DeadLetter> letters, const std::string& target,
                                                         std::size_t max_rows) {
    std::vector<Step> steps;
    const std::size_t most = std::min<std::size_t>(max_rows, sql::max_rows_per_insert(table.columns.size()));
    for (std::size_t first = 0; first < letters.size();) {
        std::size_t count = 0;
        std::size_t bytes = 0;
        while (first + count < letters.size() && count < most) {
            const auto& letter = letters[first + count];
            const auto row = target.size() + letter.column.size() + letter.reason.size() +
                             (letter.values ? letter.values->size() : 0) + 128;
            if (count > 0 && bytes + row > max_statement_value_bytes) break;
            bytes += row;
            ++count;
        }
        steps.push_back({.kind = Step::Kind::dead_letters,
                         .sql = sql::insert_values_sql(table.name.quoted(), table.columns, false, count, table.dialect),
                         .check = Check::all_rows,
                         .first = first,
                         .count = count});
        first += count;
    }
    return steps;
}

// The bound values of a dead_letters step, in the table's column order (dead_letter_table_spec).
// `numbers` keeps the texts of the numbers alive until the statement's answer.
inline void bind_dead_letters(std::span<const DeadLetter> letters, const Step& step, const std::string& target,
                              std::vector<const char*>& values, std::deque<std::string>& numbers) {
    const auto text_or_null = [](const std::string& text) { return text.empty() ? nullptr : text.c_str(); };
    values.clear();
    for (std::size_t i = step.first; i < step.first + step.count; ++i) {
        const auto& letter = letters[i];
        values.push_back(target.c_str());
        values.push_back(numbers.emplace_back(std::to_string(letter.position.partition)).c_str());
        values.push_back(numbers.emplace_back(std::to_string(letter.position.offset)).c_str());
        values.push_back(to_string(letter.op).data());
        values.push_back(text_or_null(letter.column));
        values.push_back(text_or_null(letter.sqlstate));
        values.push_back(letter.reason.c_str());
        values.push_back(letter.values ? letter.values->c_str() : nullptr);
        values.push_back(letter.recorded_at.c_str());
    }
}

}  // namespace redsink::detail
