#pragma once
// Unicode data for NFC, generated into unicode_nfc_tables.cpp by tools/make_unicode_nfc_tables.py.
#include <cstddef>

namespace attn::tokenizer {

struct CombiningClassRun {
    char32_t first;
    char32_t last;
    unsigned char combining_class;
};

// One step of a canonical decomposition (apply recursively); second is 0 for a singleton.
struct CanonicalDecomposition {
    char32_t code_point;
    char32_t first;
    char32_t second;
    bool recomposes;  // a primary composite: NFC composes first+second back into code_point
};

// Both sorted by code point.
extern const CombiningClassRun kCombiningClassRuns[];
extern const size_t kCombiningClassRunCount;
extern const CanonicalDecomposition kCanonicalDecompositions[];
extern const size_t kCanonicalDecompositionCount;

}  // namespace attn::tokenizer
