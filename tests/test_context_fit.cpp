// The search behind `attn-infer fit` (src/runtime/context_fit.h): against every threshold of a monotone
// "fits" on small ranges it returns the longest context that fits, probes only `upper` and multiples of
// `step` below it, and takes no more probes than bisection needs. The GPU test builds real models with it.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "src/runtime/context_fit.h"

using namespace attn;

TEST_CASE("longest_fitting finds the longest context a monotone test accepts", "[fit]") {
    for (int step : {1, 7, 64}) {
        for (int upper = 1; upper <= 300; upper += (step == 1 ? 1 : 3)) {
            for (int longest = 0; longest <= upper + 20; ++longest) {  // contexts up to `longest` fit
                std::set<int> probed;
                const int found = longest_fitting(upper, step, [&](int context) {
                    INFO("step " << step << ", upper " << upper << ", probe " << context);
                    CHECK((context == upper || (context % step == 0 && context > 0 && context < upper)));
                    CHECK(probed.insert(context).second);  // never the same length twice
                    return context <= longest;
                });
                INFO("step " << step << ", upper " << upper << ", fits up to " << longest);
                const int expected = longest >= upper ? upper : longest / step * step;
                REQUIRE(found == expected);
                CHECK(probed.size() <= 2 + std::ceil(std::log2(double(upper) / step + 1)));
            }
        }
    }
}
