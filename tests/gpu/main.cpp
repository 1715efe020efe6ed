// Runs the GPU tests when a CUDA device is present; otherwise says so and exits 77, which ctest counts as
// skipped. Listing tests (ctest's discovery at build time) works without a device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

#include <cuda_runtime.h>

int main(int argc, char** argv) {
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing |= std::strncmp(argv[i], "--list", 6) == 0;
    int devices = 0;
    if (!listing && (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0)) {
        std::printf("skipped: no CUDA device\n");
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
