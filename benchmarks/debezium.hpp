#pragma once

namespace redsink_bench {

// The Debezium decoder's cases in redsink_bench_encode (benchmarks/debezium.cpp).
void register_debezium_cases();

}  // namespace redsink_bench
