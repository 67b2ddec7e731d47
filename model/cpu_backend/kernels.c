/* Fused element-wise kernels for the CPU dygraph model (model/native.py loads them with ctypes).

Paddle runs each element-wise CPU op on one thread, with one pass over memory per op: in a B0
pass the bias adds, residual adds, batch norms and activations take over half the time. These
kernels do a layer's whole epilogue, act(x * scale + shift + residual), and its backward, in one
pass over every core.

Maps are (N, C, L) float32, contiguous: row r = n * C + c holds L values of channel c. Built with
-fno-math-errno -fno-trapping-math (GCC vectorises the selects and the division only then) and
cloned per instruction set, so one build serves any x86-64 machine. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

/* Activation codes come from the build (native.py's KERNEL_ACTIVATIONS, as -DACT_<NAME>=code),
so that Python and C cannot disagree on them; 0 is the identity. */
#if !defined(ACT_RELU) || !defined(ACT_RELU6) || !defined(ACT_HSWISH) || !defined(ACT_SWISH)
#error "build through model/cpu_backend/native.py, which passes the activation codes"
#endif
#define ACT_IDENTITY 0

/* ------------------------------------------------------------------ threads */
typedef void (*range_fn)(void *args, long begin, long end);
typedef struct { range_fn fn; void *args; long begin, end; } chunk;

static void *run_chunk(void *p) {
    chunk *c = p;
    c->fn(c->args, c->begin, c->end);
    return NULL;
}

/* fn over [0, items) in `threads` contiguous chunks; the caller runs the first. A thread that
cannot be started leaves its chunk to the caller. */
static void parallel_for(range_fn fn, void *args, long items, int threads) {
    enum { MAX_THREADS = 64 };
    chunk chunks[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > items) threads = (int)items;
    if (threads < 1) threads = 1;
    long step = (items + threads - 1) / threads;
    for (int i = 0; i < threads; i++) {
        long begin = i * step, end = begin + step < items ? begin + step : items;
        chunks[i] = (chunk){fn, args, begin, end};
        if (i > 0 && begin < end)
            started[i] = pthread_create(&ids[i], NULL, run_chunk, &chunks[i]) == 0;
    }
    run_chunk(&chunks[0]);
    for (int i = 1; i < threads; i++) {
        if (started[i]) pthread_join(ids[i], NULL);
        else if (chunks[i].begin < chunks[i].end) run_chunk(&chunks[i]);
    }
}

/* Small maps are not worth a thread start (~20 us). */
static int threads_for(long values, int threads) {
    return values < (1L << 16) ? 1 : threads;
}

/* ------------------------------------------------------------------ activations */
/* exp(x) to about 2 ulp (Cephes polynomial), branch-free so that it vectorises. */
static inline __attribute__((always_inline)) float exp_approx(float x) {
    /* one nested select: written as two statements GCC vectorises it ~7x slower */
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float round_shift = 12582912.0f;   /* 1.5 * 2^23: adding it rounds to an integer */
    float shifted = x * 1.44269504088896341f + round_shift;
    float n = shifted - round_shift;
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000 + 127) << 23;   /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline __attribute__((always_inline)) float activate(float x, int act) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_RELU6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case ACT_HSWISH: return x * (x < -3.0f ? 0.0f : (x > 3.0f ? 6.0f : x + 3.0f)) * (1.0f / 6.0f);
    case ACT_SWISH: return x / (1.0f + exp_approx(-x));
    default: return x;
    }
}

/* d act / dx at x, as Paddle's kernels define it at the kinks. */
static inline __attribute__((always_inline)) float activation_slope(float x, int act) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case ACT_RELU6: return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
    case ACT_HSWISH:
        return x < -3.0f ? 0.0f : (x < 3.0f ? (2.0f * x + 3.0f) * (1.0f / 6.0f) : 1.0f);
    case ACT_SWISH: {
        float s = 1.0f / (1.0f + exp_approx(-x));
        return s * (1.0f + x * (1.0f - s));
    }
    default: return 1.0f;
    }
}

