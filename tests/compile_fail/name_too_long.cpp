// A member name longer than 63 bytes cannot be a column name on both servers.
#include <redsink/record.hpp>

#include <cstdint>

struct Wide {
    BOOST_HANA_DEFINE_STRUCT(Wide, (std::int64_t, id),
                             (std::int64_t, a_member_name_that_is_far_too_long_to_be_a_column_name_in_postgresql));
};

int main() {
    return static_cast<int>(redsink::record_info<Wide>::size);
}
