// Host driver for the emulated kernels: reads one request on stdin, runs the real .cu kernels
// (compiled for the host through emu.h) with the same launch shapes as src/cuda/mod.rs, and
// writes the result on stdout. Used by kernels/tests/cuda_emu.rs; keep the launch logic in
// step with CudaDevice::{generate_uniform, quantize_q8_0_into, matmul_into, upload_weights}.
//
// Request (little-endian):
//   u32 op = 0 (matmul): u32 format (0 = Q8_0, 1 = Q4_0), u32 m, u32 n, u32 k,
//            GGML weight blocks (n*k/32 blocks), f32 x[m*k]
//     reply: GGML Q8_0 blocks of the quantized activations (m*k/32 * 34 bytes), f32 out[m*n]
//   u32 op = 1 (philox): u64 offset, u64 len, u32 k0, k1, hi0, hi1
//     reply: f32 out[len]
//   u32 op = 2 (verifiable attention): u32 n_heads, n_kv_heads, q_len, kv_len, head_dim, causal,
//            f32 scale, f32 q[n_heads*q_len*d], k[n_kv*kv_len*d], v[same]
//     reply: f32 out[n_heads*q_len*d]
//   u32 op = 3 (fast attention): as op 2
//   u32 op = 4 (matmul of raw Q8_0 activations, as upload_q8_0 + matmul_into): as op 0 but with
//            GGML Q8_0 activation blocks (m*k/32 blocks) instead of f32 x; same reply
#include "emu.h"
#include <cstdio>
#include <cstdlib>

#include "../kernels/common.cuh"
#include "../kernels/quantize.cu"
#include "../kernels/matvec.cu"
#include "../kernels/matmul_mma.cu"
#include "../kernels/philox.cu"
#include "../kernels/attention.cu"

static const unsigned MATVEC_MAX_M = 8;  // = cuda::MATVEC_MAX_M

template <class T> static T rd() {
    T v;
    if (std::fread(&v, sizeof v, 1, stdin) != 1) { std::fprintf(stderr, "short request\n"); std::exit(2); }
    return v;
}
static void rd_bytes(void* p, size_t n) {
    if (n && std::fread(p, 1, n, stdin) != n) { std::fprintf(stderr, "short request\n"); std::exit(2); }
}
static void wr(const void* p, size_t n) { std::fwrite(p, 1, n, stdout); }

// 16-byte aligned storage
template <class T> struct Buf {
    std::vector<uint4> raw;
    size_t n;
    explicit Buf(size_t count) : raw((count * sizeof(T) + 15) / 16 + 1), n(count) {}
    T* p() { return reinterpret_cast<T*>(raw.data()); }
};

