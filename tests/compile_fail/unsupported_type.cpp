// A member type with no SQL mapping and no column_traits specialization.
#include <redsink/record.hpp>

#include <cstdint>
#include <vector>

struct Tagged {
    BOOST_HANA_DEFINE_STRUCT(Tagged, (std::int64_t, id), (std::vector<int>, tags));
};

int main() {
    return static_cast<int>(redsink::record_info<Tagged>::size);
}
