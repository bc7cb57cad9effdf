// The one translation unit that compiles shop::OrderSink's member functions (docs/build-time.md).
#include "order_sink.hpp"

template class redsink::Sink<shop::Order, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                             redsink::evolve_schema, redsink::redshift>;
