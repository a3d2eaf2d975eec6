// The matmul* entry points: decode-sized batches (rows <= kGemvMaxRows) are memory-bound and go to the GEMV
// kernels, which stream each weight once for all rows; larger batches go to the tensor-core GEMMs.
#include "kernels.h"

namespace qb {

void matmulBf16(const float* x, Bf16Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= kGemvMaxRows) {
    gemvBf16(x, w, y, rows, stream);
  } else {
    gemmBf16(x, w, y, rows, stream);
  }
}

void matmulFp8W8a16(const float* x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= kGemvMaxRows) {
    gemvFp8W8a16(x, w, y, rows, stream);
  } else {
    gemmFp8W8a16(x, w, y, rows, stream);
  }
}

void matmulFp8W8a8(Fp8Activations x, Fp8Weight w, float* y, int rows, cudaStream_t stream) {
  if (rows <= kGemvMaxRows) {
    gemvFp8W8a8(x, w, y, rows, stream);
  } else {
    gemmFp8W8a8(x, w, y, rows, stream);
  }
}

}  // namespace qb
