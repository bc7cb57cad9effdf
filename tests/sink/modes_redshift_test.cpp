#include <sink/modes.hpp>

TEST_CASE("redshift dialect: every insert and delete mode leaves the model's table", "[pg][sink][redshift]") {
    redsink_test::check_every_mode<redsink::redshift>("rs");
}
