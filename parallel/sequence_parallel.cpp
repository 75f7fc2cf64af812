#include "parallel/sequence_parallel.h"

#include "parallel/param_info.h"  // defines: MarkTokenShared

namespace zen {

int64_t LocalSequenceLength(int64_t t, const TpGroup& tp) {
  return tp.sequence_parallel ? t / tp.size : t;
}

void MarkSequenceParallelGradients(torch::nn::Module& model, const TpGroup& tp) {
  if (tp.sequence_parallel && tp.size > 1) MarkTokenShared(model);
}

}  // namespace zen
