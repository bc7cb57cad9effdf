#pragma once

#include <redsink/change.hpp>
#include <redsink/detail/fixed_string.hpp>
#include <redsink/encode.hpp>
#include <redsink/policies/category.hpp>
#include <redsink/record_members.hpp>
#include <redsink/sql/table.hpp>
#include <redsink/types.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace redsink {

// A record is a struct adapted for reflection with BOOST_HANA_DEFINE_STRUCT or, for more than 39
// members, REDSINK_RECORD_MEMBERS (inside it), or BOOST_HANA_ADAPT_STRUCT (at global scope).
// Each member is a column.
template <class R>
concept Record = boost::hana::Struct<R>::value;

// The key columns of a record, by member name: primary_key<"tenant", "id">.
template <detail::fixed_string... Columns>
struct primary_key {
    using category = policy::key;
    static_assert(sizeof...(Columns) > 0, "redsink: primary_key<...> needs at least one column name");
    static constexpr std::array<std::string_view, sizeof...(Columns)> columns{Columns.view()...};
};

namespace detail {

template <char... Cs>
constexpr fixed_string<sizeof...(Cs) + 1> to_fixed(boost::hana::string<Cs...>) noexcept {
    fixed_string<sizeof...(Cs) + 1> out;
    std::size_t i = 0;
    ((out.text[i++] = Cs), ...);
    return out;
}

template <class R>
using accessors_of = decltype(boost::hana::accessors<R>());

template <class R, std::size_t I>
constexpr auto member_name = to_fixed(
    std::remove_cvref_t<decltype(boost::hana::first(boost::hana::at_c<I>(std::declval<accessors_of<R>>())))>{});

template <class R, std::size_t I>
using member_type = std::remove_cvref_t<decltype(boost::hana::second(
    boost::hana::at_c<I>(std::declval<accessors_of<R>>()))(std::declval<R&>()))>;

template <fixed_string Name>
inline constexpr auto lowercase_name = lowercase(Name);

[[nodiscard]] constexpr bool is_system_column(std::string_view name) noexcept {
    for (const std::string_view reserved : {"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid", "oid"})
        if (name == reserved) return true;
    return false;
}

// Each check names the offending member in its template arguments, which the compiler prints
// right above the message.
template <fixed_string Member>
struct check_column_name {
    static_assert(Member.size() <= 63,
                  "redsink: a record member's name is longer than 63 bytes, the longest column name that "
                  "PostgreSQL and Redshift both keep; rename the member shown in check_column_name<...>");
    static_assert(!is_system_column(lowercase(Member).view()),
                  "redsink: a record member is named like a PostgreSQL system column (tableoid, xmin, cmin, "
                  "xmax, cmax, ctid, oid); rename the member shown in check_column_name<...>");
    static_assert(lowercase(Member).view() != sql::op_column,
                  "redsink: the column name redsink_op is reserved for the sink's stage table; rename the member");
    static_assert(lowercase(Member).view() != sql::keep_column,
                  "redsink: the column name redsink_keep is reserved for the sink's stage table; rename the member");
    static constexpr bool ok = true;
};

template <fixed_string Member, class T>
struct check_member_type {
    static_assert(Column<T>,
                  "redsink: a record member has a type with no SQL mapping (see docs/types.md): use a supported "
                  "type, or specialize redsink::column_traits<T> (with stored_as and to_column, or with type and "
                  "encode); the member and its type are shown in check_member_type<...>");
    static constexpr bool ok = true;
};

template <fixed_string Key, fixed_string... Members>
struct check_key_column {
    static_assert(((Key == Members) || ...),
                  "redsink: primary_key<...> names a column that is not a member of the record; the key and then "
                  "the record's members are shown in check_key_column<key, members...>");
    static constexpr bool ok = true;
};

template <class R, std::size_t... I>
constexpr bool lowercase_names_unique(std::index_sequence<I...>) noexcept {
    const std::array<std::string_view, sizeof...(I)> names{lowercase_name<member_name<R, I>>.view()...};
    for (std::size_t a = 0; a < names.size(); ++a)
        for (std::size_t b = a + 1; b < names.size(); ++b)
            if (names[a] == names[b]) return false;
    return true;
}

}  // namespace detail

// What reflection knows of a record type: its columns, their names and SQL types, and how to
// reach each member.
template <class R>
struct record_info {
    static_assert(Record<R>,
                  "redsink: the record type is not adapted for reflection; add "
                  "BOOST_HANA_DEFINE_STRUCT(Type, (type, member)...) or REDSINK_RECORD_MEMBERS(Type, (type, "
                  "member)...) inside the struct, or BOOST_HANA_ADAPT_STRUCT(Type, member...) at global scope");

    static constexpr std::size_t size = decltype(boost::hana::length(std::declval<detail::accessors_of<R>>()))::value;
    static_assert(size > 0, "redsink: a record needs at least one member");
    static_assert(size <= 1600, "redsink: a table holds at most 1,600 columns");

private:
    template <std::size_t... I>
    static constexpr bool checked(std::index_sequence<I...>) noexcept {
        return (detail::check_column_name<detail::member_name<R, I>>::ok && ...) &&
               (detail::check_member_type<detail::member_name<R, I>, detail::member_type<R, I>>::ok && ...);
    }
    static_assert(checked(std::make_index_sequence<size>{}));
    static_assert(detail::lowercase_names_unique<R>(std::make_index_sequence<size>{}),
                  "redsink: two record members differ only in letter case, and so would be one column");

