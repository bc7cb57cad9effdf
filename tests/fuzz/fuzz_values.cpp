// libFuzzer target: the value encoders and the conninfo parser, under AddressSanitizer and
// UndefinedBehaviorSanitizer. Built with clang by scripts/test (REDSINK_FUZZ), and run for a
// bounded time over the corpus in tests/fuzz/corpus. The first input byte picks what is fuzzed;
// the rest is the input. Properties, beyond not crashing:
// - an encoded value is valid UTF-8 without NUL (or it was refused with a BadValue);
// - its COPY field holds no raw tab, newline or carriage return;
// - a decimal's text reads back to the same value;
// - a parsed conninfo's redacted() form does not depend on its password.
#include <redsink/detail/utf8.hpp>
#include <redsink/encode.hpp>
#include <redsink/pq/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

void require(bool holds) {
    if (!holds) std::abort();
}

// Encodes `value` in both dialects and checks what came out.
template <class T>
void encode_both(const T& value) {
    for (const auto dialect : {redsink::Dialect::redshift, redsink::Dialect::postgres}) {
        redsink::ParamBuffer out;
        const redsink::ColumnContext column{"col", redsink::column_of<T>::type, dialect};
        try {
            redsink::encode_value(value, out, column);
        } catch (const redsink::BadValue&) {
            require(out.size() == 0);
            continue;
        }
        require(out.size() == 1);
        if (out.is_null(0)) continue;
        const auto text = out.view(0);
        require(redsink::detail::check_utf8(text).fault == redsink::detail::Utf8Fault::none);
        std::string copy;
        redsink::append_copy_field(copy, out, 0);
        require(copy.find_first_of("\t\n\r") == std::string::npos);
    }
}

std::int64_t read_int(std::string_view data) {
    std::int64_t value = 0;
    std::memcpy(&value, data.data(), std::min(data.size(), sizeof value));
    return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
    const std::string text(data);
    switch (bytes[0] % 8) {
        case 0: encode_both(text); break;
        case 1: encode_both(redsink::varchar<8>(text)); break;
        case 2: encode_both(redsink::json(text)); break;
        case 3: {
            try {
                const redsink::decimal<18, 4> value(data);
                encode_both(value);
                redsink::ParamBuffer out;
                redsink::encode_value(
                    value, out, {"col", redsink::column_of<redsink::decimal<18, 4>>::type, redsink::Dialect::postgres});
                require(redsink::decimal<18, 4>(out.view(0)) == value);
            } catch (const std::invalid_argument&) {
            } catch (const redsink::BadValue&) {
            }
            break;
        }
        case 4: {
            double value = 0;
            std::memcpy(&value, data.data(), std::min(data.size(), sizeof value));
            encode_both(value);
            encode_both(static_cast<float>(value));
            break;
        }
        case 5: {
            using namespace std::chrono;
            const auto micros = read_int(data);
            encode_both(redsink::timestamp(sys_time<microseconds>(microseconds(micros))));
            encode_both(redsink::timestamptz(sys_time<microseconds>(microseconds(micros))));
            encode_both(year_month_day(sys_days(days(static_cast<int>(micros % 5'000'000)))));
            break;
        }
        case 6: encode_both(std::optional<std::string>(text)); break;
        case 7: {
            try {
                const auto config = redsink::ConnectionConfig::parse(text);
                if (!config.password.empty()) {
                    auto other = config;
                    other.password = "other " + config.password;
                    require(config.redacted() == other.redacted());
                }
            } catch (const redsink::Error&) {
            }
            break;
        }
    }
    return 0;
}
