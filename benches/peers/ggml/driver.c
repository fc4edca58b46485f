// The ggml peer of `cargo bench -p mycel-benches --bench ggml`: a long-lived child process
// that times ggml's CPU backend on the shapes the Rust bench asks for, one request per line on
// stdin, one answer line on stdout. Built by build.sh against ggml's own sources.
//
// Requests (all numbers decimal):
//   info
//     -> "info <text>": ggml's version and the CPU features its build uses
//   matmul <q8_0|q4_0> <n> <k> <m> <threads> <min_bytes> <calls>
//     -> "ok <buffer> <seconds per call>..." : y = W x through a ggml graph (ggml_mul_mat,
//        computed by ggml_backend_graph_compute), W of n rows of k weights, x of m rows of f32.
//        The activations are quantized to Q8_0 inside every call, as ggml always does. Distinct
//        copies of W totalling at least min_bytes are cycled through (cold weights for decode).
//        Weights go into the buffer type llama.cpp would pick (CPU_REPACK where it supports the
//        op, i.e. the interleaved Q4_0 layout on AVX2 machines), named in the answer.
//   attn <heads> <kv_heads> <q_len> <kv_len> <head_dim> <causal 0|1> <threads> <calls>
//     -> "ok <seconds per call>...": ggml_flash_attn_ext with Q in f32 and K, V in f16 (llama.cpp's
//        default KV cache type), a causal f16 mask aligned to the end of the KV cache.
//   quit
// A setup is kept between requests with the same parameters, so a bench can interleave rounds.
// Errors answer "err <reason>".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// xorshift64*: deterministic inputs in [-1, 1).
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    uint64_t r = rng * 2685821657736338717ull;
    return (float) ((double) (r >> 11) / (double) (1ull << 53) * 2.0 - 1.0);
}

static ggml_backend_t backend;

// ---- matmul ----
struct mm {
    char type[8];
    long n, k, m, threads, min_bytes;
    int copies;
    struct ggml_context *ctx_w, *ctx_a, *ctx_g;
    ggml_backend_buffer_t buf_w, buf_a;
    struct ggml_cgraph **graphs;
    const char *buft_name;
    int next;
} mm;

static void mm_free(void) {
    if (mm.buf_w) ggml_backend_buffer_free(mm.buf_w);
    if (mm.buf_a) ggml_backend_buffer_free(mm.buf_a);
    if (mm.ctx_w) ggml_free(mm.ctx_w);
    if (mm.ctx_a) ggml_free(mm.ctx_a);
    if (mm.ctx_g) ggml_free(mm.ctx_g);
    free(mm.graphs);
    memset(&mm, 0, sizeof mm);
}

// The weight buffer type llama.cpp's loader picks: the first of the CPU device's extra buffer
// types that supports this mul_mat with the weight in it, else the plain CPU buffer.
static ggml_backend_buffer_type_t pick_weight_buft(struct ggml_tensor *w, struct ggml_tensor *op) {
    ggml_backend_dev_t dev = ggml_backend_get_device(backend);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_dev_get_extra_bufts_t get_extra = (ggml_backend_dev_get_extra_bufts_t)
        ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    if (get_extra) {
        for (ggml_backend_buffer_type_t *b = get_extra(dev); b && *b; b++) {
            ggml_backend_buffer_t probe = ggml_backend_buft_alloc_buffer(*b, 0);
            if (!probe) continue;
            w->buffer = probe;
            bool ok = ggml_backend_dev_supports_op(dev, op);
            w->buffer = NULL;
            ggml_backend_buffer_free(probe);
            if (ok) return *b;
        }
    }
    return ggml_backend_get_default_buffer_type(backend);
}

