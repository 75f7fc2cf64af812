// A group of one rank: every collective is the identity. A single process runs the same code as a
// parallel job, with this in place of every group.
#pragma once

#include "parallel/communicator.h"

namespace zen {

class LocalCommunicator : public Communicator {
 public:
  explicit LocalCommunicator(std::string name = "world") : name_(std::move(name)) {}
  int64_t rank() const override { return 0; }
  int64_t size() const override { return 1; }
  const std::string& name() const override { return name_; }
  void AllReduceSum(torch::Tensor&) override {}
  void AllReduceMax(torch::Tensor&) override {}
  torch::Tensor AllGather(const torch::Tensor& x) override { return x.dim() == 0 ? x.reshape({1}) : x.clone(); }
  torch::Tensor ReduceScatter(const torch::Tensor& x) override { return x.clone(); }
  torch::Tensor AllToAll(const torch::Tensor& x, const std::vector<int64_t>&, const std::vector<int64_t>&) override {
    return x.clone();
  }
  void Broadcast(torch::Tensor&, int64_t) override {}
  void Send(const torch::Tensor&, int64_t) override { TORCH_CHECK(false, "send: a group of one has no peer"); }
  void Recv(torch::Tensor&, int64_t) override { TORCH_CHECK(false, "recv: a group of one has no peer"); }
  void SendRecv(const torch::Tensor&, int64_t, torch::Tensor&, int64_t) override {
    TORCH_CHECK(false, "send_recv: a group of one has no peer");
  }
  void Barrier() override {}
  std::unique_ptr<Communicator> Split(int64_t, int64_t, const std::string& name) override {
    return std::make_unique<LocalCommunicator>(name);
  }

 private:
  std::string name_;
};

}  // namespace zen
