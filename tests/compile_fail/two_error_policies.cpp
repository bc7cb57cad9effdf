// Two error policies.
#include <redsink/sink.hpp>

#include <cstdint>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::int64_t, total));
};

int main() {
    using Broken = redsink::Sink<Order, redsink::stop_on_error, redsink::dead_letter<>>;
    return static_cast<int>(sizeof(Broken));
}
