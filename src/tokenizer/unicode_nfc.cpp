// The algorithm of UAX #15 over the tables of unicode_nfc_tables.cpp; Hangul syllables are composed and
// decomposed arithmetically as the standard defines.
#include "src/tokenizer/unicode_nfc.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "src/tokenizer/unicode_nfc_tables.h"
#include "src/tokenizer/utf8.h"

namespace attn::tokenizer {

namespace {

constexpr char32_t kHangulBase = 0xAC00, kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailCount = 28, kSyllableCount = 11172;
// Below U+0300 no character decomposes into, or composes with, a combining mark.
constexpr char32_t kFirstAffected = 0x300;

unsigned combining_class(char32_t cp) {
    const CombiningClassRun* end = kCombiningClassRuns + kCombiningClassRunCount;
    const CombiningClassRun* run =
        std::upper_bound(kCombiningClassRuns, end, cp, [](char32_t c, const CombiningClassRun& r) { return c < r.first; });
    if (run == kCombiningClassRuns) return 0;
    --run;
    return cp <= run->last ? run->combining_class : 0;
}

const CanonicalDecomposition* find_decomposition(char32_t cp) {
    const CanonicalDecomposition* end = kCanonicalDecompositions + kCanonicalDecompositionCount;
    const CanonicalDecomposition* found = std::lower_bound(
        kCanonicalDecompositions, end, cp, [](const CanonicalDecomposition& d, char32_t c) { return d.code_point < c; });
    return found != end && found->code_point == cp ? found : nullptr;
}

void decompose(char32_t cp, std::vector<char32_t>& out) {
    if (cp >= kHangulBase && cp < kHangulBase + kSyllableCount) {
        const char32_t index = cp - kHangulBase;
        out.push_back(kLeadBase + index / (kVowelCount * kTrailCount));
        out.push_back(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
        if (index % kTrailCount != 0) out.push_back(kTrailBase + index % kTrailCount);
        return;
    }
    const CanonicalDecomposition* d = find_decomposition(cp);
    if (d == nullptr) {
        out.push_back(cp);
        return;
    }
    decompose(d->first, out);
    if (d->second != 0) decompose(d->second, out);
}

uint64_t pair_key(char32_t first, char32_t second) { return (uint64_t(first) << 32) | second; }

const std::unordered_map<uint64_t, char32_t>& compositions() {
    static const std::unordered_map<uint64_t, char32_t> table = [] {
        std::unordered_map<uint64_t, char32_t> out;
        for (size_t i = 0; i < kCanonicalDecompositionCount; ++i) {
            const CanonicalDecomposition& d = kCanonicalDecompositions[i];
            if (d.recomposes) out.emplace(pair_key(d.first, d.second), d.code_point);
        }
        return out;
    }();
    return table;
}

// The primary composite of (starter, next), or 0.
char32_t compose(char32_t starter, char32_t next) {
    if (starter >= kLeadBase && starter < kLeadBase + 19 && next >= kVowelBase && next < kVowelBase + kVowelCount)
        return kHangulBase + ((starter - kLeadBase) * kVowelCount + (next - kVowelBase)) * kTrailCount;
    if (starter >= kHangulBase && starter < kHangulBase + kSyllableCount && (starter - kHangulBase) % kTrailCount == 0 &&
        next > kTrailBase && next < kTrailBase + kTrailCount)
        return starter + (next - kTrailBase);
    const auto& table = compositions();
    const auto it = table.find(pair_key(starter, next));
    return it == table.end() ? 0 : it->second;
}

}  // namespace

std::string to_nfc(std::string_view text) {
    std::vector<char32_t> chars;
    bool affected = false;
    for (char32_t cp : to_code_points(text)) {
        affected = affected || cp >= kFirstAffected;
        decompose(cp, chars);
    }
    if (!affected) return std::string(text);

    // Canonical ordering: a stable sort of every run of non-starters by combining class.
    for (size_t i = 0; i < chars.size();) {
        if (combining_class(chars[i]) == 0) {
            ++i;
            continue;
        }
        size_t run_end = i;
        while (run_end < chars.size() && combining_class(chars[run_end]) != 0) ++run_end;
        std::stable_sort(chars.begin() + i, chars.begin() + run_end,
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
        i = run_end;
    }

    // Canonical composition: a character joins the last starter unless a character of the same or higher
    // class, or a starter, stands between them (it would be "blocked").
    std::vector<char32_t> out;
    out.reserve(chars.size());
    size_t starter = 0;
    bool have_starter = false;
    unsigned last_class = 0;
    for (char32_t cp : chars) {
        const unsigned cls = combining_class(cp);
        const bool adjacent = have_starter && out.size() == starter + 1;
        if (have_starter && (adjacent || (last_class != 0 && last_class < cls))) {
            if (const char32_t composite = compose(out[starter], cp)) {
                out[starter] = composite;
                continue;
            }
        }
        if (cls == 0) {
            starter = out.size();
            have_starter = true;
        }
        last_class = cls;
        out.push_back(cp);
    }
    return from_code_points(out);
}

}  // namespace attn::tokenizer