/* Runs CALL(ACT) with ACT a compile-time constant: each activation gets a loop of its own,
straight-line code that vectorises. */
#define FOR_EACH_ACTIVATION(act, CALL) \
    switch (act) { \
    case ACT_RELU: CALL(ACT_RELU); break; \
    case ACT_RELU6: CALL(ACT_RELU6); break; \
    case ACT_HSWISH: CALL(ACT_HSWISH); break; \
    case ACT_SWISH: CALL(ACT_SWISH); break; \
    default: CALL(ACT_IDENTITY); \
    }

/* ------------------------------------------------------------------ affine + residual + act */
typedef struct {
    const float *x, *scale, *shift, *residual;
    float *out;
    long channels, length;
    int shift_per_position, act;
} affine_args;

/* A row in two passes over cache-resident data, each a plain loop that vectorises:
v = x * scale + shift + residual, then out = act(v). */
static inline __attribute__((always_inline)) void linear_row_of(
        const float *restrict x, float scale, float shift, const float *restrict shifts,
        const float *restrict residual, float *restrict v, long length, int per_position,
        int has_residual) {
    for (long i = 0; i < length; i++) {
        float y = x[i] * scale + (per_position ? shifts[i] : shift);
        v[i] = has_residual ? y + residual[i] : y;
    }
}

VECTOR_CLONES
static void linear_row(const float *x, float scale, float shift, const float *shifts,
                       const float *residual, float *v, long length) {
    if (shifts && residual) linear_row_of(x, scale, shift, shifts, residual, v, length, 1, 1);
    else if (shifts) linear_row_of(x, scale, shift, shifts, residual, v, length, 1, 0);
    else if (residual) linear_row_of(x, scale, shift, shifts, residual, v, length, 0, 1);
    else linear_row_of(x, scale, shift, shifts, residual, v, length, 0, 0);
}

static inline __attribute__((always_inline)) void activate_in_place(
        float *restrict v, long length, int act) {
    for (long i = 0; i < length; i++) v[i] = activate(v[i], act);
}

/* v = act(v) */
VECTOR_CLONES
static void activate_row(float *v, long length, int act) {
#define ACTIVATE(ACT) activate_in_place(v, length, ACT)
    FOR_EACH_ACTIVATION(act, ACTIVATE)
#undef ACTIVATE
}

static void affine_rows(void *p, long begin, long end) {
    const affine_args *a = p;
    for (long row = begin; row < end; row++) {
        long c = row % a->channels, at = row * a->length;
        float scale = a->scale ? a->scale[c] : 1.0f;
        float shift = a->shift && !a->shift_per_position ? a->shift[c] : 0.0f;
        const float *shifts = a->shift && a->shift_per_position ? a->shift + c * a->length : NULL;
        linear_row(a->x + at, scale, shift, shifts, a->residual ? a->residual + at : NULL,
                   a->out + at, a->length);
        activate_row(a->out + at, a->length, a->act);
    }
}

/* out = act(x * scale[c] + shift + residual), shift being (C,) or, with shift_per_position,
(C, L). scale, shift and residual may be NULL (1, 0, 0). */
void affine_act(const float *x, const float *scale, const float *shift, int shift_per_position,
                const float *residual, float *out, long n, long channels, long length, int act,
                int threads) {
    affine_args a = {x, scale, shift, residual, out, channels, length, shift_per_position, act};
    parallel_for(affine_rows, &a, n * channels, threads_for(n * channels * length, threads));
}

/* ------------------------------------------------------------------ batch-norm statistics */
typedef struct {
    const float *x;
    long n, channels, length;
    double *mean, *variance;
} moments_args;

/* Sums over a row in LANES float partial sums (vectorisable without reassociating flags),
added up in double every block: fast, and accurate enough for N * L of a few million. */
enum { LANES = 16, BLOCK = 1024 };

static double lanes_total(const float *lanes) {
    double total = 0.0;
    for (int j = 0; j < LANES; j++) total += lanes[j];
    return total;
}

VECTOR_CLONES
static void row_moments(const float *restrict x, float shift, long length, double *sum,
                        double *squares) {
    for (long start = 0; start < length; start += BLOCK) {
        long stop = start + BLOCK < length ? start + BLOCK : length, i = start;
        float s[LANES] = {0}, q[LANES] = {0};
        for (; i + LANES <= stop; i += LANES)
            for (int j = 0; j < LANES; j++) {
                float d = x[i + j] - shift;
                s[j] += d;
                q[j] += d * d;
            }
        for (; i < stop; i++) { float d = x[i] - shift; s[0] += d; q[0] += d * d; }
        *sum += lanes_total(s);
        *squares += lanes_total(q);
    }
}

