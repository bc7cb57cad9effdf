#pragma once

#include <redsink/pq/error.hpp>

#include <memory>
#include <string>
#include <unordered_map>

namespace redsink::pq::detail {

// The statements prepared on one session, by name, with the text each was prepared with.
class PreparedStatements {
public:
    // Stores the text a statement is being prepared with; the reference stays valid until the
    // name is prepared again, forgotten or cleared.
    const std::string& remember(const std::string& name, const std::string& sql) {
        // Node-based: the stored text stays where it is while statements referring to it are in flight.
        auto& stored = statements_[name];
        stored = std::make_unique<const std::string>(sql);
        return *stored;
    }

    [[nodiscard]] bool contains(const std::string& name) const { return statements_.contains(name); }
    void forget(const std::string& name) { statements_.erase(name); }
    void clear() noexcept { statements_.clear(); }

    // The map's own copy of a prepared statement's name, which lives as long as the statement.
    [[nodiscard]] const std::string& stored_name(const std::string& name) const {
        return statements_.find(name)->first;
    }

    [[nodiscard]] const std::string& text(const std::string& name) const {
        const auto found = statements_.find(name);
        if (found == statements_.end())
            throw Error(ErrorKind::other, {}, "statement '" + name + "' was not prepared in this session");
        return *found->second;
    }

private:
    std::unordered_map<std::string, std::unique_ptr<const std::string>> statements_;
};

}  // namespace redsink::pq::detail
