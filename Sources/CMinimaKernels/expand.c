#include "CMinimaKernels.h"
#include <math.h>

void minima_expand_bytes(const uint8_t *restrict bytes, float *restrict out, size_t count, float scale, float offset) {
    for (size_t i = 0; i < count; i++) out[i] = fmaf((float)bytes[i], scale, offset);
}
