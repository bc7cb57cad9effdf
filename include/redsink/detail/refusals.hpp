#pragma once

#include <redsink/detail/dead_letters.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace redsink::detail {

// The events of a batch the server refused and a dead-letter policy took: per event whether it
// is one, and their dead letters. Owned by the Applier that writes the batch; the reduction
// leaves these events out, as if they had never been written.
class Refusals {
public:
    void clear() noexcept {
        flags_.clear();
        letters_.clear();
    }

    [[nodiscard]] bool empty() const noexcept { return letters_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return letters_.size(); }
    [[nodiscard]] bool is_refused(std::size_t event) const noexcept {
        return event < flags_.size() && flags_[event] != 0;
    }
    [[nodiscard]] const std::vector<DeadLetter>& letters() const noexcept { return letters_; }

    // Event `event` (of `events`) is refused, with its dead letter.
    void refuse(std::size_t event, std::size_t events, DeadLetter letter) {
        if (flags_.size() < events) flags_.resize(events, 0);
        flags_[event] = 1;
        letters_.push_back(std::move(letter));
    }

private:
    std::vector<char> flags_;
    std::vector<DeadLetter> letters_;
};

}  // namespace redsink::detail