static const char *mm_setup(const char *type, long n, long k, long m, long threads, long min_bytes) {
    if (mm.graphs && !strcmp(mm.type, type) && mm.n == n && mm.k == k && mm.m == m &&
        mm.threads == threads && mm.min_bytes == min_bytes) {
        return NULL;
    }
    mm_free();
    enum ggml_type t;
    if (!strcmp(type, "q8_0")) t = GGML_TYPE_Q8_0;
    else if (!strcmp(type, "q4_0")) t = GGML_TYPE_Q4_0;
    else return "unknown weight type";
    if (n <= 0 || k <= 0 || m <= 0 || k % 32) return "bad shape";
    size_t wbytes = ggml_row_size(t, k) * (size_t) n;
    int copies = min_bytes > 0 ? (int) ((size_t) min_bytes / wbytes) + 1 : 1;
    snprintf(mm.type, sizeof mm.type, "%s", type);
    mm.n = n, mm.k = k, mm.m = m, mm.threads = threads, mm.min_bytes = min_bytes;
    mm.copies = copies;

    struct ggml_init_params pw = {ggml_tensor_overhead() * (size_t) (copies + 1), NULL, true};
    struct ggml_init_params pa = {ggml_tensor_overhead() * (size_t) (copies + 2), NULL, true};
    mm.ctx_w = ggml_init(pw);
    mm.ctx_a = ggml_init(pa);
    struct ggml_tensor *x = ggml_new_tensor_2d(mm.ctx_a, GGML_TYPE_F32, k, m);
    struct ggml_tensor **ws = calloc((size_t) copies, sizeof *ws);
    struct ggml_tensor **ys = calloc((size_t) copies, sizeof *ys);
    for (int i = 0; i < copies; i++) {
        ws[i] = ggml_new_tensor_2d(mm.ctx_w, t, k, n);
        ys[i] = ggml_mul_mat(mm.ctx_a, ws[i], x);
    }
    ggml_backend_buffer_type_t buft = pick_weight_buft(ws[0], ys[0]);
    mm.buft_name = ggml_backend_buft_name(buft);
    mm.buf_w = ggml_backend_alloc_ctx_tensors_from_buft(mm.ctx_w, buft);
    mm.buf_a = ggml_backend_alloc_ctx_tensors(mm.ctx_a, backend);
    if (!mm.buf_w || !mm.buf_a) return "allocation failed";
    ggml_backend_buffer_set_usage(mm.buf_w, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);

    float *f = malloc(sizeof(float) * (size_t) (n * k > m * k ? n * k : m * k));
    void *q = malloc(wbytes);
    for (long i = 0; i < n * k; i++) f[i] = uniform();
    ggml_quantize_chunk(t, f, q, 0, n, k, NULL);
    for (int i = 0; i < copies; i++) ggml_backend_tensor_set(ws[i], q, 0, wbytes);
    for (long i = 0; i < m * k; i++) f[i] = uniform();
    ggml_backend_tensor_set(x, f, 0, sizeof(float) * (size_t) (m * k));
    free(f);
    free(q);

    struct ggml_init_params pg = {(ggml_graph_overhead() + 1024) * (size_t) copies, NULL, true};
    mm.ctx_g = ggml_init(pg);
    mm.graphs = calloc((size_t) copies, sizeof *mm.graphs);
    for (int i = 0; i < copies; i++) {
        mm.graphs[i] = ggml_new_graph(mm.ctx_g);
        ggml_build_forward_expand(mm.graphs[i], ys[i]);
    }
    free(ws);
    free(ys);
    return NULL;
}

// ---- attention ----
struct at {
    long h, hkv, q, kv, d, causal, threads;
    struct ggml_context *ctx, *ctx_g;
    ggml_backend_buffer_t buf;
    struct ggml_cgraph *graph;
} at;

static void at_free(void) {
    if (at.buf) ggml_backend_buffer_free(at.buf);
    if (at.ctx) ggml_free(at.ctx);
    if (at.ctx_g) ggml_free(at.ctx_g);
    memset(&at, 0, sizeof at);
}

static const char *at_setup(long h, long hkv, long ql, long kvl, long d, long causal, long threads) {
    if (at.graph && at.h == h && at.hkv == hkv && at.q == ql && at.kv == kvl && at.d == d &&
        at.causal == causal && at.threads == threads) {
        return NULL;
    }
    at_free();
    if (h <= 0 || hkv <= 0 || h % hkv || ql <= 0 || kvl < ql || d <= 0) return "bad shape";
    at.h = h, at.hkv = hkv, at.q = ql, at.kv = kvl, at.d = d, at.causal = causal;
    at.threads = threads;
    struct ggml_init_params p = {ggml_tensor_overhead() * 8, NULL, true};
    at.ctx = ggml_init(p);
    struct ggml_tensor *q = ggml_new_tensor_3d(at.ctx, GGML_TYPE_F32, d, ql, h);
    struct ggml_tensor *k = ggml_new_tensor_3d(at.ctx, GGML_TYPE_F16, d, kvl, hkv);
    struct ggml_tensor *v = ggml_new_tensor_3d(at.ctx, GGML_TYPE_F16, d, kvl, hkv);
    struct ggml_tensor *mask = causal ? ggml_new_tensor_2d(at.ctx, GGML_TYPE_F16, kvl, ql) : NULL;
    struct ggml_tensor *o =
        ggml_flash_attn_ext(at.ctx, q, k, v, mask, 1.0f / sqrtf((float) d), 0.0f, 0.0f);
    at.buf = ggml_backend_alloc_ctx_tensors(at.ctx, backend);
    if (!at.buf) return "allocation failed";
    size_t nq = (size_t) (d * ql * h), nkv = (size_t) (d * kvl * hkv);
    float *f = malloc(sizeof(float) * (nq > nkv ? nq : nkv));
    ggml_fp16_t *hbuf = malloc(sizeof(ggml_fp16_t) * (nkv > (size_t) (kvl * ql) ? nkv : (size_t) (kvl * ql)));
    for (size_t i = 0; i < nq; i++) f[i] = uniform();
    ggml_backend_tensor_set(q, f, 0, sizeof(float) * nq);
    for (int which = 0; which < 2; which++) {
        for (size_t i = 0; i < nkv; i++) f[i] = uniform();
        ggml_fp32_to_fp16_row(f, hbuf, (int64_t) nkv);
        ggml_backend_tensor_set(which ? v : k, hbuf, 0, sizeof(ggml_fp16_t) * nkv);
    }
    if (mask) {
        // Query i sits at position kvl - ql + i and sees keys 0..=that position.
        for (long i = 0; i < ql; i++)
            for (long j = 0; j < kvl; j++)
                hbuf[i * kvl + j] = ggml_fp32_to_fp16(j <= kvl - ql + i ? 0.0f : -INFINITY);
        ggml_backend_tensor_set(mask, hbuf, 0, sizeof(ggml_fp16_t) * (size_t) (kvl * ql));
    }
    free(f);
    free(hbuf);
    struct ggml_init_params pg = {ggml_graph_overhead() + 1024, NULL, true};
    at.ctx_g = ggml_init(pg);
    at.graph = ggml_new_graph(at.ctx_g);
    ggml_build_forward_expand(at.graph, o);
    return NULL;
}

