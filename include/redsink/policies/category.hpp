#pragma once

// The categories a Sink policy belongs to. A policy names its category with
//   using category = redsink::policy::<category>;
// and models that category's concept (see docs/policies.md).
namespace redsink::policy {

struct key {};
struct insert_mode {};
struct delete_mode {};
struct schema {};
struct delivery {};
struct dialect {};
struct on_error {};

}  // namespace redsink::policy