int main() {
    unsigned op = rd<unsigned>();
    if (op == 1) {
        u64 offset = rd<u64>(), len = rd<u64>();
        u32 k0 = rd<u32>(), k1 = rd<u32>(), hi0 = rd<u32>(), hi1 = rd<u32>();
        Buf<float> out(len);
        u64 end = offset + len;
        u64 blocks = (end - 1) / 4 - offset / 4 + 1;
        emu_launch({(unsigned)((blocks + 255) / 256), 1, 1}, 256,
                   [&] { mycel_philox_f32(out.p(), offset, len, k0, k1, hi0, hi1); });
        wr(out.p(), len * 4);
        return 0;
    }
    if (op == 2 || op == 3) {
        const bool fast = op == 3;
        u32 nh = rd<u32>(), nkv = rd<u32>(), ql = rd<u32>(), kl = rd<u32>(), d = rd<u32>(),
            causal = rd<u32>();
        float scale = rd<float>();
        size_t qn = (size_t)nh * ql * d, kn = (size_t)nkv * kl * d;
        Buf<float> q(qn), k(kn), v(kn), out(qn);
        rd_bytes(q.p(), qn * 4);
        rd_bytes(k.p(), kn * 4);
        rd_bytes(v.p(), kn * 4);
        u64 rows = (u64)nh * ql;
        if (fast && ql == 1 && kl >= 2 * FD_CHUNK) {  // = CudaDevice::attention_into
            u32 splits = (kl + FD_CHUNK - 1) / FD_CHUNK;
            Buf<float> partial((size_t)nh * splits * (d + 2));
            emu_launch({splits, nh, 1}, FD_THREADS, [&] {
                mycel_attention_decode_split(q.p(), k.p(), v.p(), partial.p(), nh / nkv, kl, d,
                                             splits, scale);
            });
            emu_launch({nh, 1, 1}, d, [&] {
                mycel_attention_decode_merge(partial.p(), out.p(), d, splits);
            });
        } else if (fast) {
            u32 per_kv = (nh / nkv) * ql;
            emu_launch({(per_kv + 31) / 32, nkv, 1}, 128, [&] {
                mycel_attention_fast(q.p(), k.p(), v.p(), out.p(), nh / nkv, ql, kl, d, causal,
                                     scale);
            });
        } else {
            emu_launch({(unsigned)((rows + 3) / 4), 1, 1}, 128, [&] {
                mycel_attention_verifiable(q.p(), k.p(), v.p(), out.p(), nh, nh / nkv, ql, kl,
                                           d, causal, scale);
            });
        }
        wr(out.p(), qn * 4);
        return 0;
    }
    const bool raw_acts = op == 4;
    unsigned fmt = rd<unsigned>(), m = rd<unsigned>(), n = rd<unsigned>(), k = rd<unsigned>();
    unsigned nb = k / 32;
    size_t bb = fmt == 0 ? 34 : 18;
    std::vector<uint8_t> ggml((size_t)n * nb * bb);
    rd_bytes(ggml.data(), ggml.size());
    Buf<float> x(raw_acts ? 1 : (size_t)m * k);
    std::vector<uint8_t> xraw(raw_acts ? (size_t)m * nb * 34 : 0);
    if (raw_acts) rd_bytes(xraw.data(), xraw.size());
    else rd_bytes(x.p(), (size_t)m * k * 4);

    // upload_weights: split GGML blocks into values and binary16 scales
    size_t qbytes = fmt == 0 ? 32 : 16;
    Buf<u8> wq((size_t)n * nb * qbytes);
    Buf<u16> wd((size_t)n * nb);
    for (size_t b = 0; b < (size_t)n * nb; ++b) {
        const uint8_t* blk = &ggml[b * bb];
        wd.p()[b] = (u16)(blk[0] | (blk[1] << 8));
        std::memcpy(wq.p() + b * qbytes, blk + 2, qbytes);
    }
    // quantize_q8_0_into
    Buf<i8> xq((size_t)m * k);
    Buf<u16> xd((size_t)m * nb);
    u32 nblocks = m * nb;
    if (raw_acts) {
        // upload_q8_0: split GGML blocks into values and binary16 scales
        for (size_t b = 0; b < (size_t)nblocks; ++b) {
            const uint8_t* blk = &xraw[b * 34];
            xd.p()[b] = (u16)(blk[0] | (blk[1] << 8));
            std::memcpy(xq.p() + b * 32, blk + 2, 32);
        }
    } else {
        emu_launch({(nblocks + 7) / 8, 1, 1}, 256,
                   [&] { mycel_quantize_q8_0(x.p(), xq.p(), xd.p(), nblocks); });
    }
    // matmul_into
    Buf<float> out((size_t)m * n);
    for (size_t i = 0; i < (size_t)m * n; ++i) out.p()[i] = -12345.0f;  // poison
    if (m <= MATVEC_MAX_M) {
        emu_launch({(n + 31) / 32, m, 1}, 256, [&] {
            if (fmt == 0) mycel_matvec_q8_0(wq.p(), wd.p(), xq.p(), xd.p(), out.p(), n, k);
            else mycel_matvec_q4_0(wq.p(), wd.p(), xq.p(), xd.p(), out.p(), n, k);
        });
    } else {
        emu_launch({(n + 63) / 64, (m + 63) / 64, 1}, 128, [&] {
            if (fmt == 0) mycel_matmul_q8_0(wq.p(), wd.p(), xq.p(), xd.p(), out.p(), m, n, k);
            else mycel_matmul_q4_0(wq.p(), wd.p(), xq.p(), xd.p(), out.p(), m, n, k);
        });
    }
    for (size_t b = 0; b < (size_t)m * nb; ++b) {
        wr(&xd.p()[b], 2);
        wr(xq.p() + b * 32, 32);
    }
    wr(out.p(), (size_t)m * n * 4);
    return 0;
}
