#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace redsink::detail {

// A string usable as a template argument: primary_key<"id">, soft_delete<"deleted">. Compiler
// diagnostics print its text, which is how static_assert messages name a member.
template <std::size_t N>
struct fixed_string {
    char text[N]{};

    constexpr fixed_string() = default;
    constexpr fixed_string(const char (&value)[N]) noexcept { std::copy_n(value, N, text); }

    [[nodiscard]] static constexpr std::size_t size() noexcept { return N - 1; }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {text, N - 1}; }
    [[nodiscard]] constexpr operator std::string_view() const noexcept { return view(); }
};

template <std::size_t A, std::size_t B>
constexpr bool operator==(const fixed_string<A>& a, const fixed_string<B>& b) noexcept {
    return a.view() == b.view();
}

// The text with ASCII letters lowercased: PostgreSQL's and Redshift's folding of identifiers.
template <std::size_t N>
[[nodiscard]] constexpr fixed_string<N> lowercase(const fixed_string<N>& name) noexcept {
    fixed_string<N> out = name;
    for (char& c : out.text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace redsink::detail
