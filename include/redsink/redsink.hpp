#pragma once

// Everything redsink offers, in one include.
#include <redsink/change.hpp>
#include <redsink/committed_positions.hpp>
#include <redsink/dialect.hpp>
#include <redsink/encode.hpp>
#include <redsink/error.hpp>
#include <redsink/policies.hpp>
#include <redsink/position.hpp>
#include <redsink/pq.hpp>
#include <redsink/record.hpp>
#include <redsink/retry.hpp>
#include <redsink/row.hpp>
#include <redsink/row_from_record.hpp>
#include <redsink/row_schema.hpp>
#include <redsink/schema.hpp>
#include <redsink/sink.hpp>
#include <redsink/sink_options.hpp>
#include <redsink/sql/catalog.hpp>
#include <redsink/sql/ddl.hpp>
#include <redsink/sql/dml.hpp>
#include <redsink/sql/identifiers.hpp>
#include <redsink/sql/table.hpp>
#include <redsink/stats.hpp>
#include <redsink/types.hpp>
