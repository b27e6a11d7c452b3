/* cpu.c - ISA detection (cpuid + xgetbv) and the kernel table switch. */
#include "cpu.h"
#include "gemm_internal.h"
#include "gemm.h"

#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#if defined(AG_X86_64)
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#endif

ag_kernel_table ag_ktab;
int ag_kernels_ready = 0;

static int g_best = -1;
static const char *g_warning = NULL;
static char g_warn_buf[160];

#if defined(AG_X86_64)
static void cpuid_ex(unsigned leaf, unsigned sub, unsigned r[4])
{
#if defined(_MSC_VER)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    r[0] = (unsigned)v[0]; r[1] = (unsigned)v[1];
    r[2] = (unsigned)v[2]; r[3] = (unsigned)v[3];
#else
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (leaf > __get_cpuid_max(0, NULL)) {
        r[0] = r[1] = r[2] = r[3] = 0;
        return;
    }
    __cpuid_count(leaf, sub, a, b, c, d);
    r[0] = a; r[1] = b; r[2] = c; r[3] = d;
#endif
}

/* XCR0: which register state the OS saves on context switch */
static uint64_t read_xcr0(void)
{
#if defined(_MSC_VER)
    return (uint64_t)_xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

static int detect_best(void)
{
    unsigned r1[4], r7[4];
    uint64_t xcr0;
    int avx2;
    cpuid_ex(1, 0, r1);
    /* ECX bit 27 OSXSAVE, bit 28 AVX, bit 12 FMA */
    if (!((r1[2] >> 27) & 1) || !((r1[2] >> 28) & 1) || !((r1[2] >> 12) & 1))
        return AG_ISA_GENERIC;
    xcr0 = read_xcr0();
    /* bits 1,2: SSE and AVX (ymm upper halves) state enabled */
    if ((xcr0 & 0x6) != 0x6)
        return AG_ISA_GENERIC;
    cpuid_ex(7, 0, r7);
    avx2 = (r7[1] >> 5) & 1;                       /* EBX bit 5 */
    if (!avx2)
        return AG_ISA_GENERIC;
    /* EBX bits 16 F, 17 DQ, 30 BW, 31 VL; XCR0 bits 5-7 opmask/zmm state */
    if (((r7[1] >> 16) & 1) && ((r7[1] >> 17) & 1) && ((r7[1] >> 30) & 1) &&
        ((r7[1] >> 31) & 1) && (xcr0 & 0xE6) == 0xE6)
        return AG_ISA_AVX512;
    return AG_ISA_AVX2;
}
#else
static int detect_best(void) { return AG_ISA_GENERIC; }
#endif

int ag_isa_best(void)
{
    if (g_best < 0)
        g_best = detect_best();
    return g_best;
}

int ag_isa_active(void)
{
    if (!ag_kernels_ready)
        ag_kernels_init();
    return ag_ktab.isa;
}

const char *ag_isa_name(int isa)
{
    switch (isa) {
    case AG_ISA_GENERIC: return "generic";
    case AG_ISA_AVX2: return "avx2";
    case AG_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

const char *ag_isa_warning(void) { return g_warning; }

static void fill_table(int isa)
{
    ag_kernel_table t;
    memset(&t, 0, sizeof(t));
#if defined(AG_X86_64)
    if (isa == AG_ISA_AVX512)
        ag_fill_table_avx512(&t);
    else if (isa == AG_ISA_AVX2)
        ag_fill_table_avx2(&t);
    else
#endif
        ag_fill_table_generic(&t);
    t.isa = isa;
    ag_ktab = t;
}

int ag_set_isa(int isa)
{
    if (isa < AG_ISA_GENERIC || isa > ag_isa_best())
        return -1;
    fill_table(isa);
    ag_kernels_ready = 1;
    (void)ag_get_num_threads(); /* fix the default thread count now */
    return 0;
}

static int parse_isa(const char *s)
{
    char buf[16];
    size_t i;
    for (i = 0; s[i] && i + 1 < sizeof(buf); i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = 0;
    if (s[i])
        return -1;
    if (!strcmp(buf, "generic")) return AG_ISA_GENERIC;
    if (!strcmp(buf, "avx2")) return AG_ISA_AVX2;
    if (!strcmp(buf, "avx512")) return AG_ISA_AVX512;
    return -1;
}

int ag_kernels_init(void)
{
    int best, isa;
    const char *env;
    if (ag_kernels_ready)
        return 0;
    best = ag_isa_best();
    isa = best;
    env = getenv("AUTOGRAD_C_ISA");
    if (env && env[0]) {
        int want = parse_isa(env);
        if (want < 0) {
            g_warn_buf[0] = 0;
            strcat(g_warn_buf, "AUTOGRAD_C_ISA: unknown value; using ");
            strcat(g_warn_buf, ag_isa_name(best));
            g_warning = g_warn_buf;
        } else if (want > best) {
            g_warn_buf[0] = 0;
            strcat(g_warn_buf, "AUTOGRAD_C_ISA=");
            strcat(g_warn_buf, ag_isa_name(want));
            strcat(g_warn_buf, " is not supported by this CPU/OS; using ");
            strcat(g_warn_buf, ag_isa_name(best));
            g_warning = g_warn_buf;
        } else {
            isa = want;
        }
    }
    fill_table(isa);
    ag_kernels_ready = 1;
    (void)ag_get_num_threads(); /* fix the default thread count now */
    return 0;
}
