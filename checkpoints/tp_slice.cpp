#include "checkpoints/tp_slice.h"

namespace zen {

SavedSlice TpSlice(const std::string& name, const torch::Tensor& local, int64_t split_dim, const TpGroup& tp) {
  SavedSlice slice{name, local, local.sizes().vec(), -1, 0};
  if (split_dim >= 0 && tp.size > 1) {
    slice.split_dim = split_dim;
    slice.global_shape[split_dim] *= tp.size;
    slice.offset = tp.rank * local.size(split_dim);
  }
  return slice;
}

}  // namespace zen
