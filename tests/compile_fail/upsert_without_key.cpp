// Upsert cannot find the row it replaces without the record's key.
#include <redsink/sink.hpp>

#include <cstdint>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::int64_t, total));
};

int main() {
    using Broken = redsink::Sink<Order, redsink::upsert, redsink::postgres>;
    return static_cast<int>(sizeof(Broken));
}
