// Host emulation of the CUDA features mycel's kernels use, so the real .cu sources can be
// compiled by a host C++20 compiler and executed on a CPU without a GPU
// (kernels/tests/cuda_emu.rs). Every CUDA thread of a block is a std::thread; __shared__
// becomes a static shared by them; __syncthreads is a block barrier; warp shuffles and the
// int8 mma exchange data through per-warp slots between warp barriers. Float intrinsics map
// to IEEE operations with contraction off (-ffp-contract=off), __fmaf_rn to fmaf.
//
// This checks the kernels' indexing, staging, bounds, ordering and NaN handling against the
// CPU reference. It cannot check what only hardware decides: the mma fragment layout is
// emulated from the PTX ISA's description (the same one the kernel assumes), and timing,
// memory coherence and occupancy are not modelled.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#define MYCEL_EMU 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3e { unsigned int x = 0, y = 0, z = 0; };
inline thread_local dim3e threadIdx, blockIdx;
inline dim3e blockDim, gridDim;

struct uint4 { unsigned int x, y, z, w; };
struct int4 { int x, y, z, w; };
struct float4 { float x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float exp2f(float x) { return std::exp2(x); }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
inline int4 make_int4(int a, int b, int c, int d) { return {a, b, c, d}; }
using std::min;

struct EmuBlock {
    std::barrier<>* block = nullptr;
    std::vector<std::barrier<>*> warp;
    // per-warp exchange slots: 32 lanes x 8 words
    std::vector<std::vector<uint32_t>> slots;
};
inline EmuBlock* g_emu = nullptr;

inline void __syncthreads() { g_emu->block->arrive_and_wait(); }

inline unsigned emu_warp() { return threadIdx.x / 32; }
inline unsigned emu_lane() { return threadIdx.x % 32; }
inline void emu_warp_sync() { g_emu->warp[emu_warp()]->arrive_and_wait(); }

inline float __shfl_xor_sync(unsigned, float v, int off) {
    auto& s = g_emu->slots[emu_warp()];
    uint32_t b;
    std::memcpy(&b, &v, 4);
    s[emu_lane() * 8] = b;
    emu_warp_sync();
    uint32_t o = s[(emu_lane() ^ (unsigned)off) * 8];
    emu_warp_sync();
    float r;
    std::memcpy(&r, &o, 4);
    return r;
}

inline void __syncwarp(unsigned = 0xffffffffu) { emu_warp_sync(); }

inline float __shfl_sync(unsigned, float v, int src) {
    auto& s = g_emu->slots[emu_warp()];
    uint32_t b;
    std::memcpy(&b, &v, 4);
    s[emu_lane() * 8] = b;
    emu_warp_sync();
    uint32_t o = s[((unsigned)src & 31u) * 8];
    emu_warp_sync();
    float r;
    std::memcpy(&r, &o, 4);
    return r;
}

inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fmaf(a, b, c); }
inline float __int2float_rn(int i) { return (float)i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
inline unsigned __vsub4(unsigned a, unsigned b) {
    unsigned r = 0;
    for (int i = 0; i < 4; ++i) {
        unsigned x = ((a >> (8 * i)) & 0xff) - ((b >> (8 * i)) & 0xff);
        r |= (x & 0xff) << (8 * i);
    }
    return r;
}
inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; ++i) {
        c += (int)(int8_t)(uint8_t)((unsigned)a >> (8 * i)) * (int)(int8_t)(uint8_t)((unsigned)b >> (8 * i));
    }
    return c;
}

inline float emu_f16_to_f32(unsigned short h) { _Float16 v; std::memcpy(&v, &h, 2); return (float)v; }
inline unsigned short emu_f32_to_f16(float f) { _Float16 v = (_Float16)f; unsigned short h; std::memcpy(&h, &v, 2); return h; }

// mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 with a zero accumulator, per the PTX ISA
// fragment layout (g = lane / 4, t = lane % 4, K counted in 32-bit words of 4 int8):
//   a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]
//   b0 = B[k-word t][n = g], b1 = B[k-word t+4][n = g]
//   c0 = C[g][2t], c1 = C[g][2t+1], c2 = C[g+8][2t], c3 = C[g+8][2t+1]
inline void emu_mma_s8(int (&c)[4], const int (&a)[4], const int (&b)[2]) {
    auto& s = g_emu->slots[emu_warp()];
    unsigned l = emu_lane();
    for (int i = 0; i < 4; ++i) s[l * 8 + i] = (uint32_t)a[i];
    for (int i = 0; i < 2; ++i) s[l * 8 + 4 + i] = (uint32_t)b[i];
    emu_warp_sync();
    int A[16][8], B[8][8];  // A[row][kword], B[n][kword]
    for (unsigned ln = 0; ln < 32; ++ln) {
        unsigned g = ln / 4, t = ln % 4;
        A[g][t] = (int)s[ln * 8 + 0];
        A[g + 8][t] = (int)s[ln * 8 + 1];
        A[g][t + 4] = (int)s[ln * 8 + 2];
        A[g + 8][t + 4] = (int)s[ln * 8 + 3];
        B[g][t] = (int)s[ln * 8 + 4];
        B[g][t + 4] = (int)s[ln * 8 + 5];
    }
    emu_warp_sync();
    unsigned g = l / 4, t = l % 4;
    auto dot = [&](unsigned r, unsigned n) {
        int acc = 0;
        for (int w = 0; w < 8; ++w) acc = __dp4a(A[r][w], B[n][w], acc);
        return acc;
    };
    c[0] = dot(g, 2 * t);
    c[1] = dot(g, 2 * t + 1);
    c[2] = dot(g + 8, 2 * t);
    c[3] = dot(g + 8, 2 * t + 1);
}

// Run `kernel` over the grid, one std::thread per CUDA thread of a block, blocks in order.
inline void emu_launch(dim3e grid, unsigned threads, const std::function<void()>& kernel) {
    gridDim = grid;
    blockDim = {threads, 1, 1};
    EmuBlock b;
    std::barrier<> block_bar((std::ptrdiff_t)threads);
    b.block = &block_bar;
    unsigned warps = (threads + 31) / 32;
    std::vector<std::unique_ptr<std::barrier<>>> wb;
    for (unsigned w = 0; w < warps; ++w) {
        wb.emplace_back(new std::barrier<>(32));
        b.warp.push_back(wb.back().get());
        b.slots.emplace_back(32 * 8, 0u);
    }
    g_emu = &b;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            threadIdx = {t, 0, 0};
            for (unsigned by = 0; by < grid.y; ++by) {
                for (unsigned bx = 0; bx < grid.x; ++bx) {
                    blockIdx = {bx, by, 0};
                    kernel();
                    block_bar.arrive_and_wait();
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    g_emu = nullptr;
}
