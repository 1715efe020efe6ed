#pragma once
// The architecture-specific instructions of the attention kernels, each a small device function chosen by
// KernelPath at compile time (template argument) and by __CUDA_ARCH__ for what the target can encode.
// Fragment layouts (PTX ISA, "mma.sync.aligned.m16n8k16", fp16 or bf16 inputs, fp32 accumulators), with
// g = lane / 4 and t = lane % 4:
//   A 16x16 row-major: a0 = (g, 2t..2t+1), a1 = (g+8, 2t..), a2 = (g, 2t+8..), a3 = (g+8, 2t+8..)
//   B 16x8 "col":      b0 = (k 2t..2t+1, n g), b1 = (k 2t+8.., n g)
//   C 16x8 fp32:       c0,c1 = (g, 2t..2t+1), c2,c3 = (g+8, 2t..2t+1)
// m16n8k8 (Turing) has A = {a0, a1} and B = {b0} of the same shapes, so one m16n8k16 is two m16n8k8 on the
// halves of K: the kernels are written once against the m16n8k16 fragments. bf16 has no Turing form: its
// kernels are built for the sm80 path only.
#include <cstdint>

#include "kernels/cuda/element_type.cuh"
#include "kernels/cuda/flash/kernel_path.h"

namespace attn::cuda::mma {

// C += A * B for one 16x8x16 tile of T = __half or __nv_bfloat16.
template <KernelPath Path, typename T>
__device__ __forceinline__ void mma_m16n8k16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    static_assert(!kIsBf16<T> || Path == KernelPath::TensorCoreSm80, "bf16 mma needs sm_80");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (kIsBf16<T>) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
        return;
    } else if constexpr (Path == KernelPath::TensorCoreSm80) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
        return;
    }
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
    if constexpr (kIsBf16<T>) {
        __trap();  // bf16 is selected only where sm_80 code runs
        return;
    }
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(b[0]));
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[2]), "r"(a[3]), "r"(b[1]));
#else
    __trap();  // the host never selects a tensor-core path below sm_75
#endif
}

__device__ __forceinline__ uint32_t shared_address(const void* pointer) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// Four 8x8 matrices of 16-bit elements from shared memory; lane i gives the address of row i % 8 of matrix i / 8, and
// receives in r[m] row lane/4, columns 2(lane%4)..+1 of matrix m (with .trans: of its transpose).
template <bool Transpose>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
    if constexpr (Transpose)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(shared_address(row)));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(shared_address(row)));
#else
    __trap();
#endif
}

// Two 8x8 matrices; lanes 0..15 give the row addresses (for an odd number of 8-wide tiles).
template <bool Transpose>
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
    if constexpr (Transpose)
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
                     : "=r"(r[0]), "=r"(r[1])
                     : "r"(shared_address(row)));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
                     : "=r"(r[0]), "=r"(r[1])
                     : "r"(shared_address(row)));
#else
    __trap();
#endif
}

// The transpose of an 8x8 matrix of 16-bit elements held as ldmatrix leaves one (lane i: row i / 4, columns
// 2(i % 4)..+1): the lane receives row i / 4 of the transpose.
__device__ __forceinline__ uint32_t transpose_8x8(uint32_t x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
    uint32_t r;
    asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(r) : "r"(x));
    return r;
#else
    __trap();
    return x;
#endif
}

// 16 bytes global -> shared. On the sm80 path an asynchronous cp.async (zero-filled when !valid, so rows past
// the end of a sequence are zeros, never stale data); elsewhere a plain load and store.
template <KernelPath Path>
__device__ __forceinline__ void copy_16_bytes(void* shared, const void* global, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (Path == KernelPath::TensorCoreSm80) {
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(shared)), "l"(global),
                     "r"(valid ? 16 : 0));
        return;
    }
#endif
    *static_cast<uint4*>(shared) = valid ? __ldg(static_cast<const uint4*>(global)) : make_uint4(0, 0, 0, 0);
}

template <KernelPath Path>
__device__ __forceinline__ void copy_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (Path == KernelPath::TensorCoreSm80) asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most `Pending` committed copy groups are still in flight (no-op for synchronous copies).
template <KernelPath Path, int Pending>
__device__ __forceinline__ void copy_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (Path == KernelPath::TensorCoreSm80) asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
#endif
}

}  // namespace attn::cuda::mma
