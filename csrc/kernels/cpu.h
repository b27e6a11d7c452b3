/* cpu.h - CPU feature detection and selection of the per-ISA kernel table. */
#ifndef AG_CPU_H
#define AG_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { AG_ISA_GENERIC = 0, AG_ISA_AVX2 = 1, AG_ISA_AVX512 = 2 } ag_isa;

/* best ISA this CPU + OS support (cpuid + xgetbv); GENERIC on non-x86 */
int ag_isa_best(void);
/* ISA currently used by the kernel table */
int ag_isa_active(void);
/* "generic", "avx2", "avx512" ("unknown" otherwise) */
const char *ag_isa_name(int isa);
/* Idempotent.  Reads AUTOGRAD_C_ISA=generic|avx2|avx512, which may only force
   a lower or equal ISA; an unknown or unsupported value falls back to the best
   ISA and leaves a message for ag_isa_warning().  Returns 0. */
int ag_kernels_init(void);
/* message explaining why AUTOGRAD_C_ISA was ignored, or NULL */
const char *ag_isa_warning(void);
/* switch the table to isa if supported (isa <= best): 0, else -1 */
int ag_set_isa(int isa);

#ifdef __cplusplus
}
#endif

#endif /* AG_CPU_H */