static void moments_channels(void *p, long begin, long end) {
    const moments_args *a = p;
    for (long c = begin; c < end; c++) {
        /* sums of x - x[0]: no cancellation when the mean is large against the spread */
        float shift = a->x[c * a->length];
        double sum = 0.0, squares = 0.0;
        for (long i = 0; i < a->n; i++)
            row_moments(a->x + (i * a->channels + c) * a->length, shift, a->length, &sum,
                        &squares);
        long count = a->n * a->length;
        double mean_shifted = sum / count;
        a->mean[c] = shift + mean_shifted;
        double variance = squares / count - mean_shifted * mean_shifted;
        a->variance[c] = variance > 0.0 ? variance : 0.0;
    }
}

/* Per channel: the mean and the biased variance of x over N and L. */
void channel_moments(const float *x, long n, long channels, long length, double *mean,
                     double *variance, int threads) {
    moments_args a = {x, n, channels, length, mean, variance};
    parallel_for(moments_channels, &a, channels, threads_for(n * channels * length, threads));
}

/* ------------------------------------------------------------------ batch-norm backward */
/* The forward kept only x (the batch norm's input): the value before the activation is
x * scale[c] + shift[c] + residual again, cheaper to recompute than to write and read back. */
typedef struct {
    const float *grad_out, *x, *residual, *scale, *shift, *mean;
    float *grad_pre;
    long n, channels, length;
    int act;
    double *sum_grad, *sum_grad_centered;
} bn_sums_args;

static inline __attribute__((always_inline)) float bn_grad_pre(
        float grad_out, float x, const float *restrict residual, long i, float scale,
        float shift, int act, int has_residual) {
    if (act == ACT_IDENTITY) return grad_out;
    float pre = x * scale + shift + (has_residual ? residual[i] : 0.0f);
    return grad_out * activation_slope(pre, act);
}

static inline __attribute__((always_inline)) void bn_sums_row_of(
        const float *restrict grad_out, const float *restrict x, const float *restrict residual,
        float scale, float shift, float mean, float *restrict grad_pre, long length, int act,
        int has_residual, double *sum_grad, double *sum_centered) {
    for (long start = 0; start < length; start += BLOCK) {
        long stop = start + BLOCK < length ? start + BLOCK : length, i = start;
        float s[LANES] = {0}, q[LANES] = {0};
        for (; i + LANES <= stop; i += LANES)
            for (int j = 0; j < LANES; j++) {
                float g = bn_grad_pre(grad_out[i + j], x[i + j], residual, i + j, scale, shift,
                                      act, has_residual);
                grad_pre[i + j] = g;
                s[j] += g;
                q[j] += g * (x[i + j] - mean);
            }
        for (; i < stop; i++) {
            float g = bn_grad_pre(grad_out[i], x[i], residual, i, scale, shift, act,
                                  has_residual);
            grad_pre[i] = g;
            s[0] += g;
            q[0] += g * (x[i] - mean);
        }
        *sum_grad += lanes_total(s);
        *sum_centered += lanes_total(q);
    }
}

VECTOR_CLONES
static void bn_sums_row(const float *grad_out, const float *x, const float *residual,
                        float scale, float shift, float mean, float *grad_pre, long length,
                        int act, double *sum_grad, double *sum_centered) {
#define ROW(ACT) \
    if (residual) bn_sums_row_of(grad_out, x, residual, scale, shift, mean, grad_pre, length, \
                                 ACT, 1, sum_grad, sum_centered); \
    else bn_sums_row_of(grad_out, x, residual, scale, shift, mean, grad_pre, length, ACT, 0, \
                        sum_grad, sum_centered)
    FOR_EACH_ACTIVATION(act, ROW)
#undef ROW
}

