#pragma once

// redsink_verify_redshift's shared parts (docs/verify-redshift.md): the run's settings, a
// scenario's outcome, and what scenarios use to check a table against their own model.
#include <redsink/redsink.hpp>
#include <redsink/s3.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace verify {

// What the run was given (the environment, docs/verify-redshift.md).
struct Settings {
    redsink::ConnectionConfig config;
    // The database is PostgreSQL standing in for Redshift (scripts/test): sessions default to
    // SERIALIZABLE, SUPER is a JSONB domain, a COPY from S3 is read back and sent as COPY FROM STDIN.
    bool stand_in = false;
    std::string schema;                            // the run's own, created at start and dropped at the end
    std::optional<redsink::s3::ClientOptions> s3;  // none: the S3 scenarios are skipped
    std::string s3_unreachable;  // why listing the prefix failed at start: the S3 scenarios fail at once
    std::string iam_role;        // COPY's IAM_ROLE; empty: the client's keys
    std::string prefix;          // the run's own S3 prefix, emptied at the end
    std::size_t events = 2000;   // per stream
};

enum class Status { pass, fail, needs_redshift, skipped };

struct Outcome {
    Status status = Status::pass;
    std::string detail;  // what was checked, or why it failed, or what only Redshift can answer
};

// Thrown by a scenario's checks: the scenario fails with this text.
struct Failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline void check(bool holds, const std::string& what) {
    if (!holds) throw Failed(what);
}

struct Scenario {
    std::string name;  // "group/what", stable: docs and reports refer to it
    std::string checks;
    std::function<Outcome(const Settings&)> run;
};

// Each file of scenarios adds its own.
void add_write_scenarios(std::vector<Scenario>& out);
void add_value_scenarios(std::vector<Scenario>& out);
void add_privilege_scenarios(std::vector<Scenario>& out);
void add_copy_scenarios(std::vector<Scenario>& out);  // called by add_value_scenarios

// A connection of the run's own, for reads and setup (its statements are not the sink's).
redsink::pq::Connection connect(const Settings& settings);

// A table's rows, each column as text ("<NULL>" for NULL) joined with '|', sorted.
std::vector<std::string> table_rows(redsink::pq::Connection& conn, const std::string& query);

// Checks that `actual` holds `expected` (both sorted): the failure names the counts and the
// first row that differs.
void check_rows(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
                const std::string& table);

// The schema-qualified, quoted name of the run's table `table`, dropped first if there.
std::string fresh_table(const Settings& settings, const std::string& table);

// A sink's options for the run's table `table`: small batches, so a stream makes many.
redsink::SinkOptions sink_options(const Settings& settings, const std::string& table, std::size_t batch_rows = 200);

// The S3 path for a sink, all batches through it (min_rows 1), under the run's prefix; on the
// stand-in the COPY is read back and loaded with COPY FROM STDIN. Requires settings.s3.
std::shared_ptr<redsink::BulkLoader> s3_loader(const Settings& settings, std::uint64_t part_bytes = 0);

// How many COPYs the stand-in ran, and how many named a manifest (0 on Redshift: it counts nothing).
struct StandInCounts {
    std::uint64_t copies = 0;
    std::uint64_t manifests = 0;
};
StandInCounts stand_in_counts();

}  // namespace verify
