#pragma once

// The Sink's policies, one header per category.
#include <redsink/policies/category.hpp>
#include <redsink/policies/delete_mode.hpp>
#include <redsink/policies/delivery.hpp>
#include <redsink/policies/dialect.hpp>
#include <redsink/policies/insert_mode.hpp>
#include <redsink/policies/on_error.hpp>
#include <redsink/policies/plan.hpp>
#include <redsink/policies/schema.hpp>
