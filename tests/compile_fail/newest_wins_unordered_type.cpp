// newest_wins orders events by an integer, date or timestamp member: a text member does not compile.
#include <redsink/sink.hpp>

#include <cstdint>
#include <string>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::string, version), (std::int64_t, total));
};

int main() {
    using Broken = redsink::Sink<Order, redsink::primary_key<"id">, redsink::newest_wins<"version">,
                                 redsink::hard_delete, redsink::postgres>;
    return static_cast<int>(sizeof(Broken));
}
