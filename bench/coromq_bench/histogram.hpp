// A log-linear histogram of non-negative integers (nanoseconds here): 128 sub-buckets per
// power of two, so a reported percentile is within 0.8% of the true value. Fixed size
// (7,424 counters), no allocation per sample; one per worker thread, merged at the end.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace coromq::bench {

class histogram {
public:
    histogram()
        : counts_(bucket_count, 0) {}

    void record(std::uint64_t v) noexcept {
        ++counts_[index_of(v)];
        ++count_;
        sum_ += double(v);
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
    }

    void merge(const histogram& o) {
        for (std::size_t i = 0; i < bucket_count; ++i) {
            counts_[i] += o.counts_[i];
        }
        count_ += o.count_;
        sum_ += o.sum_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? sum_ / double(count_) : 0.0; }

    /// The value below which a fraction `q` (0..1) of the samples lie (the bucket's midpoint,
    /// clamped to the exact extremes).
    std::uint64_t percentile(double q) const noexcept {
        if (count_ == 0) {
            return 0;
        }
        const auto target =
            std::max<std::uint64_t>(1, std::uint64_t(std::ceil(q * double(count_))));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i];
            if (seen >= target) {
                return std::clamp(midpoint_of(i), min(), max_);
            }
        }
        return max_;
    }

private:
    static constexpr int sub_bits = 7;
    static constexpr std::uint64_t sub_count = 1u << sub_bits;
    static constexpr std::size_t bucket_count = (64 - sub_bits + 1) * sub_count;

    static std::size_t index_of(std::uint64_t v) noexcept {
        if (v < sub_count) {
            return std::size_t(v);
        }
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - sub_bits;
        return (std::size_t(shift + 1) << sub_bits) + std::size_t((v >> shift) & (sub_count - 1));
    }
    static std::uint64_t midpoint_of(std::size_t i) noexcept {
        if (i < sub_count) {
            return i;
        }
        const int shift = int(i >> sub_bits) - 1;
        const std::uint64_t low = ((i & (sub_count - 1)) | sub_count) << shift;
        return low + ((std::uint64_t{1} << shift) >> 1);
    }

    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    double sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

} // namespace coromq::bench
