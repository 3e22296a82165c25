#include "CMinimaSupport.h"
#include <string.h>

#ifndef MINIMA_BUILD_ISA
#define MINIMA_BUILD_ISA "unknown"
#endif

const char *minima_build_isa(void) { return MINIMA_BUILD_ISA; }

static char missing[256];

const char *minima_missing_cpu_features(void) {
    missing[0] = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char *isa = MINIMA_BUILD_ISA;
    int v3 = strcmp(isa, "x86-64-v3") == 0 || strcmp(isa, "x86-64-v4") == 0;
    int v4 = strcmp(isa, "x86-64-v4") == 0;
#define NEED(feature) if (!__builtin_cpu_supports(feature)) { \
        if (missing[0]) strncat(missing, ",", sizeof(missing) - strlen(missing) - 1); \
        strncat(missing, feature, sizeof(missing) - strlen(missing) - 1); }
    if (v3) { NEED("avx2"); NEED("fma"); NEED("bmi2"); }
    if (v4) { NEED("avx512f"); NEED("avx512bw"); NEED("avx512dq"); NEED("avx512vl"); NEED("avx512cd"); }
#undef NEED
#endif
    return missing;
}

int minima_cpu_supports_build_isa(void) { return minima_missing_cpu_features()[0] == 0; }
