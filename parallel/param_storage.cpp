#include "parallel/param_storage.h"


namespace zen {

torch::ScalarType ParamStorageDtype(const std::string& param_dtype) {
  return param_dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
}

torch::ScalarType StorageDtypeOf(const ParamInfo& info, bool trainable, torch::ScalarType storage) {
  return trainable && info.storage_dtype ? *info.storage_dtype : storage;
}

void ApplyParamStorage(torch::nn::Module& model, torch::ScalarType storage, bool frozen_too) {
  const auto infos = ParamInfos(model);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    torch::Tensor param = p.value();
    const bool trainable = param.requires_grad() && !frozen_too;
    const torch::ScalarType dtype = StorageDtypeOf(infos.at(p.key()), trainable, storage);
    // set_data swaps the storage under the same tensor, as Module::to does: the old fp32 storage is freed.
    if (param.scalar_type() != dtype) param.set_data(param.to(dtype));
  }
}

}  // namespace zen