static void bn_sums_channels(void *p, long begin, long end) {
    const bn_sums_args *a = p;
    for (long c = begin; c < end; c++) {
        double sum = 0.0, centered = 0.0;
        for (long i = 0; i < a->n; i++) {
            long at = (i * a->channels + c) * a->length;
            bn_sums_row(a->grad_out + at, a->x + at, a->residual ? a->residual + at : NULL,
                        a->scale[c], a->shift[c], a->mean[c], a->grad_pre + at, a->length,
                        a->act, &sum, &centered);
        }
        a->sum_grad[c] = sum;
        a->sum_grad_centered[c] = centered;
    }
}

/* grad_pre = grad_out * act'(x * scale[c] + shift[c] + residual) (residual may be NULL), and
per channel the sums of grad_pre and of grad_pre * (x - mean[c]) over N and L. */
void batch_norm_backward_sums(const float *grad_out, const float *x, const float *residual,
                              const float *scale, const float *shift, const float *mean,
                              float *grad_pre, long n, long channels, long length, int act,
                              double *sum_grad, double *sum_grad_centered, int threads) {
    bn_sums_args a = {grad_out, x, residual, scale, shift, mean, grad_pre, n, channels, length,
                      act, sum_grad, sum_grad_centered};
    parallel_for(bn_sums_channels, &a, channels, threads_for(n * channels * length, threads));
}

typedef struct {
    const float *grad_pre, *x, *mean, *gain, *offset, *slope;
    float *grad_x;
    long channels, length;
} bn_apply_args;

VECTOR_CLONES
static void bn_apply_row(const float *restrict grad_pre, const float *restrict x, float mean,
                         float gain, float offset, float slope, float *restrict grad_x,
                         long length) {
    for (long i = 0; i < length; i++)
        grad_x[i] = gain * (grad_pre[i] - offset - (x[i] - mean) * slope);
}

static void bn_apply_rows(void *p, long begin, long end) {
    const bn_apply_args *a = p;
    for (long row = begin; row < end; row++) {
        long c = row % a->channels, at = row * a->length;
        bn_apply_row(a->grad_pre + at, a->x + at, a->mean[c], a->gain[c], a->offset[c],
                     a->slope[c], a->grad_x + at, a->length);
    }
}

/* grad_x = gain[c] * (grad_pre - offset[c] - (x - mean[c]) * slope[c]). */
void batch_norm_backward_apply(const float *grad_pre, const float *x, const float *mean,
                               const float *gain, const float *offset, const float *slope,
                               float *grad_x, long n, long channels, long length, int threads) {
    bn_apply_args a = {grad_pre, x, mean, gain, offset, slope, grad_x, channels, length};
    parallel_for(bn_apply_rows, &a, n * channels, threads_for(n * channels * length, threads));
}

/* ------------------------------------------------------------------ depthwise temporal conv */
/* Per channel a k x 1 kernel over frames: y[n, c, t, v] = sum_j w[c, j] x[n, c, t * stride + j
- pad, v], zero outside the frames. Each (n, c) row is T x V values, so a frame shift is a shift
by V in the row and every inner loop runs over V contiguous joints. */
typedef struct {
    const float *x, *w, *grad_y;
    float *y, *grad_x, *grad_w;
    long channels, frames_in, joints, taps, stride, pad, frames_out, n;
} depthwise_args;

VECTOR_CLONES
static void axpy(float a, const float *restrict x, float *restrict y, long count) {
    for (long i = 0; i < count; i++) y[i] += a * x[i];
}

/* the input frame of output frame t and tap j, or -1 outside */
static inline long source_frame(const depthwise_args *a, long t, long j) {
    long s = t * a->stride + j - a->pad;
    return s >= 0 && s < a->frames_in ? s : -1;
}

/* One (n, c) row of the convolution (from x to y) or of its x gradient (from grad_y to
grad_x): the same pairs of frames (t out, s in) and taps, the sum running the other way. */
static void depthwise_row(const depthwise_args *a, long row, int gradient) {
    long v = a->joints;
    const float *w = a->w + (row % a->channels) * a->taps;
    long at_in = row * a->frames_in * v, at_out = row * a->frames_out * v;
    const float *from = gradient ? a->grad_y + at_out : a->x + at_in;
    float *to = gradient ? a->grad_x + at_in : a->y + at_out;
    memset(to, 0, (gradient ? a->frames_in : a->frames_out) * v * sizeof *to);
    for (long t = 0; t < a->frames_out; t++)
        for (long j = 0; j < a->taps; j++) {
            long s = source_frame(a, t, j);
            if (s < 0) continue;
            if (gradient) axpy(w[j], from + t * v, to + s * v, v);
            else axpy(w[j], from + s * v, to + t * v, v);
        }
}

