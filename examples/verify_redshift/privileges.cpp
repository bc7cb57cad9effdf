// docs/redshift-grants.sql as written (names made the run's own): a user with those privileges
// only passes the sink's preflight and writes a stream that equals the model.
#include "verify_redshift/verify.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

namespace verify {

namespace {

struct Grant {
    BOOST_HANA_DEFINE_STRUCT(Grant, (std::int64_t, id), (std::string, name));
};
using GrantSink = redsink::Sink<Grant, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                redsink::evolve_schema, redsink::redshift>;

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

std::vector<std::string> statements_of(const std::string& script) {
    std::vector<std::string> statements;
    std::string current;
    std::istringstream lines(script);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("--") || line.empty()) continue;
        current += (current.empty() ? "" : " ") + line;
        if (current.ends_with(";")) {
            current.pop_back();
            statements.push_back(current);
            current.clear();
        }
    }
    return statements;
}

Outcome least_privilege(const Settings& settings) {
    const char* path = std::getenv("REDSINK_VERIFY_GRANTS_SQL");
    std::ifstream file(path != nullptr && *path != '\0' ? path : REDSINK_VERIFY_GRANTS_SQL);
    check(file.good(), "cannot read docs/redshift-grants.sql (REDSINK_VERIFY_GRANTS_SQL names another copy)");
    std::stringstream text;
    text << file.rdbuf();
    auto script = text.str();
    auto admin = connect(settings);
    const auto database = std::string(admin.exec("SELECT current_database()").get(0, 0));
    const auto suffix = std::to_string(::getpid());
    const auto group = "redsink_verify_writers_" + suffix;
    const auto user = "redsink_verify_loader_" + suffix;
    const auto schema = settings.schema + "_grants";
    std::random_device random;
    const auto password = fmt::format("Vr{:08x}{:08x}", random(), random());
    replace_all(script, "redsink_writers", group);
    replace_all(script, "redsink_loader", user);
    replace_all(script, "streamkap", schema);
    replace_all(script, "DATABASE dev", "DATABASE " + redsink::sql::quote_identifier(database));
    replace_all(script, "'Change-me-2026'", "'" + password + "'");
    const auto statements = statements_of(script);
    check(statements.size() == 8,
          fmt::format("docs/redshift-grants.sql has {} statements, 8 expected", statements.size()));
    try {
        admin.exec(statements.front());
    } catch (const redsink::Error& error) {
        if (error.sqlstate() == "42501")
            return {Status::skipped,
                    "the run's user cannot create groups and users (a superuser can): " + std::string(error.what())};
        throw;
    }
    // What the script made goes, whatever happened: the privileges, the schema (the sink's tables
    // in it), the user, the group.
    const auto undo = [&] {
        std::string failures;
        for (const auto& statement :
             {"ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema +
                  " REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM GROUP " + group,
              "DROP SCHEMA " + schema + " CASCADE",
              "REVOKE TEMP ON DATABASE " + redsink::sql::quote_identifier(database) + " FROM GROUP " + group,
              "DROP USER " + user, "DROP GROUP " + group})
            try {
                admin.exec(statement);
            } catch (const std::exception& error) {
                failures += "; " + statement + ": " + error.what();
            }
        return failures;
    };
    std::string outcome;
    try {
        for (std::size_t i = 1; i < statements.size(); ++i) admin.exec(statements[i]);
        auto loader = settings.config;
        loader.user = user;
        loader.password = password;
        std::map<std::int64_t, std::string> model;
        {
            GrantSink sink(loader, {.schema = schema, .table = "items", .batch_rows = 50});
            for (std::int64_t i = 0; i < 300; ++i) {
                const Grant row{i % 120, "name " + std::to_string(i)};
                const redsink::Position position{0, i};
                if (i % 11 == 0) {
                    sink.write(redsink::deleted(row, position));
                    model.erase(row.id);
                } else {
                    sink.write({redsink::Op::update, row, position});
                    model[row.id] = row.name;
                }
            }
            sink.flush();
        }
        std::vector<std::string> expected;
        for (const auto& [id, name] : model) expected.push_back(fmt::format("{}|{}", id, name));
        std::sort(expected.begin(), expected.end());
        const auto items = redsink::sql::quote_identifier(schema) + ".items";
        check_rows(expected, table_rows(admin, "SELECT id, name FROM " + items), items);
        outcome = fmt::format(
            "a user with docs/redshift-grants.sql's privileges passed the preflight, created the "
            "table and wrote 300 events; {} rows equal the model",
            expected.size());
    } catch (...) {
        (void)undo();
        throw;
    }
    const auto undo_failures = undo();
    check(undo_failures.empty(), "the check passed but the cleanup failed" + undo_failures);
    return {Status::pass, outcome};
}

}  // namespace

void add_privilege_scenarios(std::vector<Scenario>& out) {
    out.push_back({"privileges/least-privilege-user", "docs/redshift-grants.sql's user passes the preflight and writes",
                   least_privilege});
}

}  // namespace verify
