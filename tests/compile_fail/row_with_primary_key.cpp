// A Row's key is the one its RowSchema marks: primary_key<...> is for reflected structs.
#include <redsink/sink.hpp>

int main() {
    using Broken = redsink::Sink<redsink::Row, redsink::primary_key<"id">, redsink::upsert, redsink::postgres>;
    return static_cast<int>(sizeof(Broken));
}