static void depthwise_rows(void *p, long begin, long end) {
    for (long row = begin; row < end; row++) depthwise_row(p, row, 0);
}

void depthwise_temporal(const float *x, const float *w, float *y, long n, long channels,
                        long frames_in, long joints, long taps, long stride, long pad,
                        long frames_out, int threads) {
    depthwise_args a = {x, w, NULL, y, NULL, NULL, channels, frames_in, joints, taps, stride,
                        pad, frames_out, n};
    parallel_for(depthwise_rows, &a, n * channels,
                 threads_for(n * channels * frames_in * joints, threads));
}

static void depthwise_grad_x_rows(void *p, long begin, long end) {
    for (long row = begin; row < end; row++) depthwise_row(p, row, 1);
}

VECTOR_CLONES
static double dot(const float *restrict x, const float *restrict y, long count) {
    float lanes[LANES] = {0};
    long i = 0;
    for (; i + LANES <= count; i += LANES)
        for (int j = 0; j < LANES; j++) lanes[j] += x[i + j] * y[i + j];
    for (; i < count; i++) lanes[0] += x[i] * y[i];
    return lanes_total(lanes);
}

static void depthwise_grad_w_channels(void *p, long begin, long end) {
    const depthwise_args *a = p;
    long v = a->joints;
    for (long c = begin; c < end; c++)
        for (long j = 0; j < a->taps; j++) {
            /* output frames whose tap j falls inside the input: one contiguous run */
            long first = 0, last = a->frames_out - 1;
            while (first <= last && source_frame(a, first, j) < 0) first++;
            while (last >= first && source_frame(a, last, j) < 0) last--;
            double total = 0.0;
            for (long i = 0; i < a->n && first <= last; i++) {
                long row = i * a->channels + c;
                const float *g = a->grad_y + row * a->frames_out * v;
                const float *x = a->x + row * a->frames_in * v;
                if (a->stride == 1)   /* rows of frames side by side: one long dot product */
                    total += dot(g + first * v, x + source_frame(a, first, j) * v,
                                 (last - first + 1) * v);
                else
                    for (long t = first; t <= last; t++)
                        total += dot(g + t * v, x + source_frame(a, t, j) * v, v);
            }
            a->grad_w[c * a->taps + j] = (float)total;
        }
}

/* Gradients of depthwise_temporal: grad_x (N, C, T_in, V) and grad_w (C, taps); either may be
NULL when not needed. */
void depthwise_temporal_backward(const float *grad_y, const float *x, const float *w,
                                 float *grad_x, float *grad_w, long n, long channels,
                                 long frames_in, long joints, long taps, long stride, long pad,
                                 long frames_out, int threads) {
    depthwise_args a = {x, w, grad_y, NULL, grad_x, grad_w, channels, frames_in, joints, taps,
                        stride, pad, frames_out, n};
    int used = threads_for(n * channels * frames_in * joints, threads);
    if (grad_x) parallel_for(depthwise_grad_x_rows, &a, n * channels, used);
    if (grad_w) parallel_for(depthwise_grad_w_channels, &a, channels, used);
}

/* ------------------------------------------------------------------ k x 1 convolution by frames */
/* A (k, 1) convolution (stride 1) is one matrix product over k frame-shifted copies of its
input (model/fused_ops.py): copy j holds x[n, c, t - (j - pad)], zero outside the frames. A
frame is V values, so each copy is one contiguous run between zeros. */
typedef struct {
    const float *x;
    float *copies;
    long channels, taps, frames, joints, pad;
} shifts_args;

