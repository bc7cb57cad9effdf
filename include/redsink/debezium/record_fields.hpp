#pragma once

// The record's members as the decoder meets them: found by a field's name, checked against a
// field's schema, read from its JSON value.
#include <redsink/debezium/members.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/detail/fixed_string.hpp>
#include <redsink/record.hpp>

#include <simdjson.h>

#include <array>
#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::debezium::detail {

template <class T>
struct optional_parts {
    using value_type = T;
    static constexpr bool optional = false;
};
template <class T>
struct optional_parts<std::optional<T>> {
    using value_type = T;
    static constexpr bool optional = true;
};

template <class T>
concept Readable = requires {
    member_reader<typename optional_parts<T>::value_type>::name();
};

// Names the member in its template arguments, which the compiler prints above the message.
template <redsink::detail::fixed_string Member, class T>
struct check_decodable {
    static_assert(Readable<T>,
                  "redsink: the Debezium decoder cannot read this member's type; use bool, an integer, float, "
                  "double, std::string, varchar, decimal, year_month_day, timestamp, timestamptz or json (or "
                  "std::optional of one); the member and its type are shown in check_decodable<...>");
    static constexpr bool ok = true;
};

template <class T>
std::string member_type_name() {
    using parts = optional_parts<T>;
    const auto name = member_reader<typename parts::value_type>::name();
    return parts::optional ? "std::optional<" + name + ">" : name;
}

// What a row's fields said of each member.
template <std::size_t Size>
struct RowState {
    std::bitset<Size> seen, nulls, unavailable;
};

// The record's members, by index: tables of readers and schema checks built at compile time.
template <class Record>
class RecordFields {
    using info = record_info<Record>;

public:
    static constexpr std::size_t size = info::size;
    using State = RowState<size>;

    // Whether every member's type can be read; fails to compile, naming the member, otherwise.
    template <std::size_t... I>
    static constexpr bool decodable(std::index_sequence<I...>) noexcept {
        return (check_decodable<redsink::detail::member_name<Record, I>, redsink::detail::member_type<Record, I>>::ok &&
                ...);
    }

    // Reads `in` into member `member` of `row`; a null or a placeholder is noted in `state`.
    static void read(std::size_t member, FieldRead& in, Record& row, State& state) { readers_[member](in, row, state); }

    // Whether member `member` can hold the values of a field with this schema.
    static bool accepts(std::size_t member, const FieldSchema& field) { return acceptors_[member](field); }

    [[nodiscard]] static constexpr bool optional(std::size_t member) noexcept { return optional_[member]; }

    // Whether two rows hold the same value in member `member` (the message key against the row).
    static bool same(std::size_t member, const Record& a, const Record& b) { return comparers_[member](a, b); }
    // Member `member` of `from` into `to` (the key's fields into a delete's row).
    static void copy(std::size_t member, const Record& from, Record& to) { copiers_[member](from, to); }

    static std::string type_name(std::size_t member) { return type_names(std::make_index_sequence<size>{})[member](); }

    // The member a field names, or `size`. Debezium writes fields in column order: try the next first.
    static std::size_t member_of(std::string_view field, std::size_t next) noexcept {
        if (next < size && (info::member_names[next] == field || info::column_names[next] == field)) return next;
        for (std::size_t i = 0; i < size; ++i)
            if (info::member_names[i] == field || info::column_names[i] == field) return i;
        return size;
    }

private:
    using Reader = void (*)(FieldRead&, Record&, State&);

    template <std::size_t I>
    static void read_member(FieldRead& in, Record& row, State& state) {
        using T = redsink::detail::member_type<Record, I>;
        using parts = optional_parts<T>;
        auto& out = info::template member<I>(row);
        if (in.type() == simdjson::ondemand::json_type::null) {
            (void)in.get(in.value.is_null(), "null");
            if constexpr (parts::optional) out = std::nullopt;
            state.nulls.set(I, !parts::optional);
            return;
        }
        if constexpr (parts::optional) {
            typename parts::value_type value{};
            member_reader<typename parts::value_type>::read(in, value);
            out = std::move(value);
        } else {
            member_reader<T>::read(in, out);
        }
        if (in.unavailable) {
            out = T{};
            state.unavailable.set(I);
        }
    }

    template <std::size_t I>
    static bool same_member(const Record& a, const Record& b) {
        return info::template member<I>(a) == info::template member<I>(b);
    }
    template <std::size_t I>
    static void copy_member(const Record& from, Record& to) {
        info::template member<I>(to) = info::template member<I>(from);
    }

    template <std::size_t I>
    static bool accepts_member(const FieldSchema& field) {
        using T = redsink::detail::member_type<Record, I>;
        return member_reader<typename optional_parts<T>::value_type>::accepts(field);
    }

    template <std::size_t... I>
    static constexpr std::array<Reader, size> readers(std::index_sequence<I...>) noexcept {
        return {&read_member<I>...};
    }
    template <std::size_t... I>
    static constexpr std::array<bool (*)(const FieldSchema&), size> acceptors(std::index_sequence<I...>) noexcept {
        return {&accepts_member<I>...};
    }
    template <std::size_t... I>
    static std::array<std::string (*)(), size> type_names(std::index_sequence<I...>) noexcept {
        return {&member_type_name<redsink::detail::member_type<Record, I>>...};
    }

    static constexpr std::array<Reader, size> readers_ = readers(std::make_index_sequence<size>{});
    static constexpr auto comparers_ = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<bool (*)(const Record&, const Record&), size>{&same_member<I>...};
    }
    (std::make_index_sequence<size>{});
    static constexpr auto copiers_ = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<void (*)(const Record&, Record&), size>{&copy_member<I>...};
    }
    (std::make_index_sequence<size>{});
    static constexpr std::array<bool (*)(const FieldSchema&), size> acceptors_ =
        acceptors(std::make_index_sequence<size>{});
    static constexpr std::array<bool, size> optional_ = [] {
        std::array<bool, size> out{};
        for (std::size_t i = 0; i < size; ++i) out[i] = info::column_types[i].nullable;
        return out;
    }();
};

}  // namespace redsink::debezium::detail
