// primary_key<"idd"> names no member of the record.
#include <redsink/record.hpp>

#include <cstdint>
#include <string>

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::string, customer));
};

int main() {
    return static_cast<int>(redsink::key_info<Order, redsink::primary_key<"idd">>::indexes[0]);
}