static void answer_times(const char *prefix, struct ggml_cgraph **graphs, int ngraphs, int *next, long calls) {
    printf("ok%s", prefix);
    for (long c = 0; c < calls; c++) {
        struct ggml_cgraph *g = graphs[*next % ngraphs];
        *next = (*next + 1) % ngraphs;
        double t = now();
        enum ggml_status s = ggml_backend_graph_compute(backend, g);
        double dt = now() - t;
        if (s != GGML_STATUS_SUCCESS) {
            printf(" failed\n");
            fflush(stdout);
            return;
        }
        printf(" %.9f", dt);
    }
    printf("\n");
    fflush(stdout);
}

// ggml logs every repacked tensor at info level; keep warnings and errors only.
static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(void) {
    ggml_log_set(quiet_log, NULL);
    ggml_cpu_init();
    backend = ggml_backend_cpu_init();
    if (!backend) {
        printf("err no CPU backend\n");
        return 1;
    }
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16] = {0}, type[16] = {0};
        if (sscanf(line, "%15s", cmd) != 1) continue;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "info")) {
            printf("info ggml %s; avx2 %d avx512 %d avx512_vnni %d avx_vnni %d amx_int8 %d "
                   "f16c %d fma %d llamafile %d\n",
                   ggml_version(), ggml_cpu_has_avx2(), ggml_cpu_has_avx512(),
                   ggml_cpu_has_avx512_vnni(), ggml_cpu_has_avx_vnni(), ggml_cpu_has_amx_int8(),
                   ggml_cpu_has_f16c(), ggml_cpu_has_fma(), ggml_cpu_has_llamafile());
        } else if (!strcmp(cmd, "matmul")) {
            long n, k, m, threads, min_bytes, calls;
            if (sscanf(line, "%*s %15s %ld %ld %ld %ld %ld %ld", type, &n, &k, &m, &threads,
                       &min_bytes, &calls) != 7) {
                printf("err usage: matmul TYPE N K M THREADS MIN_BYTES CALLS\n");
            } else {
                ggml_backend_cpu_set_n_threads(backend, (int) threads);
                const char *e = mm_setup(type, n, k, m, threads, min_bytes);
                if (e) {
                    printf("err %s\n", e);
                    mm_free();
                } else {
                    char prefix[64];
                    snprintf(prefix, sizeof prefix, " %s", mm.buft_name);
                    answer_times(prefix, mm.graphs, mm.copies, &mm.next, calls);
                    continue;
                }
            }
        } else if (!strcmp(cmd, "attn")) {
            long h, hkv, ql, kvl, d, causal, threads, calls;
            if (sscanf(line, "%*s %ld %ld %ld %ld %ld %ld %ld %ld", &h, &hkv, &ql, &kvl, &d,
                       &causal, &threads, &calls) != 8) {
                printf("err usage: attn H HKV Q KV D CAUSAL THREADS CALLS\n");
            } else {
                ggml_backend_cpu_set_n_threads(backend, (int) threads);
                const char *e = at_setup(h, hkv, ql, kvl, d, causal, threads);
                if (e) {
                    printf("err %s\n", e);
                    at_free();
                } else {
                    int next = 0;
                    answer_times("", &at.graph, 1, &next, calls);
                    continue;
                }
            }
        } else {
            printf("err unknown request\n");
        }
        fflush(stdout);
    }
    mm_free();
    at_free();
    ggml_backend_free(backend);
    return 0;
}