static void frame_shift_rows(void *p, long begin, long end) {
    const shifts_args *a = p;
    long map = a->frames * a->joints;
    for (long row = begin; row < end; row++) {   /* row = (n * taps + j) * C + c */
        long c = row % a->channels, j = (row / a->channels) % a->taps;
        long n = row / (a->channels * a->taps);
        long shift = j - a->pad;
        /* frames [first, last) of the copy come from frames [first - shift, last - shift) */
        long first = shift > 0 ? shift : 0, last = a->frames + (shift < 0 ? shift : 0);
        if (first > a->frames) first = a->frames;   /* a shift beyond every frame */
        if (last < first) last = first;
        const float *x = a->x + (n * a->channels + c) * map;
        float *copy = a->copies + row * map;
        memset(copy, 0, first * a->joints * sizeof *copy);
        memcpy(copy + first * a->joints, x + (first - shift) * a->joints,
               (last - first) * a->joints * sizeof *copy);
        memset(copy + last * a->joints, 0, (a->frames - last) * a->joints * sizeof *copy);
    }
}

/* copies (N, taps * C, T, V): the frame-shifted copies of x (N, C, T, V). */
void frame_shifts(const float *x, float *copies, long n, long channels, long taps, long frames,
                  long joints, long pad, int threads) {
    shifts_args a = {x, copies, channels, taps, frames, joints, pad};
    parallel_for(frame_shift_rows, &a, n * taps * channels,
                 threads_for(n * taps * channels * frames * joints, threads));
}

/* ------------------------------------------------------------------ input layout */
/* x (N, I, C, T, V, M) -> (I, N, M, C, T, V): each body's map of each input, contiguous.
Row (i, n, m, c) gathers T * V values, every M-th of the input's (c) slab. */
typedef struct { const float *x; float *out; long n, inputs, channels, points, bodies; } bodies_args;

VECTOR_CLONES
static void gather_every(const float *restrict x, long step, float *restrict out, long count) {
    for (long i = 0; i < count; i++) out[i] = x[i * step];
}

static void bodies_rows(void *p, long begin, long end) {
    const bodies_args *a = p;
    for (long row = begin; row < end; row++) {
        long c = row % a->channels, rest = row / a->channels;
        long m = rest % a->bodies, n = (rest / a->bodies) % a->n;
        long i = rest / (a->bodies * a->n);
        const float *slab = a->x + ((n * a->inputs + i) * a->channels + c) * a->points * a->bodies;
        gather_every(slab + m, a->bodies, a->out + row * a->points, a->points);
    }
}

void split_bodies(const float *x, float *out, long n, long inputs, long channels, long points,
                  long bodies, int threads) {
    bodies_args a = {x, out, n, inputs, channels, points, bodies};
    long rows = inputs * n * bodies * channels;
    parallel_for(bodies_rows, &a, rows, threads_for(rows * points, threads));
}

/* ------------------------------------------------------------------ joint attention epilogue */
/* The attention layer in eval: act(x * att_t[t] * att_v[v] * scale[c] + shift[c] + x), the
attention map never built. Row (n, c) is T x V; per frame one multiplier per joint. */
typedef struct {
    const float *x, *att_t, *att_v, *scale, *shift;
    float *out;
    long channels, frames, joints;
    int act;
} attention_args;

/* out = act(x * out + shift), out holding the multiplier on entry */
static inline __attribute__((always_inline)) void attention_row_of(
        const float *restrict x, float shift, float *restrict out, long length, int act) {
    for (long i = 0; i < length; i++) out[i] = activate(x[i] * out[i] + shift, act);
}

VECTOR_CLONES
static void attention_row(const float *x, float shift, float *out, long length, int act) {
#define ROW(ACT) attention_row_of(x, shift, out, length, ACT)
    FOR_EACH_ACTIVATION(act, ROW)
#undef ROW
}

/* out[t * v + w] = offset + att_t[t] * gain * att_v[w]: a row's attention map, written where
it stays in cache for the pass over x that follows. */
static void attention_map_row(const float *att_t, float gain, float offset, const float *att_v,
                              float *out, long frames, long v) {
    for (long t = 0; t < frames; t++) {
        float frame_gain = att_t[t] * gain;
        for (long w = 0; w < v; w++) out[t * v + w] = offset + frame_gain * att_v[w];
    }
}

/* The row's multiplier of x, 1 + att_t[t] * att_v[v] * scale, is first written into the
output row (cache-resident), so that the pass over x is one long vectorised loop. */
static void attention_rows(void *p, long begin, long end) {
    const attention_args *a = p;
    long v = a->joints, length = a->frames * v;
    for (long row = begin; row < end; row++) {
        long c = row % a->channels;
        float *out = a->out + row * length;
        attention_map_row(a->att_t + row * a->frames, a->scale[c], 1.0f, a->att_v + row * v,
                          out, a->frames, v);
        attention_row(a->x + row * length, a->shift[c], out, length, a->act);
    }
}

