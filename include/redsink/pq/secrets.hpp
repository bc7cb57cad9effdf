#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::pq::detail {

// The texts a session's errors and traces must never show: its password and the secrets its
// statements carry as literals.
class Secrets {
public:
    // Secrets shorter than 3 bytes are not kept: taking them out would garble every text.
    void add(std::string secret) {
        if (secret.size() < 3) return;
        for (const auto& known : secrets_)
            if (known == secret) return;
        secrets_.push_back(std::move(secret));
    }

    [[nodiscard]] bool empty() const noexcept { return secrets_.empty(); }

    // `text` with `password` and every secret replaced by <redacted>.
    [[nodiscard]] std::string scrub(std::string_view text, const std::string& password) const {
        std::string out(text);
        const auto remove = [&](const std::string& secret) {
            if (secret.size() < 3) return;
            // Searched again after the replacement: a secret inside "<redacted>" is found once.
            constexpr std::string_view mark = "<redacted>";
            for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos + mark.size()))
                out.replace(pos, secret.size(), mark);
        };
        remove(password);
        for (const auto& secret : secrets_) remove(secret);
        return out;
    }

private:
    std::vector<std::string> secrets_;
};

}  // namespace redsink::pq::detail
