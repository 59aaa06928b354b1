// What a benchmark message carries in its first 16 payload bytes, and the per-publisher
// sequence check a subscriber runs on what it receives.
//
//   bytes 0..3   publisher id   (host order: publisher and subscriber share the machine)
//   bytes 4..7   sequence number, 0, 1, 2... per publisher
//   bytes 8..15  send time, steady_clock (CLOCK_MONOTONIC) nanoseconds, system-wide
//   bytes 16..   filler
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>

namespace coromq::bench {

inline constexpr std::size_t stamp_size = 16;

struct stamp {
    std::uint32_t publisher = 0;
    std::uint32_t sequence = 0;
    std::uint64_t sent_ns = 0;
};

inline void write_stamp(char* out, const stamp& s) noexcept {
    std::memcpy(out, &s.publisher, 4);
    std::memcpy(out + 4, &s.sequence, 4);
    std::memcpy(out + 8, &s.sent_ns, 8);
}

inline bool read_stamp(std::string_view payload, stamp& s) noexcept {
    if (payload.size() < stamp_size) {
        return false;
    }
    std::memcpy(&s.publisher, payload.data(), 4);
    std::memcpy(&s.sequence, payload.data() + 4, 4);
    std::memcpy(&s.sent_ns, payload.data() + 8, 8);
    return true;
}

/// The sequence check of one (subscriber, publisher) pair. In order is the common case and
/// costs a compare and an increment; a gap remembers the missing numbers, so that a later
/// arrival of one of them counts as reordered and any other repeat as a duplicate.
class sequence_check {
public:
    void on(std::uint32_t seq) {
        ++received_;
        if (seq == next_) {
            ++next_;
            return;
        }
        if (seq > next_) {
            ++gaps_;
            if (!missing_) {
                missing_ = std::make_unique<std::unordered_set<std::uint32_t>>();
            }
            // A gap above a million numbers is recorded only by its count (the lost total is
            // computed from counts, not from this set).
            if (seq - next_ <= max_tracked_gap) {
                for (std::uint32_t s = next_; s != seq; ++s) {
                    missing_->insert(s);
                }
            }
            next_ = seq + 1;
            return;
        }
        if (missing_ && missing_->erase(seq)) {
            ++reordered_;
        } else {
            ++duplicates_;
        }
    }

    std::uint64_t received() const noexcept { return received_; }
    std::uint64_t unique() const noexcept { return received_ - duplicates_; }
    std::uint64_t duplicates() const noexcept { return duplicates_; }
    std::uint64_t reordered() const noexcept { return reordered_; }
    std::uint64_t gaps() const noexcept { return gaps_; }

private:
    static constexpr std::uint32_t max_tracked_gap = 1u << 20;
    std::uint32_t next_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t duplicates_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t gaps_ = 0;
    std::unique_ptr<std::unordered_set<std::uint32_t>> missing_;
};

} // namespace coromq::bench
