// Two policies of one category.
#include <redsink/sink.hpp>

#include <cstdint>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::int64_t, total));
};

int main() {
    using Broken = redsink::Sink<Order, redsink::primary_key<"id">, redsink::append, redsink::upsert>;
    return static_cast<int>(sizeof(Broken));
}