    template <std::size_t... I>
    static constexpr auto names(std::index_sequence<I...>) noexcept {
        return std::array<std::string_view, size>{detail::member_name<R, I>.view()...};
    }
    template <std::size_t... I>
    static constexpr auto columns(std::index_sequence<I...>) noexcept {
        return std::array<std::string_view, size>{detail::lowercase_name<detail::member_name<R, I>>.view()...};
    }
    template <std::size_t... I>
    static constexpr auto types(std::index_sequence<I...>) noexcept {
        return std::array<ColumnType, size>{column_of<detail::member_type<R, I>>::type...};
    }

public:
    // Member names as written, column names (lowercased), and SQL types, in declaration order.
    static constexpr std::array<std::string_view, size> member_names = names(std::make_index_sequence<size>{});
    static constexpr std::array<std::string_view, size> column_names = columns(std::make_index_sequence<size>{});
    static constexpr std::array<ColumnType, size> column_types = types(std::make_index_sequence<size>{});

    template <std::size_t I>
    [[nodiscard]] static constexpr const auto& member(const R& row) noexcept {
        return boost::hana::second(boost::hana::at_c<I>(boost::hana::accessors<R>()))(row);
    }
    template <std::size_t I>
    [[nodiscard]] static constexpr auto& member(R& row) noexcept {
        return boost::hana::second(boost::hana::at_c<I>(boost::hana::accessors<R>()))(row);
    }

    // Calls f(std::integral_constant<std::size_t, I>{}, member) for every member in order.
    template <class Row, class F>
    static constexpr void for_each(Row& row, F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, I>{}, member<I>(row)), ...);
        }
        (std::make_index_sequence<size>{});
    }
};

// Marks the member named `member` (as written in the record) as one whose stored value the event
// keeps (Change::keep). Throws an Error naming the member when the record has none of that name.
template <class R>
void keep_member(Change<R>& change, std::string_view member) {
    const auto& names = record_info<R>::member_names;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] != member) continue;
        change.keep.insert(i);
        return;
    }
    throw Error(ErrorKind::other, {}, "keep_member: the record has no member \"" + std::string(member) + "\"");
}

// The member indexes of a record's key columns, checked at compile time.
template <class R, class Key>
struct key_info;

template <class R, detail::fixed_string... Keys>
struct key_info<R, primary_key<Keys...>> {
private:
    template <std::size_t... I>
    static constexpr bool checked(std::index_sequence<I...>) noexcept {
        return (detail::check_key_column<Keys, detail::member_name<R, I>...>::ok && ...);
    }
    static_assert(checked(std::make_index_sequence<record_info<R>::size>{}));

    static constexpr std::size_t index_of(std::string_view key) noexcept {
        for (std::size_t i = 0; i < record_info<R>::size; ++i)
            if (record_info<R>::member_names[i] == key) return i;
        return record_info<R>::size;
    }
    static constexpr bool distinct() noexcept {
        constexpr std::array<std::string_view, sizeof...(Keys)> keys{Keys.view()...};
        for (std::size_t a = 0; a < keys.size(); ++a)
            for (std::size_t b = a + 1; b < keys.size(); ++b)
                if (keys[a] == keys[b]) return false;
        return true;
    }
    static_assert(distinct(), "redsink: primary_key<...> names the same column twice");

public:
    static constexpr std::size_t size = sizeof...(Keys);
    static constexpr std::array<std::size_t, size> indexes{index_of(Keys.view())...};

private:
    static constexpr bool not_nullable() noexcept {
        for (const auto index : indexes)
            if (index < record_info<R>::size && record_info<R>::column_types[index].nullable) return false;
        return true;
    }
    static_assert(not_nullable(), "redsink: a primary key member cannot be std::optional: key columns are NOT NULL");

public:
    [[nodiscard]] static constexpr bool is_key(std::size_t member) noexcept {
        for (const auto index : indexes)
            if (index == member) return true;
        return false;
    }
};

// A record without a key (append only).
template <class R>
struct key_info<R, void> {
    static constexpr std::size_t size = 0;
    static constexpr std::array<std::size_t, 0> indexes{};
    [[nodiscard]] static constexpr bool is_key(std::size_t) noexcept { return false; }
};

// What each column's encoder needs, in member order.
template <class R>
[[nodiscard]] constexpr std::array<ColumnContext, record_info<R>::size> column_contexts(
    Dialect dialect, std::size_t super_string_limit = 65535) noexcept {
    using info = record_info<R>;
    std::array<ColumnContext, info::size> columns{};
    for (std::size_t i = 0; i < info::size; ++i)
        columns[i] = ColumnContext{info::column_names[i], info::column_types[i], dialect, super_string_limit};
    return columns;
}

// Appends every member of `row` to `out`, in member order. On a bad value nothing of the row
// stays in `out`, and the BadValue names the column.
template <class R>
void encode_row(const R& row, ParamBuffer& out, const std::array<ColumnContext, record_info<R>::size>& columns) {
    const auto mark = out.mark();
    try {
        record_info<R>::for_each(row, [&](auto index, const auto& value) { encode_value(value, out, columns[index]); });
    } catch (...) {
        out.rollback(mark);
        throw;
    }
}

// The table a record type is written to: its columns, types and key, in the given dialect.
template <class R, class Key = void>
[[nodiscard]] sql::TableSpec table_spec(sql::TableRef name, Dialect dialect, sql::RedshiftLayout layout = {}) {
    using info = record_info<R>;
    sql::TableSpec spec{std::move(name), {}, dialect, std::move(layout)};
    spec.columns.reserve(info::size);
    for (std::size_t i = 0; i < info::size; ++i)
        spec.columns.push_back(
            {std::string(info::column_names[i]), info::column_types[i], key_info<R, Key>::is_key(i)});
    return spec;
}

}  // namespace redsink