/* x (N, C, T, V), att_t (N, C, T), att_v (N, C, V), scale and shift (C,). */
void attention_epilogue(const float *x, const float *att_t, const float *att_v,
                        const float *scale, const float *shift, float *out, long n,
                        long channels, long frames, long joints, int act, int threads) {
    attention_args a = {x, att_t, att_v, scale, shift, out, channels, frames, joints, act};
    parallel_for(attention_rows, &a, n * channels,
                 threads_for(n * channels * frames * joints, threads));
}

/* ------------------------------------------------------------------ joint attention, training */
/* out = x * att_t[t] * att_v[v] per row (n, c) of T x V, and its backward: the attention map
the product stands for is only ever held one row at a time, in cache. */
typedef struct {
    const float *grad, *x, *att_t, *att_v;
    float *out, *grad_x, *grad_att_t, *grad_att_v;
    long frames, joints;
} joint_args;

VECTOR_CLONES
static void multiply_in_place(const float *restrict x, float *restrict out, long length) {
    for (long i = 0; i < length; i++) out[i] *= x[i];
}

static void joint_forward_rows(void *p, long begin, long end) {
    const joint_args *a = p;
    long v = a->joints, length = a->frames * v;
    for (long row = begin; row < end; row++) {
        float *out = a->out + row * length;
        attention_map_row(a->att_t + row * a->frames, 1.0f, 0.0f, a->att_v + row * v, out,
                          a->frames, v);
        multiply_in_place(a->x + row * length, out, length);
    }
}

/* x, out (N, C, T, V); att_t (N, C, T); att_v (N, C, V). */
void joint_attention(const float *x, const float *att_t, const float *att_v, float *out,
                     long rows, long frames, long joints, int threads) {
    joint_args a = {NULL, x, att_t, att_v, out, NULL, NULL, NULL, frames, joints};
    parallel_for(joint_forward_rows, &a, rows, threads_for(rows * frames * joints, threads));
}

/* One frame of the backward: grad_x = grad * att_t * att_v, and with p = grad * x the sums
sum_w p * att_v[w] (returned, the frame's att_t gradient) and per joint p * att_t (added into
grad_att_v). */
VECTOR_CLONES
static float joint_backward_frame(const float *restrict grad, const float *restrict x,
                                  float att_t, const float *restrict att_v,
                                  float *restrict grad_x, float *restrict grad_att_v, long v) {
    float frame_sum = 0.0f;
    for (long w = 0; w < v; w++) {
        float product = grad[w] * x[w];
        grad_x[w] = grad[w] * att_t * att_v[w];
        frame_sum += product * att_v[w];
        grad_att_v[w] += product * att_t;
    }
    return frame_sum;
}

static void joint_backward_rows(void *p, long begin, long end) {
    const joint_args *a = p;
    long v = a->joints, frames = a->frames, length = frames * v;
    for (long row = begin; row < end; row++) {
        const float *att_t = a->att_t + row * frames, *att_v = a->att_v + row * v;
        float *grad_att_v = a->grad_att_v + row * v;
        for (long w = 0; w < v; w++) grad_att_v[w] = 0.0f;
        for (long t = 0; t < frames; t++) {
            long at = row * length + t * v;
            a->grad_att_t[row * frames + t] = joint_backward_frame(
                a->grad + at, a->x + at, att_t[t], att_v, a->grad_x + at, grad_att_v, v);
        }
    }
}

/* The gradients of joint_attention for grad (like x): grad_x like x, grad_att_t like att_t,
grad_att_v like att_v. */
void joint_attention_backward(const float *grad, const float *x, const float *att_t,
                              const float *att_v, float *grad_x, float *grad_att_t,
                              float *grad_att_v, long rows, long frames, long joints,
                              int threads) {
    joint_args a = {grad, x, att_t, att_v, NULL, grad_x, grad_att_t, grad_att_v, frames, joints};
    parallel_for(joint_backward_rows, &a, rows, threads_for(rows * frames * joints, threads));
}
