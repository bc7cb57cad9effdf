// Writes one order through shop::OrderSink, whose member functions order_sink.cpp compiles
// (docs/build-time.md): this translation unit includes only the header. Connects to the database
// that REDSINK_CONNINFO (or the PG* variables) names, like the README's short example.
#include "order_sink.hpp"

#include <cstdio>
#include <exception>

int main() {
    try {
        shop::OrderSink sink(redsink::ConnectionConfig::from_env(), {.schema = "shop", .table = "orders"});
        sink.on_commit([](const redsink::Positions& committed) {
            for (const auto& [partition, offset] : committed) std::printf("partition %d: %ld\n", partition, offset);
        });
        sink.write(
            redsink::upserted(shop::Order{1, "Ada", redsink::decimal<12, 2>("19.99")}, {.partition = 0, .offset = 41}));
        sink.flush();
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "explicit_instantiation: %s\n", error.what());
        return 1;
    }
}
