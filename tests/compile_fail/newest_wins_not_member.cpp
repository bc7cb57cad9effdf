// newest_wins orders events by a member of the record: a name that is not one does not compile.
#include <redsink/sink.hpp>

#include <cstdint>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::int64_t, version), (std::int64_t, total));
};

int main() {
    using Broken = redsink::Sink<Order, redsink::primary_key<"id">, redsink::newest_wins<"revision">,
                                 redsink::hard_delete, redsink::postgres>;
    return static_cast<int>(sizeof(Broken));
}
