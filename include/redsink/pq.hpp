#pragma once

// The libpq adapter: configuration, connections, results, errors, transactions and COPY.
#include <redsink/pq/config.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/pq/error.hpp>
#include <redsink/pq/pipeline.hpp>
#include <redsink/pq/result.hpp>
#include <redsink/pq/transaction.hpp>
