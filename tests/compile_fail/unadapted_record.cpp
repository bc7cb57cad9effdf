// A struct that was never adapted for reflection cannot be a record.
#include <redsink/record.hpp>

#include <cstdint>

struct Plain {
    std::int64_t id;
};

int main() {
    return static_cast<int>(redsink::record_info<Plain>::size);
}
