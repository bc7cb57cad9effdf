// The sink type an application uses, declared once (docs/build-time.md). Every translation unit
// that writes orders includes this header; `extern template` tells them that the Sink's member
// functions are compiled in order_sink.cpp, once, rather than in each of them.
#pragma once

#include <redsink/redsink.hpp>

#include <cstdint>
#include <string>

namespace shop {

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, id), (std::string, customer), (redsink::decimal<12, 2>, amount));
};

// The alias is for the code; an explicit instantiation must spell the template's arguments.
using OrderSink = redsink::Sink<Order, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                redsink::evolve_schema, redsink::redshift>;

}  // namespace shop

extern template class redsink::Sink<shop::Order, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                    redsink::evolve_schema, redsink::redshift>;
