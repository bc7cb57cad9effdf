#pragma once

#include <redsink/pq/error.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace redsink::pq {

// Text-format bind parameters for Connection::exec(sql, params...). Values are written into
// one arena, each terminated by NUL as libpq's text format requires; std::nullopt is NULL.
// A value holding a NUL byte cannot travel as text and is refused.
namespace detail {

inline constexpr std::ptrdiff_t null_param = -1;

[[noreturn]] inline void refuse_nul(std::size_t index) {
    throw Error(ErrorKind::bad_data, {},
                "bind parameter $" + std::to_string(index + 1) +
                    " contains a NUL byte, which text-format parameters cannot carry");
}

inline std::ptrdiff_t put_param(std::string& arena, std::size_t index, std::string_view text) {
    if (text.find('\0') != text.npos) refuse_nul(index);
    const auto offset = static_cast<std::ptrdiff_t>(arena.size());
    arena.append(text).push_back('\0');
    return offset;
}

inline std::ptrdiff_t put_param(std::string&, std::size_t, std::nullopt_t) {
    return null_param;
}

inline std::ptrdiff_t put_param(std::string& arena, std::size_t index, const char* text) {
    return text == nullptr ? null_param : put_param(arena, index, std::string_view(text));
}

inline std::ptrdiff_t put_param(std::string& arena, std::size_t index, bool value) {
    return put_param(arena, index, std::string_view(value ? "t" : "f"));
}

template <class T>
concept number_param = std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>;

template <number_param T>
std::ptrdiff_t put_param(std::string& arena, std::size_t index, T value) {
    std::array<char, 64> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return put_param(arena, index,
                     std::string_view(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data())));
}

// Strings and string views; character arrays and pointers take the const char* overload.
template <class T>
concept text_param = std::is_convertible_v<const T&, std::string_view> && !std::is_array_v<T> && !std::is_pointer_v<T>;

template <text_param T>
std::ptrdiff_t put_param(std::string& arena, std::size_t index, const T& value) {
    return put_param(arena, index, std::string_view(value));
}

template <class T>
std::ptrdiff_t put_param(std::string& arena, std::size_t index, const std::optional<T>& value) {
    return value ? put_param(arena, index, *value) : null_param;
}

// Calls `run` with the parameters' texts (nullptr for NULL), flattened on the stack.
template <class Run, class... Params>
decltype(auto) with_params(Run&& run, const Params&... params) {
    std::string arena;
    std::array<std::ptrdiff_t, sizeof...(Params)> offsets{};
    std::size_t index = 0;
    ((offsets[index] = put_param(arena, index, params), ++index), ...);
    std::array<const char*, sizeof...(Params)> values{};
    for (std::size_t i = 0; i < offsets.size(); ++i)
        values[i] = offsets[i] == null_param ? nullptr : arena.data() + offsets[i];
    return std::forward<Run>(run)(std::span<const char* const>(values));
}

}  // namespace detail
}  // namespace redsink::pq
