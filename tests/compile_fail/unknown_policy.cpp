// A type that belongs to no policy category.
#include <redsink/sink.hpp>

#include <cstdint>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::int64_t, total));
};
struct batch_of_fifty {};

int main() {
    using Broken = redsink::Sink<Order, redsink::upsert, redsink::primary_key<"id">, batch_of_fifty>;
    return static_cast<int>(sizeof(Broken));
}
